"""Planning: jobs that differ only in seed (and, where the networks allow, modes) are grouped into
ensembles trained together as one batch (``ganbench.train``); a job whose config finished with a
smaller budget continues from that run's checkpoint (``find_bases``). Reads the store, writes nothing."""
from __future__ import annotations

import json
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


class Group(list):
    """One ensemble's jobs (a list of RunConfig); ``bases``: for an extension, per job its base record
    and member training state (``find_bases``), else None."""

    bases: list | None = None


def ensembles(configs: Iterable[RunConfig], max_size: int = MAX_ENSEMBLE,
              bases: dict | None = None, workers: int = 1) -> list[Group]:
    """Group jobs by ensemble key (and, for extensions, the budget they continue from) into ensembles
    of at most ``max_size`` members (fewer where their training data would pass MAX_ENSEMBLE_DATA),
    longest first. ``bases``: run id -> (base record, training state), from ``find_bases``. With
    fewer ensembles than ``workers``, the largest are split until every worker has one (a member's
    result does not depend on its ensemble, so splitting changes no record)."""
    bases = bases or {}

    def start(c: RunConfig) -> int:
        return bases[c.run_id][1]["iters"] if c.run_id in bases else 0

    keyed = sorted(configs, key=lambda c: (repr(c.ensemble_key()), start(c), c.modes, c.seed))
    groups = []
    for _, g in groupby(keyed, key=lambda c: (c.ensemble_key(), start(c))):
        g = list(g)
        per_member = g[0].n_train * g[0].dims().data_dim * 4  # float32
        size = max(1, min(max_size, MAX_ENSEMBLE_DATA // per_member))
        for i in range(0, len(g), size):
            group = Group(g[i:i + size])
            groups.append(group)
    while len(groups) < workers and max(len(g) for g in groups) > 1:
        big = max(groups, key=lambda g: (_cost(g), len(g)))
        groups.remove(big)
        half = (len(big) + 1) // 2
        groups += [Group(big[:half]), Group(big[half:])]
    for group in groups:
        if group[0].run_id in bases:
            group.bases = [bases[c.run_id] for c in group]
    return sorted(groups, key=_cost, reverse=True)


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
            import torch  # here, not above: a driver with no checkpoint to read starts its workers ~1.5 s sooner

            try:
                state = torch.load(ckpt, map_location="cpu", weights_only=True).get("train_state")
            except Exception:  # noqa: BLE001 - an unreadable checkpoint: train from scratch instead
                state = None
            if state is not None and state.get("iters") == r["config"]["iters"]:
                found[cfg.run_id] = (r, state)
                break
    return found
