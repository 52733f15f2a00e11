"""cond-wgan-gp: WGAN-GP whose generator and critic both see the mode label through a learned
n_classes x n_classes embedding concatenated to their input (the tutorial's conditional WGAN-GP).
Real batches carry their true labels; fake labels are uniform over the modes."""
from ganbench.losses import gradient_penalty, wgan_d_loss, wgan_g_loss
from ganbench.variants.wgan_gp import WGANGP


class CondWGANGP(WGANGP):
    name = "cond-wgan-gp"
    conditional = True

    def d_loss(self, D, real, fake, real_labels, fake_labels, gens):
        # The penalty interpolates between a real and a fake sample; like the tutorial, the critic
        # is asked about the interpolate under the real sample's label.
        penalty = gradient_penalty(lambda x: D(x, real_labels), real, fake, gens)
        return wgan_d_loss(D(real, real_labels), D(fake, fake_labels)) + self.gp_lambda * penalty

    def g_loss(self, D, fake, fake_labels):
        return wgan_g_loss(D(fake, fake_labels))
