"""A job's configuration: ``RunConfig`` (one (variant, layout, modes, seed, budget)), its id (a hash
of the full configuration with the variant's hyperparameters), its validation, and the grid of them.
Free of torch: the variants are imported where a config needs its variant."""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Sequence

from ganbench.constants import CONFIG_LIMITS, DEFAULT_ITERS, MAX_RUNS, MAX_SEEDS
from ganbench.data import DEFAULT_STD, check_layout
from ganbench.datasets import DATASETS
from ganbench.hparams import apply_hparams, hparams_json
from ganbench.presets import Preset, preset_variant

if TYPE_CHECKING:
    from ganbench.variants import Dims, Variant

__all__ = ["DEFAULT_ITERS", "MAX_STD", "RECORD_SCHEMA", "RunConfig", "dataset_config", "check_run_count",
           "plan_grid", "preset_jobs", "size_problem", "validate", "value_problem"]

RECORD_SCHEMA = "ganbench.run/1"
PRECISIONS = (None, "bf16")  # RunConfig.precision: None is fp32
MAX_STD = 100.0


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines one job's result. Hashed (with the variant's hyperparameters) to
    name its record."""

    variant: str
    layout: str
    modes: int
    seed: int
    iters: int = DEFAULT_ITERS
    std: float | None = None      # None: the layout's default (ganbench.data.DEFAULT_STD)
    batch_size: int = 128
    n_train: int = 10_000
    n_eval: int = 2_500
    latent_dim: int = 2
    hidden: int = 128
    depth: int = 3
    arch: str | None = None       # the network architecture (ganbench.archs); None: the data's default
    scale: float | None = None    # mixtures: centres multiplied by this (None: 1, the layout's own)
    preset: str | None = None     # a published protocol (ganbench.presets): its optimiser settings apply
    budget: str | None = None     # with a preset: "paper", "quick" or "custom", the budget's name
    precision: str | None = None  # "bf16": training's matrix products in bfloat16 (opt-in); None: fp32
    auto_cap: int | None = None   # an `--iters auto` job (ganbench.auto): budgets iters, 2 iters, ... up to this
    # hyperparameter overrides on top of the variant's (and the preset's): canonical JSON (hparams_json),
    # e.g. '{"adam":{"betas":[0.5,0.9],"lr":0.0001},"gp_lambda":0.1}'; None: the variant's own
    hparams: str | None = None

    def __post_init__(self):
        # A dict, or JSON with other spacing or key order, becomes the canonical text (one setting, one
        # id); text that does not parse is kept as given, for validate() to name.
        if self.hparams is None:
            return
        try:
            text = json.dumps(self.hparams) if isinstance(self.hparams, dict) else self.hparams
            canonical = hparams_json(json.loads(text))
        except (ValueError, TypeError):
            return
        if canonical != self.hparams:
            object.__setattr__(self, "hparams", canonical)

    @property
    def is_mixture(self) -> bool:
        return self.layout not in DATASETS

    def resolved(self) -> "RunConfig":
        if self.std is None and self.is_mixture:
            return replace(self, std=DEFAULT_STD[self.layout])
        return self

    def identity(self) -> dict:
        config = asdict(self.resolved())
        for key in ("arch", "scale", "preset", "budget", "precision", "auto_cap", "hparams"):
            if config[key] is None:
                del config[key]  # fields added after the first records: absent when unused, so old ids hold
        return {"config": config, "variant_params": self.variant_obj().params(), "schema": RECORD_SCHEMA}

    def variant_obj(self) -> Variant:
        """The variant with its hyperparameters, as the preset (if any) sets them, then ``hparams``."""
        if self.preset is None:
            from ganbench.variants import get_variant  # torch: a config alone does not need it

            variant = get_variant(self.variant)
            if self.is_mixture and variant.mixture_overrides:  # its published 2-D toy settings
                variant = variant.with_overrides(**variant.mixture_overrides)
        else:
            variant = preset_variant(self.preset, self.variant)
        return variant if self.hparams is None else apply_hparams(variant, self.hparams)

    @property
    def run_id(self) -> str:
        blob = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def ensemble_key(self) -> tuple:
        """Jobs with the same key train together: everything but the seed and, where the networks do
        not depend on it (an unconditional variant on a mixture), the number of modes."""
        d = asdict(self.resolved())
        d.pop("seed")
        if self.is_mixture and not self.variant_obj().conditional:
            d.pop("modes")
        return tuple(sorted(d.items()))

    def dims(self) -> Dims:
        from ganbench.variants import Dims

        if self.is_mixture:
            return Dims(data_dim=2, latent_dim=self.latent_dim, hidden=self.hidden, depth=self.depth,
                        n_classes=self.modes, out_tanh=(self.layout == "blobs"), arch=self.arch or "mlp")
        d = DATASETS[self.layout]
        return Dims(data_dim=d.data_dim, latent_dim=self.latent_dim, hidden=self.hidden, depth=self.depth,
                    n_classes=self.modes, out_tanh=True, arch=self.arch or d.arch, image=d.image)


def dataset_config(variant: str, dataset: str, seed: int, iters: int | None = None,
                   n_eval: int | None = None, arch: str | None = None) -> RunConfig:
    """A job on an image (or Iris) dataset with that dataset's defaults (ganbench.datasets.DATASETS)."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}: choose from {', '.join(DATASETS)}")
    d = DATASETS[dataset]
    return RunConfig(variant=variant, layout=dataset, modes=d.classes, seed=seed, iters=iters or d.iters,
                     batch_size=d.batch_size, n_train=d.n_train, n_eval=n_eval or d.n_eval,
                     latent_dim=d.latent_dim, arch=arch or d.arch)


