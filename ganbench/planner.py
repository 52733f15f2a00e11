"""Planning: jobs that differ only in seed (and, where the networks allow, modes) are grouped into
ensembles trained together as one batch (``ganbench.train``); a job whose config finished with a
smaller budget continues from that run's checkpoint (``find_bases``). Reads the store, writes nothing."""
from __future__ import annotations

import json
from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass, replace
from itertools import groupby
from pathlib import Path
from typing import Iterable, Sequence

from ganbench.config import RunConfig
from ganbench.store import runs_dir


def _cost(group: Sequence[RunConfig]) -> float:
    """Relative cost (``Variant.step_cost``), to start the longest ensembles first."""
    return group[0].iters * group[0].variant_obj().step_cost() * len(group)


MAX_ENSEMBLE = 20  # members per ensemble: beyond ~20 the batched step gets no cheaper per member
MAX_ENSEMBLE_DATA = 3 * 2 ** 30  # bytes of training data per ensemble (128,000 stacked digits: 1.2 GB a seed)
MAX_ENSEMBLE_EVAL = 6 * 2 ** 30  # bytes of evaluation per ensemble (26,000 stacked digits: 2 GB a seed)
# Evaluating holds about this many float32 copies of the generated samples (the tensor, its array, the
# images, the classifier's inputs; measured: docs/perf_notes.md).
EVAL_COPIES = 8
WORKER_BYTES = 2 ** 30  # what a worker holds before its ensemble (torch, the evaluator, MNIST)
MIXTURE_WORKER_BYTES = 300 * 2 ** 20  # ... on 2-D mixtures (torch and the small networks)


def member_bytes(cfg: RunConfig) -> tuple[int, int]:
    """(training data, evaluated samples) one ensemble member holds, in bytes (float32)."""
    width = cfg.dims().data_dim * 4
    return cfg.n_train * width, cfg.n_eval * width * EVAL_COPIES


