"""The one table of metrics: what each value a run records is, how the report shows it, the range and
step the statistics use for it, and which function of ganbench.metrics computes it. The command
line's metric list, the evaluation suite, the report's columns and decimals, and stats.metric_range /
metric_step are all read from here. Free of numpy, torch and scikit-learn (``ganbench --help`` reads it).

Adding a distribution metric (README, "Add a metric"): its module in ganbench/metrics/ with a function
``(real, fake, seed, kid_subsets) -> {record key: value}``, one ``Family`` row naming it, one ``Metric``
row per value it records, and its reference test."""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    """One value of a run's record (``metrics[key]``)."""

    key: str
    title: str                       # its column in REPORT.md's mixture tables
    decimals: int
    scale: float = 1.0               # display units = value x scale (HQ % = 100 x the fraction)
    kind: str = "distribution"       # "modes" (a mixture's mode metrics), "distribution", "classes" (an image's)
    # The values it can take: "unit" [0, 1], "modes" [0, K], "log_modes" [0, ln K], "score" [1, K]
    # (exp of a mutual information over K classes), "non_negative", or "any" (KID's unbiased estimate
    # can be negative).
    range: str = "any"
    step: str | None = None          # the tie rule's step: "mode" (one mode) or "mode_share" (1 / K of the scale)
    image_title: str | None = None   # its column in the image tables (None: not shown there)
    image_decimals: int | None = None
    image_scale: float | None = None  # display scale in the image tables, where it differs from ``scale``


@dataclass(frozen=True)
class Family:
    """A name ``ganbench metrics --metrics`` takes and ``compare`` computes: one function, its values."""

    name: str
    compute: str                     # "module:function" of ganbench.metrics, imported when used
    keys: tuple[str, ...]            # the record keys it returns
    version: int = 1                 # raised when its values change; a record keeps the version of each


# The suite, in the order `ganbench metrics` prints it.
FAMILIES = (
    Family("fid", "ganbench.metrics.fid:fid_values", ("fid",)),
    Family("kid", "ganbench.metrics.kid:kid_values", ("kid_mean", "kid_std")),
    Family("prdc", "ganbench.metrics.manifold:prdc_values", ("precision", "recall", "density", "coverage")),
    Family("c2st", "ganbench.metrics.c2st:c2st_values", ("c2st_accuracy", "c2st_p_value")),
    Family("diversity", "ganbench.metrics.diversity:diversity_values", ("diversity", "diversity_ratio")),
)
# The values computed outside ``compare``: a mixture's mode metrics and an image run's class metrics.
OTHER_VERSIONS = {"modes": 1, "classes": 1}

METRICS = (
    # a 2-D mixture's mode metrics (ganbench.metrics.modes)
    Metric("modes", "modes captured", 1, kind="modes", range="modes", step="mode", image_title="classes seen",
           image_decimals=1),
    Metric("modes_fair", "modes at half their fair share", 1, kind="modes", range="modes", step="mode"),
    Metric("hq_fraction", "HQ %", 1, scale=100.0, kind="modes", range="unit"),
    Metric("reverse_kl", "reverse KL", 2, kind="modes", range="log_modes"),
    Metric("kmeans_coverage", "kmeans coverage %", 0, scale=100.0, kind="modes", range="unit", step="mode_share"),
    # an image run's class metrics (ganbench.metrics.classes, of the evaluator's labels)
    Metric("kl_to_uniform", "KL to uniform", 2, kind="classes", range="log_modes", image_title="KL to uniform",
           image_decimals=2),
    Metric("classifier_score", "classifier score", 2, kind="classes", range="score", image_title="classifier score",
           image_decimals=2),
    # distribution metrics (the suite), in feature space
    Metric("fid", "FID (lower is better)", 3, range="non_negative", image_title="FID", image_decimals=2),
    # x 1000 is the convention for Inception features; in the MNIST evaluator's 128-d features KID is
    # tens (a trained MNIST GAN: 26-60) and Iris tenths, so the image and Iris tables show it as it is
    Metric("kid_mean", "KID x 1000 (lower is better)", 2, scale=1000.0, image_title="KID", image_decimals=3,
           image_scale=1.0),
    Metric("precision", "precision (k = 3)", 2, range="unit", image_title="precision", image_decimals=2),
    Metric("recall", "recall (k = 3)", 2, range="unit", image_title="recall", image_decimals=2),
    Metric("density", "density (k = 5)", 2, range="non_negative", image_title="density", image_decimals=2),
    Metric("coverage", "coverage (k = 5)", 2, range="unit", image_title="coverage", image_decimals=2),
    Metric("c2st_accuracy", "C2ST accuracy (k-NN; 0.5 = indistinguishable)", 2, range="unit",
           image_title="C2ST accuracy", image_decimals=2),
    Metric("diversity_ratio", "diversity ratio (1 = the data's spread)", 2, range="non_negative",
           image_title="diversity ratio", image_decimals=2),
)

BY_KEY = {m.key: m for m in METRICS}
BY_FAMILY = {f.name: f for f in FAMILIES}
FAMILY_OF = {key: f.name for f in FAMILIES for key in f.keys}
SUITE = tuple(f.name for f in FAMILIES)  # what `ganbench metrics --metrics` offers
# The secondary column of modes captured, conditional on training (ganbench.population.trained_value):
# the statistics treat it as modes.
_ALIASES = {"modes_trained": "modes"}


def families_in(metrics: dict) -> tuple[str, ...]:
    """The suite's families whose every value ``metrics`` holds, in the table's order."""
    return tuple(f.name for f in FAMILIES if all(k in metrics for k in f.keys))


def versions(families) -> dict[str, int]:
    """``{family: version}`` of the families a record's values came from (its ``metric_versions``)."""
    return {name: BY_FAMILY[name].version if name in BY_FAMILY else OTHER_VERSIONS[name] for name in families}


def spec(key: str) -> Metric | None:
    return BY_KEY.get(_ALIASES.get(key, key))


def metric_step(key: str, modes: int, scale: float = 1.0) -> float:
    """One step of a metric in display units (``scale`` x its unit): one mode captured, or one mode of
    kmeans coverage; 0 for continuous metrics. The tie rule's ``step`` (``stats.interval``, ``verdict``)."""
    m = spec(key)
    if m is None or m.step is None:
        return 0.0
    if m.step == "mode":
        return 1.0
    return scale / modes if modes else 0.0


def metric_range(key: str, modes: int, scale: float = 1.0) -> tuple[float, float]:
    """The values a metric can take, in display units (``scale`` x its unit); (-inf, inf) for one not
    known to be bounded. ``modes``: K, the modes (classes)."""
    kind = spec(key).range if spec(key) else "any"
    if kind == "unit":
        return 0.0, scale
    if kind == "modes":
        return 0.0, float(modes) if modes else math.inf
    if kind == "log_modes":
        return 0.0, math.log(modes) * scale if modes else math.inf
    if kind == "score":
        return 1.0, float(modes) if modes else math.inf
    if kind == "non_negative":
        return 0.0, math.inf
    return -math.inf, math.inf


def columns(kind: str) -> list[tuple[str, str, float, int]]:
    """(record key, column, scale, decimals) of the report's tables: "modes" and "distribution" for the
    mixture tables, "image" for the image and Iris tables."""
    if kind == "image":
        return [(m.key, m.image_title, m.scale if m.image_scale is None else m.image_scale, m.image_decimals)
                for m in METRICS if m.image_title]
    return [(m.key, m.title, m.scale, m.decimals) for m in METRICS if m.kind == kind]