def size_problem(config: dict) -> str | None:
    """What is out of range among a config's sizes (constants.CONFIG_LIMITS), or None; for the grid's
    configs and for records read from disk alike. Values that are not whole numbers are left to the
    caller's type check."""
    for name, (least, most) in CONFIG_LIMITS.items():
        v = config.get(name)
        if type(v) is int and not least <= v <= most:
            return f"{name} must be between {least:,} and {most:,}, got {v:,}"
    return None


def value_problem(config: dict) -> str | None:
    """What is wrong with a config's layout and modes, std, scale and precision, or None: what
    ``validate`` checks beyond the sizes, for records read from disk too (torch-free)."""
    layout, modes = config.get("layout"), config.get("modes")
    if layout in DATASETS:
        if modes != DATASETS[layout].classes:
            return f"{layout} has {DATASETS[layout].classes} classes, got modes={modes}"
    else:
        try:
            check_layout(layout, modes)
        except (ValueError, TypeError) as e:
            return str(e)
    for name in ("std", "scale"):
        v = config.get(name)
        if v is not None and not (type(v) in (int, float) and math.isfinite(v) and 0 < v <= MAX_STD):
            return f"{name} must be a positive number up to {MAX_STD:g}, got {v}"
    if config.get("precision") not in PRECISIONS:
        return f"precision must be one of {', '.join(p or 'None' for p in PRECISIONS)}, got {config.get('precision')!r}"
    return None


def validate(cfg: RunConfig) -> None:
    """ValueError with what is wrong and what is allowed, before anything runs."""
    cfg.variant_obj()
    if cfg.is_mixture:
        check_layout(cfg.layout, cfg.modes)
        if cfg.arch is not None:
            from ganbench.archs import get_arch

            get_arch(cfg.arch)
        if cfg.scale is not None and not (math.isfinite(cfg.scale) and 0 < cfg.scale <= MAX_STD):
            raise ValueError(f"scale must be a positive number up to {MAX_STD:g}, got {cfg.scale}")
    else:
        from ganbench.archs import get_arch

        get_arch(cfg.arch or DATASETS[cfg.layout].arch)
        if cfg.modes != DATASETS[cfg.layout].classes:
            raise ValueError(f"{cfg.layout} has {DATASETS[cfg.layout].classes} classes, got modes={cfg.modes}")
    problem = size_problem(asdict(cfg))
    if problem:
        raise ValueError(problem)
    if cfg.std is not None and not (math.isfinite(cfg.std) and 0 < cfg.std <= MAX_STD):
        raise ValueError(f"std must be a positive number up to {MAX_STD:g}, got {cfg.std}")
    if cfg.precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(p or 'None' for p in PRECISIONS)}, "
                         f"got {cfg.precision!r}")
    if cfg.auto_cap is not None:
        if not cfg.is_mixture or cfg.preset is not None:
            raise ValueError("--iters auto goes with mixture grids only (not with --preset or --dataset): "
                             "give a number of iterations")
        if cfg.auto_cap < cfg.iters:
            raise ValueError(f"the cap of --iters auto ({cfg.auto_cap:,}) must be at least its start ({cfg.iters:,})")


