"""minibatch: the vanilla GAN whose discriminator has a minibatch-discrimination layer before its
output (Salimans et al. 2016, section 3.2), so it can tell a batch of near-identical samples apart."""
from ganbench.variants.base import HParam
from ganbench.variants.vanilla import Vanilla


class Minibatch(Vanilla):
    name = "minibatch"
    rank, default_grid = 3, True
    n_kernels, kernel_dim = 8, 4
    # beyond these the layer's tensor (batch x n_kernels x kernel_dim) asks for hundreds of GB; Salimans
    # et al.'s kernels: 100 x 5
    hyperparameters = {"n_kernels": HParam("int", maximum=4096), "kernel_dim": HParam("int", maximum=1024)}
    # the layer's pairwise L1 distances make an iteration ~2.3 vanilla ones (docs/perf_notes.md)
    critic_step_cost, generator_step_cost = 1.45, 0.85

    def build(self, gens, dims):
        from ganbench.nets import MinibatchDiscrimination  # torch: see ganbench.variants.base

        # The discriminator is built first: the order member weights are drawn in (kept so that the
        # committed results/ reproduce exactly).
        D = self.discriminator(gens, dims, feature_layer=lambda width: MinibatchDiscrimination(
            gens, width, self.n_kernels, self.kernel_dim))
        return self.generator(gens, dims), D

    # Its losses are vanilla's: real and fake go through D as separate batches, so the layer compares
    # like with like.
