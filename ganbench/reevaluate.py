"""``ganbench evaluate``: compute metrics of the metrics layer for finished runs, without training.

A run's samples come from the best source it kept (``SOURCES``, best first): all its evaluation
samples in ``<id>.samples.npz`` (mixture and table runs made since these files exist), its generator
rebuilt from its checkpoint ``<id>.pt`` (the same samples, from the seed's evaluation stream), or the
``N_SCATTER`` points the record itself holds to 4 decimals (mixture and table runs made before).
Each value computed is written into the record with its provenance (``evaluated``: source, sample
count, metric version) and the record's ``metric_versions``; the real side is the run's own data, as
at training. A value is only ever replaced by one of the same version or newer from at least as many
samples. Records are rewritten atomically under the store's lock."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from ganbench import __version__
from ganbench.datasets import DATASETS
from ganbench.metric_spec import BY_FAMILY, FAMILY_OF, SUITE
from ganbench.store import (
    N_SCATTER,
    _read_record,
    current_records,
    kept_samples,
    record_config,
    record_problem,
    runs_dir,
    store_lock,
    write_json_atomic,
)

SOURCES = {
    "samples": "all evaluation samples (<id>.samples.npz)",
    "checkpoint": "the evaluation samples again, from the checkpoint (<id>.pt)",
    "scatter": f"the record's first {N_SCATTER} samples, to 4 decimals",
}


@dataclass
class Summary:
    """What ``evaluate_store`` did: runs filled per source, and runs it could not fill, by reason."""

    filled: dict[str, int]
    skipped: dict[str, int]

    def skip(self, why: str) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + 1

    def lines(self, families) -> list[str]:
        done = sum(self.filled.values())
        out = [f"evaluate: {', '.join(families)} computed for {done:,} run(s)"
               + (": " + "; ".join(f"{n:,} from {SOURCES[s]}" for s, n in self.filled.items() if n) if done else "")]
        out += [f"evaluate: {n:,} run(s) left as they are: {why}" for why, n in self.skipped.items()]
        return out


def provenance_note(recs: list[dict], key: str) -> str:
    """A report table's note on its values of ``key`` that ``ganbench evaluate`` computed after training
    (how many, from which samples); "" when every one was computed as its run finished."""
    family = FAMILY_OF.get(key)
    valued = [r for r in recs if (r.get("metrics") or {}).get(key) is not None]
    late: dict[str, int] = {}
    for r in valued:
        source = ((r.get("evaluated") or {}).get(family) or {}).get("source")
        if source:
            late[source] = late.get(source, 0) + 1
    if not late:
        return ""
    return (f"Computed after training (`ganbench evaluate`) for {sum(late.values())} of {len(valued)} runs: "
            + "; ".join(f"{n} from {SOURCES[s]}" for s, n in late.items()) + ".")


def run_samples(rec: dict, runs: Path) -> tuple[np.ndarray, str] | None:
    """The run's generated samples from its best source (``SOURCES``) that can be read, and which one;
    None if it kept none (a torn or foreign file is passed over for the next source)."""
    try:
        x = kept_samples(runs, rec["id"])
    except ValueError:
        x = None
    if x is not None:
        return x, "samples"
    ckpt = runs / f"{rec['id']}.pt"
    if ckpt.is_file():
        x = _from_checkpoint(rec, ckpt)
        if x is not None:
            return x, "checkpoint"
    if rec.get("samples"):
        return np.asarray([[np.nan if v is None else v for v in row] for row in rec["samples"]],
                          dtype=np.float64), "scatter"
    return None


def _from_checkpoint(rec: dict, ckpt: Path) -> np.ndarray | None:
    """The run's evaluation samples drawn again from its checkpoint, on the kind of device that trained
    it (a CUDA generator's stream differs from the CPU's); None where that cannot be done here."""
    import torch

    from ganbench.sampling import member_generators_for
    from ganbench.train import generate

    device = str((rec.get("timings") or {}).get("device") or "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        return None
    try:
        cfg = record_config(rec).resolved()
        variant, dims = cfg.variant_obj(), cfg.dims()
        G, _ = variant.build(member_generators_for(cfg.seed), dims)
        G.load_state_dict(torch.load(ckpt, map_location="cpu", weights_only=True)["G"])
    except Exception:  # noqa: BLE001 - torn, foreign or another network's
        return None
    G.to(device)
    x, _ = generate(G, [cfg.seed], cfg.n_eval, dims, variant.conditional)  # the stream the run was judged on
    return x[0]


def _wanted(rec: dict, families, force: bool) -> list[str]:
    """The families to compute for ``rec``: those whose values it lacks or has from an older version
    (all of them with ``force``). Diverged runs get no metrics (``ensemble_records``); presets' image
    runs none of the distribution metrics (their published tables have none)."""
    metrics = rec.get("metrics")
    cfg = rec["config"]
    if rec.get("status") != "ok" or not metrics:
        return []
    if cfg.get("layout") in DATASETS and DATASETS[cfg["layout"]].evaluator and cfg.get("preset"):
        return []
    have = rec.get("metric_versions") or {}
    return [f for f in families if have.get(f, 1) <= BY_FAMILY[f].version  # never back to an older version
            and (force or have.get(f, 1) < BY_FAMILY[f].version or not all(k in metrics for k in BY_FAMILY[f].keys))]


def _replaceable(rec: dict, family: str, n: int, source: str) -> bool:
    """Whether values of ``family`` from ``n`` samples of ``source`` may go into ``rec``: where it has
    none; where ``ganbench evaluate`` made them from no more samples; never over the values its run was
    judged on at training from the record's own 4-decimal points."""
    if not all(k in rec["metrics"] for k in BY_FAMILY[family].keys):
        return True
    before = (rec.get("evaluated") or {}).get(family)
    if before is None:
        return source != "scatter"
    return n >= before["n_samples"]


