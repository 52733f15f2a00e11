"""The registry of GAN variants, by name. Adding a variant is one file in this folder: a ``Variant``
subclass with a ``name`` (and ``rank``, ``default_grid`` and its own ``hyperparameters`` where it has
them). Every module here is imported and every such class in it registered; nothing else lists them."""
from __future__ import annotations

import importlib
import pkgutil

from ganbench.variants.base import Dims, HParam, Variant


def _discover() -> dict[str, Variant]:
    """Every Variant subclass with its own ``name`` defined in a module of this package, by (rank, name)."""
    found: dict[str, type[Variant]] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for obj in vars(module).values():
            if (isinstance(obj, type) and issubclass(obj, Variant) and "name" in vars(obj)
                    and obj.__module__ == module.__name__):
                if obj.name in found and found[obj.name] is not obj:
                    raise TypeError(f"two variants are named {obj.name!r}: {found[obj.name].__name__} and "
                                    f"{obj.__name__}")
                found[obj.name] = obj
    return {cls.name: cls() for cls in sorted(found.values(), key=lambda c: (c.rank, c.name))}


REGISTRY: dict[str, Variant] = _discover()
VARIANTS: tuple[str, ...] = tuple(REGISTRY)  # the registry's order: tables, figures and --help
DEFAULT_VARIANTS: tuple[str, ...] = tuple(n for n, v in REGISTRY.items() if v.default_grid)


def get_variant(name: str) -> Variant:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown variant {name!r}: choose from {', '.join(REGISTRY)}") from None


def settable_hyperparameters() -> dict[str, HParam]:
    """The hyperparameters ``--set`` (``RunConfig.hparams``) may change, over every variant: what
    each holds and its largest value; a variant takes the ones it has."""
    out: dict[str, HParam] = {}
    for variant in REGISTRY.values():
        for key, spec in variant.all_hyperparameters().items():
            if spec.settable:
                if key in out and out[key] != spec:
                    raise TypeError(f"hyperparameter {key} is declared two ways: {out[key]} and {spec}")
                out[key] = spec
    return out


__all__ = ["Dims", "HParam", "Variant", "REGISTRY", "VARIANTS", "DEFAULT_VARIANTS", "get_variant",
           "settable_hyperparameters"]