def check_run_count(n: int) -> None:
    """ValueError for a command of more than MAX_RUNS runs, said before any is planned (planning is
    itself the cost)."""
    if n > MAX_RUNS:
        raise ValueError(f"this grid has {n:,} runs and one command plans at most {MAX_RUNS:,}: "
                         "fewer seeds, modes or variants, or several commands on the same --results")


def plan_grid(variants: Sequence[str], layouts: Sequence[str], modes: Sequence[int], seeds: int,
              iters: int | None = None, std: float | None = None, datasets: Sequence[str] = (),
              n_eval: int | None = None, arch: str | None = None, hparams: str | None = None) -> list[RunConfig]:
    """The full grid, validated: every layout x modes, and every image dataset (whose classes are its
    modes), for every variant and seeds 0 .. N-1. ``iters`` None: each dataset's default budget.
    ``hparams``: overrides for every run (``hparams_json``); each variant must have them."""
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")
    if seeds > MAX_SEEDS:
        raise ValueError(f"seeds must be at most {MAX_SEEDS:,}, got {seeds:,}")
    if n_eval is not None and n_eval < 10:
        raise ValueError(f"n_eval must be at least 10, got {n_eval}")
    check_run_count(len(set(variants)) * (len(set(layouts)) * len(set(modes)) + len(set(datasets))) * seeds)
    images = [name for name, d in DATASETS.items() if d.image is not None]
    if arch is not None and not set(images) & set(datasets):
        raise ValueError(f"arch {arch} is for the image datasets ({', '.join(images)}) and this grid has none: "
                         "add one (--dataset) or leave the architecture out")
    configs = [RunConfig(variant=v, layout=lay, modes=m, seed=s, iters=iters or DEFAULT_ITERS, std=std,
                         **({"n_eval": n_eval} if n_eval else {}))
               for v in variants for lay in layouts for m in modes for s in range(seeds)]
    configs += [dataset_config(v, d, s, iters, n_eval, arch if d in images else None)
                for v in variants for d in datasets for s in range(seeds)]
    if hparams is not None:
        configs = [replace(c, hparams=hparams) for c in configs]
    for cfg in configs:
        validate(cfg)
    return list(dict.fromkeys(configs))  # drop repeats, keep order


def preset_jobs(preset: Preset, budget: str = "quick", seeds: int | None = None, iters: int | None = None) -> list:
    """A preset's RunConfigs for a budget; ``seeds`` / ``iters`` replace the budget's (the budget's
    name then becomes "custom" where the iterations differ)."""
    if budget not in preset.budgets:
        raise ValueError(f"unknown budget {budget!r}: choose from {', '.join(preset.budgets)}")
    b = preset.budgets[budget]
    check_run_count(sum(len(s.variants) for s in preset.settings) * (seeds or b.seeds))
    out = []
    for setting in preset.settings:
        for v in setting.variants:
            n_iters = iters or b.iters_for(v)
            label = budget if n_iters == b.iters_for(v) else "custom"
            for seed in range(seeds or b.seeds):
                cfg = RunConfig(variant=v, seed=seed, iters=n_iters, preset=preset.name, budget=label,
                                **setting.config)
                validate(cfg)
                out.append(cfg)
    return out
