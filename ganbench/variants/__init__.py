"""The registry of GAN variants, by name. Adding a variant is one file in this folder: a ``Variant``
subclass with a ``name`` (and ``rank``, ``default_grid`` and its own ``hyperparameters`` where it has
them). Every module here is imported and every such class in it registered; nothing else lists them.
An installed package adds its own through the ``ganbench.variants`` entry-point group."""
from __future__ import annotations

import importlib
import pkgutil
import sys

from ganbench.variants.base import Dims, HParam, Variant

ENTRY_POINTS = "ganbench.variants"  # an installed package's variants: `name = "module:Class"` in this group


def _warn(ep, why: str) -> None:
    print(f"ganbench: warning: variant plugin {ep.name!r} ({ep.value}) left out: {why}", file=sys.stderr)


def _plugins(builtin: dict[str, type[Variant]]) -> list[type[Variant]]:
    """The Variant classes installed packages offer under ENTRY_POINTS. One that does not load, is not
    a named Variant subclass, cannot be made, takes a built-in variant's name or declares a
    hyperparameter another variant declares differently is left out with one line on stderr: a broken
    plugin must not stop ganbench (its own variants, or --help)."""
    from importlib.metadata import entry_points

    declared = {k: spec for cls in builtin.values() for k, spec in cls.all_hyperparameters().items()}
    out: list[type[Variant]] = []
    for ep in entry_points(group=ENTRY_POINTS):
        try:
            cls = ep.load()
            if not (isinstance(cls, type) and issubclass(cls, Variant) and "name" in vars(cls)):
                raise TypeError(f"{ep.value} is not a Variant subclass with a name")
            cls()
        except Exception as e:  # noqa: BLE001 - any failure of someone else's code: say it, go on
            _warn(ep, f"{e.__class__.__name__}: {e}")
            continue
        taken = [c for c in [*builtin.values(), *out] if c.name == cls.name and c is not cls]
        clash = [k for k, spec in cls.all_hyperparameters().items() if k in declared and declared[k] != spec]
        if taken:
            _warn(ep, f"the name {cls.name!r} is taken by {taken[0].__module__}.{taken[0].__name__}")
        elif clash:
            _warn(ep, f"it declares {', '.join(clash)} unlike another variant ({declared[clash[0]]})")
        elif cls not in out:
            declared.update(cls.all_hyperparameters())
            out.append(cls)
    return out


def _discover() -> dict[str, Variant]:
    """Every Variant subclass with its own ``name`` defined in a module of this package, then the
    installed plugins' (ENTRY_POINTS), by (rank, name)."""
    found: dict[str, type[Variant]] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for cls in vars(module).values():
            if (isinstance(cls, type) and issubclass(cls, Variant) and "name" in vars(cls)
                    and cls.__module__ == module.__name__):
                if cls.name in found and found[cls.name] is not cls:
                    raise TypeError(f"two variants are named {cls.name!r}: {found[cls.name].__name__} and "
                                    f"{cls.__name__}")
                found[cls.name] = cls
    for cls in _plugins(found):
        found[cls.name] = cls
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
