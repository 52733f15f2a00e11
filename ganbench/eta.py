"""How long pending runs will take, said before they start: seconds per member-iteration (training and
its share of evaluation) from the finished records' timings, matched by variant, data and architecture,
else the defaults below. Free of torch."""
from __future__ import annotations

from statistics import median
from typing import Sequence

from ganbench.config import RunConfig
from ganbench.constants import WARN_CPU_HOURS
from ganbench.datasets import DATASETS, MAX_COMPARED, needs_evaluator

# Milliseconds per member-iteration (training and evaluation), one torch thread, by (variant, data): medians
# of the committed records (results/perf_notes.md says where); used where the store has no record to go by.
DEFAULT_MS = {
    ("vanilla", "mixture"): 3.9, ("wgan-gp", "mixture"): 25.7, ("cond-wgan-gp", "mixture"): 17.2,
    ("minibatch", "mixture"): 5.8, ("pacgan", "mixture"): 3.3, ("pacgan2", "mixture"): 52.6,
    ("pacgan3", "mixture"): 70.9, ("pacgan4", "mixture"): 97.8,
    ("vanilla", "mnist"): 58.9, ("wgan-gp", "mnist"): 333.2, ("cond-wgan-gp", "mnist"): 334.5,
    ("minibatch", "mnist"): 70.9, ("pacgan", "mnist"): 85.3,
    ("vanilla", "stacked-mnist"): 517.0, ("wgan-gp", "stacked-mnist"): 798.0,
    ("cond-wgan-gp", "stacked-mnist"): 1029.0, ("minibatch", "stacked-mnist"): 517.0,
    ("pacgan", "stacked-mnist"): 496.0, ("pacgan2", "stacked-mnist"): 345.0, ("pacgan3", "stacked-mnist"): 1675.0,
    ("pacgan4", "stacked-mnist"): 448.0,
    ("vanilla", "iris"): 2.9, ("wgan-gp", "iris"): 37.7, ("cond-wgan-gp", "iris"): 51.7, ("minibatch", "iris"): 4.9,
    ("pacgan", "iris"): 5.6,
}
# Evaluation seconds per generated value past a run's usual number of samples (most of an evaluation is
# fixed: t-SNE, FID features and PRDC on at most 5,000; measured: results/perf_notes.md).
EVAL_S_PER_VALUE = 1.5e-6
# ... and per pair of samples compared (k-NN for PRDC and C2ST grow with n^2); image runs compare at most
# MAX_COMPARED.
EVAL_S_PER_PAIR = 1.1e-8


ETA_MIN_S = 60  # below this much CPU time nothing is said


def _data(config) -> str:
    layout = config["layout"] if isinstance(config, dict) else config.layout
    return layout if layout in DATASETS else "mixture"


def _keys(config) -> list[tuple]:
    """From the most to the least specific: what a run's cost is matched by."""
    get = config.get if isinstance(config, dict) else lambda k: getattr(config, k)
    base = (get("variant"), _data(config))
    return [(*base, get("arch"), get("precision")), (*base, get("arch")), base]


def seconds_per_iter(records: Sequence[dict]) -> dict[tuple, tuple[float, float, float]]:
    """{match key: medians of (training seconds per member-iteration, evaluation seconds per run, samples
    evaluated per run)} over the records that say how long they took."""
    seen: dict[tuple, list[tuple[float, float, float]]] = {}
    for r in records:
        t, c = r.get("timings") or {}, r["config"]
        train, size = t.get("train_s"), t.get("ensemble_size")
        if not train or not size or not c.get("iters") or not c.get("n_eval"):
            continue
        per = (train / size / c["iters"], t.get("eval_s") or 0.0, c["n_eval"])
        for key in _keys(c):
            seen.setdefault(key, []).append(per)
    return {k: tuple(median(p[i] for p in v) for i in range(3)) for k, v in seen.items()}


def estimate(pending: Sequence[RunConfig], records: Sequence[dict], starts: dict | None = None) -> tuple[float, int]:
    """(CPU-seconds the pending runs will take, how many of them no timing or default covers).
    ``starts``: run id -> the iterations a run extended from a checkpoint already has."""
    starts = starts or {}
    table = seconds_per_iter(records)
    total, unknown = 0.0, 0
    for cfg in pending:
        per = next((table[k] for k in _keys(cfg) if k in table), None)
        if per is None and _keys(cfg)[-1] in DEFAULT_MS:
            per = (DEFAULT_MS[_keys(cfg)[-1]] / 1000, 0.0, 1)
        if per is None:
            unknown += 1
            continue
        extra = max(0, cfg.n_eval - per[2]) * cfg.dims().data_dim * EVAL_S_PER_VALUE  # samples past the usual
        compared = min(cfg.n_eval, MAX_COMPARED) if needs_evaluator([cfg.layout]) else cfg.n_eval
        extra += max(0, compared ** 2 - min(per[2], compared) ** 2) * EVAL_S_PER_PAIR  # PRDC, C2ST: all pairs
        total += per[0] * (cfg.iters - starts.get(cfg.run_id, 0)) + per[1] + extra
    return total, unknown


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def eta_lines(pending: Sequence[RunConfig], records: Sequence[dict], workers: int, groups: int,
              device: str | None = None, starts: dict | None = None) -> list[str]:
    """What `ganbench run` says before it trains ``pending``: how long, and a warning past
    WARN_CPU_HOURS. ``groups``: the ensembles they make (no more workers than that are busy)."""
    cpu, unknown = estimate(pending, records, starts)
    if cpu < ETA_MIN_S and not unknown:
        return []
    busy = max(1, min(workers, groups))
    where = ("" if device in (None, "cpu") or str(device).startswith("cpu")
             else f" (timed on CPUs: on {device} it differs)")
    unknown_note = f"; {unknown:,} with no timing to go by" if unknown else ""
    lines = [f"{len(pending):,} run(s) to train: about {_duration(cpu)} of CPU time, {_duration(cpu / busy)} on {busy} "
             f"worker(s){where}{unknown_note}"]
    if cpu > WARN_CPU_HOURS * 3600:
        lines.append(f"warning: this is past {WARN_CPU_HOURS} CPU-hours ({cpu / 3600:,.0f}); "
                     "it goes on without asking: Ctrl-C stops it and keeps every finished run, and the same "
                     "command continues it")
    return lines
