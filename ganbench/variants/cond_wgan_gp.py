"""cond-wgan-gp: WGAN-GP whose generator and critic both see the mode label through a learned
n_classes x n_classes embedding concatenated to their input (the tutorial's conditional WGAN-GP).
Real batches carry their true labels, and fakes are generated for the real batch's labels, as in
the tutorial: the gradient penalty then interpolates a real sample and a fake of the same class and
asks the critic about it under that class. (With uniform fake labels it interpolates across classes
and the critic's loss runs away: tests/test_training.py.)"""
from ganbench.variants.wgan_gp import WGANGP


class CondWGANGP(WGANGP):
    name = "cond-wgan-gp"
    rank, default_grid = 2, True
    conditional = True
    fake_labels = "real"
    critic_step_cost = 1.25  # ~6.6 vanilla iterations: the label embedding, and ensembles of one mode count

    def d_loss(self, D, real, fake, real_labels, fake_labels, gens):
        from ganbench.losses import gradient_penalty, wgan_d_loss  # torch: see ganbench.variants.base

        # fake_labels is real_labels (the training loop's "real" scheme): real, fake and interpolate
        # are all judged under the same, real label.
        penalty = gradient_penalty(lambda x: D(x, real_labels), real, fake, gens)
        return wgan_d_loss(D(real, real_labels), D(fake, fake_labels)) + self.gp_lambda * penalty

    def g_loss(self, D, fake, fake_labels):
        from ganbench.losses import wgan_g_loss

        return wgan_g_loss(D(fake, fake_labels))
