"""pacgan, pacgan2/3/4: the vanilla GAN whose discriminator judges m samples at once, concatenated
into one input of m x 2 dimensions (Lin et al. 2018, "PacGAN"). Each step draws m x batch samples of
each kind and packs consecutive groups of m; all m in a pack are real, or all are fake."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ganbench.variants.base import Variant

if TYPE_CHECKING:
    import torch


def pack_samples(x: torch.Tensor, m: int) -> torch.Tensor:
    """[K, m*B, d] -> [K, B, m*d]: consecutive groups of m samples become one packed sample."""
    k, n, d = x.shape
    return x.reshape(k, n // m, m * d)  # images travel flat (C*H*W): m images = m*C channels


class PacGAN(Variant):
    name = "pacgan"
    rank, default_grid = 4, True
    pack = 2

    def d_loss(self, D, real, fake, real_labels, fake_labels, gens):
        from ganbench.losses import ns_d_loss  # torch: see ganbench.variants.base

        return ns_d_loss(D(pack_samples(real, self.pack)), D(pack_samples(fake, self.pack)))

    def g_loss(self, D, fake, fake_labels):
        from ganbench.losses import ns_g_loss

        return ns_g_loss(D(pack_samples(fake, self.pack)))


def packed(m: int) -> type[PacGAN]:
    """The PacGAN variant with m packed samples, ``pacgan{m}`` (selectable by name, not in the default grid)."""
    return type(f"PacGAN{m}", (PacGAN,), {"name": f"pacgan{m}", "pack": m, "rank": 4 + m, "default_grid": False})


PacGAN2, PacGAN3, PacGAN4 = packed(2), packed(3), packed(4)
