"""vanilla: the non-saturating GAN of Goodfellow et al. (2014), BCE on logits, Adam 2e-4 (0.5, 0.999)."""
from ganbench.variants.base import Variant


class Vanilla(Variant):
    name = "vanilla"
    rank, default_grid = 0, True

    def d_loss(self, D, real, fake, real_labels, fake_labels, gens):
        from ganbench.losses import ns_d_loss  # torch: see ganbench.variants.base

        return ns_d_loss(D(real), D(fake))

    def g_loss(self, D, fake, fake_labels):
        from ganbench.losses import ns_g_loss

        return ns_g_loss(D(fake))
