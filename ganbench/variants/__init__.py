"""The registry of GAN variants, by name. Adding a variant: write one file in this folder with a
``Variant`` subclass, list it in ``_CLASSES`` below and its name in ``ganbench.constants.VARIANTS``."""
from __future__ import annotations

from ganbench.constants import DEFAULT_VARIANTS
from ganbench.variants.base import Dims, Variant
from ganbench.variants.cond_wgan_gp import CondWGANGP
from ganbench.variants.minibatch import Minibatch
from ganbench.variants.pacgan import PacGAN, packed
from ganbench.variants.vanilla import Vanilla
from ganbench.variants.wgan_gp import WGANGP

_CLASSES: list[type[Variant]] = [Vanilla, WGANGP, CondWGANGP, Minibatch, PacGAN,
                                 packed(2), packed(3), packed(4)]
REGISTRY: dict[str, Variant] = {cls.name: cls() for cls in _CLASSES}


def get_variant(name: str) -> Variant:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown variant {name!r}: choose from {', '.join(REGISTRY)}") from None


__all__ = ["Dims", "Variant", "REGISTRY", "DEFAULT_VARIANTS", "get_variant"]
