"""A job's configuration: ``RunConfig`` (one (variant, layout, modes, seed, budget)), its id (a hash
of the full configuration with the variant's hyperparameters), its validation, and the grid of them.
Free of torch: the variants are imported where a config needs its variant."""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Sequence

from ganbench.constants import DEFAULT_ITERS, MAX_N_EVAL, MAX_SEEDS
from ganbench.data import DEFAULT_STD, check_layout
from ganbench.image_jobs import DATASETS

if TYPE_CHECKING:
    from ganbench.variants import Dims, Variant

__all__ = ["DEFAULT_ITERS", "MAX_STD", "RECORD_SCHEMA", "RunConfig", "dataset_config", "plan_grid", "validate"]

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

    @property
    def is_mixture(self) -> bool:
        return self.layout not in DATASETS

    def resolved(self) -> "RunConfig":
        if self.std is None and self.is_mixture:
            return replace(self, std=DEFAULT_STD[self.layout])
        return self

    def identity(self) -> dict:
        config = asdict(self.resolved())
        for key in ("arch", "scale", "preset", "budget", "precision"):
            if config[key] is None:
                del config[key]  # fields added after the first records: absent when unused, so old ids hold
        return {"config": config, "variant_params": self.variant_obj().params(), "schema": RECORD_SCHEMA}

    def variant_obj(self) -> Variant:
        """The variant with its hyperparameters, as the preset (if any) sets them."""
        if self.preset is None:
            from ganbench.variants import get_variant  # torch: a config alone does not need it

            return get_variant(self.variant)
        from ganbench.presets import preset_variant

        return preset_variant(self.preset, self.variant)

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
    """A job on an image (or Iris) dataset with that dataset's defaults (ganbench.image_jobs.DATASETS)."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}: choose from {', '.join(DATASETS)}")
    d = DATASETS[dataset]
    return RunConfig(variant=variant, layout=dataset, modes=d.classes, seed=seed, iters=iters or d.iters,
                     batch_size=d.batch_size, n_train=d.n_train, n_eval=n_eval or d.n_eval,
                     latent_dim=d.latent_dim, arch=arch or d.arch)


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
    for name in ("iters", "batch_size", "n_train", "n_eval", "latent_dim", "hidden", "depth"):
        if getattr(cfg, name) < 1:
            raise ValueError(f"{name} must be at least 1, got {getattr(cfg, name)}")
    if cfg.n_eval > MAX_N_EVAL:
        raise ValueError(f"n_eval must be at most {MAX_N_EVAL:,}, got {cfg.n_eval:,}")
    if cfg.seed < 0:
        raise ValueError(f"seed must be >= 0, got {cfg.seed}")
    if cfg.std is not None and not (math.isfinite(cfg.std) and 0 < cfg.std <= MAX_STD):
        raise ValueError(f"std must be a positive number up to {MAX_STD:g}, got {cfg.std}")
    if cfg.precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(p or 'None' for p in PRECISIONS)}, got {cfg.precision!r}")


def plan_grid(variants: Sequence[str], layouts: Sequence[str], modes: Sequence[int], seeds: int,
              iters: int | None = None, std: float | None = None, datasets: Sequence[str] = (),
              n_eval: int | None = None, arch: str | None = None) -> list[RunConfig]:
    """The full grid, validated: every layout x modes, and every image dataset (whose classes are its
    modes), for every variant and seeds 0 .. N-1. ``iters`` None: each dataset's default budget."""
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")
    if seeds > MAX_SEEDS:
        raise ValueError(f"seeds must be at most {MAX_SEEDS:,}, got {seeds:,}")
    if n_eval is not None and n_eval < 10:
        raise ValueError(f"n_eval must be at least 10, got {n_eval}")
    images = [name for name, d in DATASETS.items() if d.image is not None]
    if arch is not None and not set(images) & set(datasets):
        raise ValueError(f"arch {arch} is for the image datasets ({', '.join(images)}) and this grid has none: "
                         "add one (--dataset) or leave the architecture out")
    configs = [RunConfig(variant=v, layout=l, modes=m, seed=s, iters=iters or DEFAULT_ITERS, std=std,
                         **({"n_eval": n_eval} if n_eval else {}))
               for v in variants for l in layouts for m in modes for s in range(seeds)]
    configs += [dataset_config(v, d, s, iters, n_eval, arch if d in images else None)
                for v in variants for d in datasets for s in range(seeds)]
    for cfg in configs:
        validate(cfg)
    return list(dict.fromkeys(configs))  # drop repeats, keep order

