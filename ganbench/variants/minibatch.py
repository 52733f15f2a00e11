"""minibatch: the vanilla GAN whose discriminator has a minibatch-discrimination layer before its
output (Salimans et al. 2016, section 3.2), so it can tell a batch of near-identical samples apart."""
from torch import nn

from ganbench.losses import ns_d_loss, ns_g_loss
from ganbench.nets import EnsembleLinear, MinibatchDiscrimination, Plain, mlp
from ganbench.variants.base import Variant


class Minibatch(Variant):
    name = "minibatch"
    n_kernels, kernel_dim = 8, 4

    def params(self):
        return {**super().params(), "n_kernels": self.n_kernels, "kernel_dim": self.kernel_dim}

    def build(self, gens, dims):
        trunk = mlp(gens, [dims.data_dim, *dims.hidden_sizes()])
        mbd = MinibatchDiscrimination(gens, dims.hidden, self.n_kernels, self.kernel_dim)
        head = EnsembleLinear(gens, dims.hidden + mbd.d_out_extra, 1)
        D = Plain(nn.Sequential(trunk, nn.ReLU(), mbd, head))
        return self.mlp_generator(gens, dims), D

    def d_loss(self, D, real, fake, real_labels, fake_labels, gens):
        # Real and fake go through D as separate batches, so the layer compares like with like.
        return ns_d_loss(D(real), D(fake))

    def g_loss(self, D, fake, fake_labels):
        return ns_g_loss(D(fake))
