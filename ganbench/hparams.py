"""Hyperparameter overrides of a run (``RunConfig.hparams``, ``--set NAME=VALUE``): which a run may set,
their one canonical JSON text (one setting, one run id), how they apply to a variant and how they read
in a table. Below ganbench.config and ganbench.presets, which both use them."""
from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING

from ganbench.variants import settable_hyperparameters

if TYPE_CHECKING:
    from ganbench.variants import Variant

# The hyperparameters a run may override (RunConfig.hparams), what each holds and its largest value:
# each variant declares its own (ganbench.variants.base.HParam), and a variant takes the ones it has.
_SETTABLE = settable_hyperparameters()
HPARAMS = {name: spec.kind for name, spec in _SETTABLE.items()}
HPARAM_MAX = {name: spec.maximum for name, spec in _SETTABLE.items() if spec.maximum is not None}
ADAM_KEYS = ("lr", "betas")


def _number(name: str, v, whole: bool = False) -> float | int:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ValueError(f"hyperparameter {name} must be a {'whole ' if whole else ''}number, got {json.dumps(v)}")
    if whole:
        if v != int(v) or v < 1:
            raise ValueError(f"hyperparameter {name} must be a whole number >= 1, got {v}")
        return int(v)
    return float(v)


def _normalise_hparams(overrides) -> dict:
    """Overrides with every value of its kind (floats as floats, betas a list of two): so that one
    setting has one JSON text, and one run id. ValueError naming what is wrong and what is allowed."""
    if not isinstance(overrides, dict):
        raise ValueError(f"hparams must be a JSON object of hyperparameters ({', '.join(HPARAMS)}), "
                         f"got {json.dumps(overrides)[:60]}")
    out: dict = {}
    for name, v in overrides.items():
        kind = HPARAMS.get(name)
        if kind is None:
            raise ValueError(f"unknown hyperparameter {name!r}: choose from {', '.join(HPARAMS)}")
        if kind == "adam":
            if not isinstance(v, dict) or not v or set(v) - set(ADAM_KEYS):
                raise ValueError(f"hyperparameter {name} must be an object with lr and / or betas, e.g. "
                                 f'{{"lr": 1e-4, "betas": [0.5, 0.9]}}, got {json.dumps(v)[:60]}')
            adam = {}
            if "lr" in v:
                adam["lr"] = _number(f"{name}.lr", v["lr"])
                if adam["lr"] <= 0:
                    raise ValueError(f"hyperparameter {name}.lr must be positive, got {v['lr']}")
            if "betas" in v:
                betas = v["betas"]
                if not isinstance(betas, (list, tuple)) or len(betas) != 2:
                    raise ValueError(f"hyperparameter {name}.betas must be two numbers, got {json.dumps(betas)[:60]}")
                adam["betas"] = [_number(f"{name}.betas", b) for b in betas]
                if not all(0 <= b < 1 for b in adam["betas"]):
                    raise ValueError(f"hyperparameter {name}.betas must lie in [0, 1), got {adam['betas']}")
            out[name] = adam
        elif kind == "int":
            out[name] = _number(name, v, whole=True)
        else:
            out[name] = _number(name, v)
            if out[name] < 0:
                raise ValueError(f"hyperparameter {name} must be >= 0, got {v}")
        if name in HPARAM_MAX and out[name] > HPARAM_MAX[name]:
            raise ValueError(f"hyperparameter {name} must be at most {HPARAM_MAX[name]:,}, got {v:,}")
    return out


def hparams_json(overrides: dict) -> str | None:
    """The canonical JSON text of hyperparameter overrides that ``RunConfig.hparams`` holds (sorted
    keys, no spaces, numbers of their kind), e.g. ``{"adam":{"betas":[0.5,0.9],"lr":0.0001},"gp_lambda":0.1}``;
    None for no overrides."""
    norm = _normalise_hparams(overrides)
    return json.dumps(norm, sort_keys=True, separators=(",", ":")) if norm else None


def _parse_hparams(text) -> dict:
    if not isinstance(text, str):
        raise ValueError(f"hparams must be a JSON text, got {text!r}")
    try:
        obj = json.loads(text)
    except ValueError:
        raise ValueError(f"hparams is not JSON: {text[:60]!r}") from None
    return _normalise_hparams(obj)


def apply_hparams(variant: Variant, text: str) -> Variant:
    """``variant`` (as its preset sets it) with the overrides of ``RunConfig.hparams`` on top; an
    Adam override may give lr or betas alone (the other keeps the variant's value)."""
    overrides = _parse_hparams(text)
    declared = variant.all_hyperparameters()
    have = [name for name in HPARAMS if name in declared and declared[name].settable]  # its own, not an attribute
    unknown = [name for name in overrides if name not in have]
    if unknown:
        raise ValueError(f"{variant.name} has no hyperparameter {', '.join(unknown)}: it has {', '.join(have)}")
    changed = {}
    for name, v in overrides.items():
        if HPARAMS[name] == "adam":
            base = getattr(variant, name) or variant.adam  # adam_d None: the discriminator uses adam
            v = {**base, **v}
            v = {"lr": v["lr"], "betas": tuple(v["betas"])}
        changed[name] = v
    return variant.with_overrides(**changed)  # on top of the preset's overrides


def _short(x: float) -> str:
    """1e-4 rather than 0.0001, 0.5 and 10 as they are."""
    if x and abs(x) < 0.01:
        mantissa, exponent = f"{x:e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    return f"{x:g}"


def hparams_label(text: str | None) -> str:
    """A short reading of ``RunConfig.hparams``: ``gp_lambda 0.1, Adam 0.0001 (0.5, 0.9)``; "defaults" for None."""
    if text is None:
        return "defaults"
    parts = []
    overrides = _parse_hparams(text)
    for name, v in sorted(overrides.items(), key=lambda kv: HPARAMS[kv[0]] == "adam"):  # the optimiser last
        if HPARAMS[name] == "adam":
            what = "Adam" if name == "adam" else "Adam (D)"
            lr = _short(v["lr"]) if "lr" in v else "lr default"
            betas = f" ({', '.join(_short(b) for b in v['betas'])})" if "betas" in v else ""
            parts.append(f"{what} {lr}{betas}")
        else:
            parts.append(f"{name} {_short(v)}")
    return ", ".join(parts)