def peak_bytes(configs: Sequence[RunConfig], workers: int) -> int:
    """An upper bound on the memory the busy workers hold at once (each its process and at most the
    largest ensemble ``ensembles`` can make of the costliest job, and no more members than there are
    runs): what `ganbench run` checks against the machine's memory before it starts, without planning."""
    if not configs:
        return 0
    big = max(configs, key=lambda c: sum(member_bytes(c)))
    data, samples = member_bytes(big)
    size = max(1, min(MAX_ENSEMBLE, len(configs), MAX_ENSEMBLE_DATA // data, MAX_ENSEMBLE_EVAL // samples))
    busy = max(1, min(workers, len(configs)))  # the planner splits ensembles until every worker has one
    overhead = WORKER_BYTES if any(not c.is_mixture for c in configs) else MIXTURE_WORKER_BYTES
    return busy * overhead + min(busy * size, len(configs)) * (data + samples)


@dataclass(frozen=True)
class Ensemble(SequenceABC):
    """The jobs trained together as one batch (a sequence of RunConfig), and for an extension, per job,
    the finished run it continues from: (base record, member training state) (``find_bases``)."""

    jobs: tuple[RunConfig, ...]
    bases: tuple | None = None

    def __getitem__(self, i):
        return self.jobs[i]

    def __len__(self) -> int:
        return len(self.jobs)


def ensembles(configs: Iterable[RunConfig], max_size: int = MAX_ENSEMBLE,
              bases: dict | None = None, workers: int = 1) -> list[Ensemble]:
    """Group jobs by ensemble key (and, for extensions, the budget they continue from) into ensembles
    of at most ``max_size`` members (fewer where their training data or evaluated samples would pass
    MAX_ENSEMBLE_DATA or MAX_ENSEMBLE_EVAL), longest first. ``bases``: run id -> (base record, training
    state), from ``find_bases``. For ``workers`` > 1, ensembles are split in two where that shortens
    the planned schedule (``_balanced``)."""
    bases = bases or {}

    def start(c: RunConfig) -> int:
        return bases[c.run_id][1]["iters"] if c.run_id in bases else 0

    keyed = sorted(configs, key=lambda c: (repr(c.ensemble_key()), start(c), c.modes, c.seed))
    groups = []
    for _, g in groupby(keyed, key=lambda c: (c.ensemble_key(), start(c))):
        g = list(g)
        data, samples = member_bytes(g[0])
        size = max(1, min(max_size, MAX_ENSEMBLE_DATA // data, MAX_ENSEMBLE_EVAL // samples))
        for i in range(0, len(g), size):
            groups.append(Ensemble(tuple(g[i:i + size])))
    groups = _balanced(groups, workers)
    groups = [replace(e, bases=tuple(bases[c.run_id] for c in e)) if e[0].run_id in bases else e for e in groups]
    return sorted(groups, key=_cost, reverse=True)


def _makespan(groups: Sequence[Ensemble], workers: int) -> float:
    """When the last worker finishes, in ``_cost`` units, if each ensemble (costliest first) goes to the
    worker free first: what ``ganbench.executors`` does with them."""
    loads = [0.0] * workers
    for g in sorted(groups, key=_cost, reverse=True):
        loads[loads.index(min(loads))] += _cost(g)
    return max(loads)


SPLIT_GAIN = 0.01  # a split must shorten the planned schedule by at least this share
MIN_HALF = 3       # ...and leave at least this many members in each half (smaller ensembles cost more per member)


def _halves(g: Ensemble) -> list[Ensemble]:
    half = (len(g) + 1) // 2
    return [Ensemble(g.jobs[:half]), Ensemble(g.jobs[half:])]


def _balanced(groups: list[Ensemble], workers: int) -> list[Ensemble]:
    """``groups`` with ensembles split in two (a member's result does not depend on its ensemble, so
    splitting changes no record). First, while there are fewer ensembles than workers, the costliest
    is split, so that every worker has work (10 seeds of one config on 2 workers: 5 + 5). Then one
    split at a time, the one that shortens the planned schedule (``_makespan``) most, while it shortens
    it by SPLIT_GAIN or more and leaves MIN_HALF members a side: so that the workers finish together.
    Ensembles of 5 and 10 cost
    the same per member on a CPU; below ~3 members they cost more."""
    if workers <= 1 or not groups:
        return groups
    while len(groups) < workers and max(len(g) for g in groups) > 1:
        big = max((g for g in groups if len(g) > 1), key=lambda g: (_cost(g), len(g)))  # never an empty half
        groups = [g for g in groups if g is not big] + _halves(big)
    span = _makespan(groups, workers)
    while True:
        best = None
        for g in sorted((g for g in groups if len(g) >= 2 * MIN_HALF), key=_cost, reverse=True)[:2 * workers]:
            trial = [x for x in groups if x is not g] + _halves(g)
            trial_span = _makespan(trial, workers)
            if trial_span <= span * (1 - SPLIT_GAIN) and (best is None or trial_span < best[0]):
                best = (trial_span, trial)
        if best is None:
            return groups
        span, groups = best


def find_bases(out: Path, pending: Sequence[RunConfig], records: list[dict]) -> dict:
    """For each pending job, the finished run of the same config with the largest smaller budget
    whose checkpoint holds its training state: {run id: (base record, member training state)}.
    Training continues from there and ends where training from scratch would (bit for bit)."""
    def key(config: dict, params: dict) -> str:
        rest = {k: v for k, v in config.items() if k not in ("iters", "budget")}
        return json.dumps([rest, params], sort_keys=True)

    by_key: dict[str, list[dict]] = {}
    for r in records:
        if r.get("status") in ("ok", "diverged") and "config" in r and "variant_params" in r:
            by_key.setdefault(key(r["config"], r["variant_params"]), []).append(r)
    found = {}
    for cfg in pending:
        ident = cfg.identity()
        candidates = [r for r in by_key.get(key(ident["config"], ident["variant_params"]), [])
                      if r["config"]["iters"] < cfg.iters]
        for r in sorted(candidates, key=lambda r: -r["config"]["iters"]):
            ckpt = runs_dir(out) / f"{r['id']}.pt"
            if not ckpt.is_file():
                continue
            import torch  # here, not above: a driver with no checkpoint to read never imports torch

            try:
                state = torch.load(ckpt, map_location="cpu", weights_only=True).get("train_state")
            except Exception:  # noqa: BLE001 - an unreadable checkpoint: train from scratch instead
                state = None
            if state is not None and state.get("iters") == r["config"]["iters"]:
                found[cfg.run_id] = (r, state)
                break
    return found