def _compute(rec: dict, x: np.ndarray, families: list[str], data_dir, cache: dict) -> dict:
    """``families``' values for one run's samples ``x`` against its own training data."""
    from ganbench.data import make_mixture
    from ganbench.ensemble_records import KID_SUBSETS, mixture_distribution

    cfg = record_config(rec).resolved()
    if cfg.is_mixture:
        mix = make_mixture(cfg.layout, cfg.modes, seed=cfg.seed, n_train=cfg.n_train, std=cfg.std, scale=cfg.scale)
        return mixture_distribution(x, mix, cfg.seed, metrics=families)
    from ganbench import datasets

    real, _ = datasets.training_data(cfg.layout, cfg.seed, cfg.n_train, data_dir)
    evaluator = None
    if DATASETS[cfg.layout].evaluator:
        if cfg.layout not in cache:
            cache[cfg.layout] = datasets.load_evaluator(data_dir, dataset=cfg.layout)[0]
        evaluator = cache[cfg.layout]
    return datasets.distribution_metrics(cfg.layout, x, real, cfg.seed, KID_SUBSETS, evaluator, metrics=families)


def evaluate_store(out: Path, families=SUITE, force: bool = False, data_dir=None, progress: bool = False,
                   warn: Callable[[str], None] | None = None) -> Summary:
    """Compute ``families`` (names of ``metric_spec.FAMILIES``) for every finished run in ``<out>/runs``
    that lacks them (all, with ``force``) and write them into its record. See the module's docstring."""
    unknown = set(families) - set(SUITE)
    if unknown:
        raise ValueError(f"unknown metric(s) {', '.join(sorted(unknown))}: choose from {', '.join(SUITE)}")
    from tqdm import tqdm

    d = runs_dir(out)
    summary = Summary(filled={s: 0 for s in SOURCES}, skipped={})
    cache: dict = {}
    with store_lock(out):
        paths = sorted(d.glob("*.json"))
        records = {}
        for path in paths:
            rec, problem = _read_record(path)
            if problem is None and "id" in rec and path.stem == rec["id"]:
                records[rec["id"]] = (path, rec)
        current = {r["id"] for r in current_records([r for _, r in records.values()], warn)}
        todo = [(p, r, _wanted(r, families, force)) for p, r in records.values() if r["id"] in current]
        todo = [t for t in todo if t[2]]
        for path, rec, wanted in tqdm(todo, desc="evaluating", unit="run", disable=not progress):
            found = run_samples(rec, d)
            if found is None:
                summary.skip("they kept no samples (no samples file, readable checkpoint or points: re-run them)")
                continue
            x, source = found
            evaluated = rec.get("evaluated") or {}
            wanted = [f for f in wanted if _replaceable(rec, f, len(x), source)]
            if not wanted:
                summary.skip(f"their values came from more or better samples than {SOURCES[source]}")
                continue
            if not np.isfinite(x).all():
                summary.skip("their kept samples are not all finite")
                continue
            from ganbench.ensemble_records import clean_json

            try:
                values = clean_json(_compute(rec, x, wanted, data_dir, cache))
            except ValueError as e:  # a metric refused these samples: say why, go on with the others
                summary.skip(f"a metric refused their samples ({e})")
                continue
            now = datetime.now(timezone.utc).isoformat(timespec="seconds")
            new = {**rec, "metrics": {**rec["metrics"], **values},
                   "metric_versions": {**(rec.get("metric_versions") or {}),
                                       **{f: BY_FAMILY[f].version for f in wanted}},
                   "evaluated": {**evaluated, **{f: {"source": source, "n_samples": len(x),
                                                      "version": BY_FAMILY[f].version, "ganbench": __version__,
                                                      "created": now} for f in wanted}}}
            problem = record_problem(new)
            if problem:  # a value the store would not read back (a plugin's metric that is not a number)
                summary.skip(f"the new values would make the record invalid ({problem})")
                continue
            write_json_atomic(path, new)
            summary.filled[source] += 1
    return summary
