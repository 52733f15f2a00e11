"""How long pending runs will take, said before they start: seconds per member-iteration (training and
its share of evaluation) from the finished records' timings, matched by variant, data and architecture,
else the defaults below. Free of torch."""
from __future__ import annotations

from statistics import median
from typing import Sequence

from ganbench.config import RunConfig
from ganbench.constants import WARN_CPU_HOURS
from ganbench.datasets import DATASETS, MAX_COMPARED, needs_evaluator

# What a run costs where the store has no record to go by, by (variant, data, arch): training milliseconds
# per member-iteration (one torch thread), evaluation seconds per run, and the samples that evaluation
# judged; medians of the committed records trained from scratch (docs/perf_notes.md says where).
DEFAULT_COST = {
    ('cond-wgan-gp', 'iris', 'mlp'): (7.6, 0.04, 500),
    ('cond-wgan-gp', 'mixture', None): (15.5, 4.82, 10000),
    ('cond-wgan-gp', 'mnist', 'dcgan'): (370.6, 21.54, 10000),
    ('cond-wgan-gp', 'stacked-mnist', 'dcgan-small-d'): (300.4, 218.52, 26000),
    ('minibatch', 'iris', 'mlp'): (2.4, 0.02, 500),
    ('minibatch', 'mixture', None): (5.0, 0.26, 2500),
    ('minibatch', 'mnist', 'dcgan'): (69.6, 23.18, 10000),
    ('minibatch', 'stacked-mnist', 'dcgan-small-d'): (55.8, 138.38, 26000),
    ('pacgan', 'iris', 'mlp'): (1.6, 0.01, 500),
    ('pacgan', 'mixture', None): (5.8, 1.24, 2500),
    ('pacgan', 'mnist', 'dcgan'): (83.4, 22.11, 10000),
    ('pacgan', 'stacked-mnist', 'dcgan-small-d'): (81.2, 124.45, 26000),
    ('pacgan2', 'mixture', 'pacgan-mlp'): (52.5, 0.53, 2500),
    ('pacgan2', 'stacked-mnist', 'dcgan'): (91.4, 59.33, 26000),
    ('pacgan2', 'stacked-mnist', 'dcgan-half-d'): (518.9, 109.66, 25600),
    ('pacgan2', 'stacked-mnist', 'dcgan-small-d'): (112.6, 69.64, 25600),
    ('pacgan3', 'mixture', 'pacgan-mlp'): (70.9, 0.47, 2500),
    ('pacgan3', 'stacked-mnist', 'dcgan'): (122.6, 68.53, 26000),
    ('pacgan3', 'stacked-mnist', 'dcgan-half-d'): (174.9, 70.20, 25600),
    ('pacgan3', 'stacked-mnist', 'dcgan-small-d'): (177.4, 449.17, 25600),
    ('pacgan4', 'mixture', 'pacgan-mlp'): (97.7, 0.56, 2500),
    ('pacgan4', 'stacked-mnist', 'dcgan'): (142.8, 69.75, 26000),
    ('pacgan4', 'stacked-mnist', 'dcgan-small-d'): (223.9, 67.28, 25600),
    ('vanilla', 'iris', 'mlp'): (1.4, 0.01, 500),
    ('vanilla', 'mixture', 'pacgan-mlp'): (35.9, 0.60, 2500),
    ('vanilla', 'mixture', 'veegan-mlp'): (17.2, 3.67, 2500),
    ('vanilla', 'mixture', None): (3.8, 15.81, 10000),
    ('vanilla', 'mnist', 'dcgan'): (56.5, 22.09, 10000),
    ('vanilla', 'mnist', 'mnist-mlp'): (34.9, 11.42, 10000),
    ('vanilla', 'stacked-mnist', 'dcgan'): (54.7, 57.22, 26000),
    ('vanilla', 'stacked-mnist', 'dcgan-half-d'): (77.7, 86.60, 25600),
    ('vanilla', 'stacked-mnist', 'dcgan-small-d'): (71.0, 133.68, 25800),
    ('wgan-gp', 'iris', 'mlp'): (7.7, 0.02, 500),
    ('wgan-gp', 'mixture', None): (31.5, 14.31, 10000),
    ('wgan-gp', 'mnist', 'dcgan'): (365.9, 24.38, 10000),
    ('wgan-gp', 'stacked-mnist', 'dcgan-small-d'): (162.6, 190.52, 26000),
}
# Evaluation seconds per generated value past a run's usual number of samples (most of an evaluation is
# fixed: t-SNE, FID features and PRDC on at most 5,000; measured: docs/perf_notes.md).
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
        if per is None:
            per = _default_cost(cfg)
        if per is None:
            unknown += 1
            continue
        extra = max(0, cfg.n_eval - per[2]) * cfg.dims().data_dim * EVAL_S_PER_VALUE  # samples past the usual
        compared = min(cfg.n_eval, MAX_COMPARED) if needs_evaluator([cfg.layout]) else cfg.n_eval
        extra += max(0, compared ** 2 - min(per[2], compared) ** 2) * EVAL_S_PER_PAIR  # PRDC, C2ST: all pairs
        total += per[0] * (cfg.iters - starts.get(cfg.run_id, 0)) + per[1] + extra
    return total, unknown


def _default_cost(cfg: RunConfig) -> tuple[float, float, float] | None:
    """(training seconds per member-iteration, evaluation seconds, samples evaluated) from DEFAULT_COST: its
    architecture's entry, else its variant and data's with the default architecture, else any of theirs."""
    variant, data = _keys(cfg)[-1]
    cost = (DEFAULT_COST.get((variant, data, cfg.arch)) or DEFAULT_COST.get((variant, data, None))
            or next((v for k, v in DEFAULT_COST.items() if k[:2] == (variant, data)), None))
    return None if cost is None else (cost[0] / 1000, cost[1], cost[2])


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
