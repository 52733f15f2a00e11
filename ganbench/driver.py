"""The driver: one per output directory. It holds the store's lock, sets corrupt records aside, plans
the pending jobs into ensembles (``ganbench.planner``), hands them to an executor
(``ganbench.executors``: worker processes with one torch thread each, or Ray tasks) and, alone,
writes each finished ensemble's files and records (``ganbench.store``) as they come."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from ganbench import executors
from ganbench.config import RunConfig
from ganbench.eta import eta_lines
from ganbench.executors import MAX_ATTEMPTS
from ganbench.files import write_atomic, write_json_atomic
from ganbench.machine import memory_bytes
from ganbench.planner import ensembles, find_bases, peak_bytes
from ganbench.store import (
    check_writable,
    failed_record,
    finished_ids,
    load_records,
    runs_dir,
    set_aside_corrupt,
    store_lock,
)

EXECUTORS = ("local", "ray")


class Driver:
    """What executors report to: it writes each finished ensemble's files and records (files first,
    so a record always has its checkpoint), counts them and moves the progress bar."""

    def __init__(self, out: Path, counts: dict, bar):
        self.out, self.counts, self.bar = Path(out), counts, bar

    def store(self, results: Sequence[tuple[dict, dict[str, bytes]]]) -> None:
        for rec, files in results:
            base = runs_dir(self.out) / rec["id"]
            for suffix, blob in files.items():
                write_atomic(Path(f"{base}{suffix}"), lambda f, b=blob: f.write(b), binary=True)
            write_json_atomic(Path(f"{base}.json"), rec)
            self.counts["trained"] += 1
            self.counts["diverged"] += rec["status"] == "diverged"
        self.bar.update(len(results))

    def fail(self, group: Sequence[RunConfig], error: str, attempts: int) -> None:
        self.note(f"{_describe(group)} failed {attempts} time(s), recorded as failed: {error}")
        for cfg in group:
            write_json_atomic(runs_dir(self.out) / f"{cfg.run_id}.json", failed_record(cfg, error, attempts))
        self.counts["failed"] += len(group)
        self.bar.update(len(group))

    def failed_attempt(self, group: Sequence[RunConfig], error: str, attempt: int) -> bool:
        """Attempt ``attempt`` of ``group`` failed: True to try again, or, after the last one, record
        its jobs as failed and return False."""
        if attempt >= MAX_ATTEMPTS:
            self.fail(group, error, attempt)
            return False
        self.note(f"attempt {attempt} of {MAX_ATTEMPTS} failed, trying again: {error}")
        return True

    def note(self, msg: str) -> None:
        self.bar.write(f"ganbench: {msg}", file=sys.stderr)


def _note(msg: str) -> None:
    from tqdm import tqdm

    tqdm.write(f"ganbench: {msg}", file=sys.stderr)


def _describe(group: Sequence[RunConfig]) -> str:
    c = group[0]
    return f"{c.variant} on {c.layout} ({len(group)} run(s), seeds {sorted({g.seed for g in group})})"


def run_grid(configs: Sequence[RunConfig], out: Path, jobs: int = 1, device: str | None = None,
             progress: bool = True, data_dir: str | None = None, executor: str = "local",
             address: str | None = None) -> dict:
    """Run every job of ``configs`` that has no finished record in ``out`` yet, on this machine's
    processes (``executor="local"``, ``jobs`` workers) or as Ray tasks (``"ray"``, a local instance
    with ``jobs`` CPUs or the cluster at ``address``). Jobs with ``auto_cap`` set (``--iters auto``)
    train in rounds of doubling budgets until they settle or reach their cap (``ganbench.auto``).
    Returns counts (with ``auto``: how many stopped for each reason, and the rounds, when there are
    such jobs)."""
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}: choose from {', '.join(EXECUTORS)}")
    out = Path(out)
    check_writable(out)
    check_memory(configs, jobs)
    counts = {"total": len(configs), "skipped": 0, "trained": 0, "diverged": 0, "failed": 0, "extended": 0}
    if not configs:
        return counts
    auto = [c for c in configs if c.auto_cap is not None]
    options = dict(jobs=jobs, device=device, progress=progress, data_dir=data_dir, executor=executor,
                   address=address)
    with store_lock(out):
        if not auto:
            counts["skipped"] = _train(configs, out, counts, "runs", **options)
            return counts
        from ganbench.auto import run_auto

        set_aside_corrupt(out, _note)
        done = finished_ids(out)
        plain = [c for c in configs if c.auto_cap is None and c.run_id not in done]
        pending = [c for c in auto if c.run_id not in done]
        counts["skipped"] = len(configs) - len(plain) - len(pending)
        run_auto(pending, plain, out, lambda cs, desc: _train(cs, out, counts, desc, **options), counts,
                 note=_note)
    return counts


MEMORY_SHARE = 0.75  # of this machine's memory, the most a grid may plan to hold at once


def check_memory(configs: Sequence[RunConfig], jobs: int) -> None:
    """ValueError, before anything starts, for a grid whose busiest moment (``jobs`` ensembles at once,
    each holding its training data and evaluated samples) would not fit in this machine's memory."""
    memory = memory_bytes()
    if not memory or not configs:
        return
    peak = peak_bytes(configs, jobs)
    if peak > MEMORY_SHARE * memory:
        largest = max(configs, key=lambda c: c.n_eval * c.dims().data_dim)
        raise ValueError(f"this grid would hold about {peak / 2 ** 30:,.1f} GiB at once ({jobs} worker(s), each "
                         f"with an ensemble's training data and evaluated samples: n-eval {largest.n_eval:,} on "
                         f"{largest.layout}) and this machine has {memory / 2 ** 30:,.1f} GiB (at most "
                         f"{MEMORY_SHARE:.0%} may be planned): lower --n-eval or --jobs")


def _train(configs: Sequence[RunConfig], out: Path, counts: dict, desc: str, jobs: int, device: str | None,
           progress: bool, data_dir: str | None, executor: str, address: str | None) -> int:
    """One pass of the driver, under the store's lock: train the jobs of ``configs`` that have no
    finished record, with a progress bar named ``desc``, adding to ``counts``. Returns how many were
    already done."""
    from tqdm import tqdm

    bar = tqdm(total=len(configs), desc=desc, unit="run", disable=not progress, file=sys.stderr)
    driver = Driver(out, counts, bar)
    try:
        set_aside_corrupt(out, driver.note)
        done = finished_ids(out)
        pending = [c for c in configs if c.run_id not in done]
        skipped = len(configs) - len(pending)
        bar.update(skipped)
        if not pending:
            return skipped
        from ganbench.datasets import load_evaluator, needs_evaluator

        for name in sorted({c.layout for c in pending if needs_evaluator([c.layout])}):
            load_evaluator(data_dir, progress=progress, dataset=name)  # train it once here, not in every worker
        records = load_records(out)
        bases = find_bases(out, pending, records)
        counts["extended"] += len(bases)
        if bases:
            driver.note(f"extending {len(bases)} finished run(s) from their checkpoints")
        groups = ensembles(pending, bases=bases, workers=1 if executor == "local" and jobs <= 1 else jobs)
        starts = {run_id: state["iters"] for run_id, (_, state) in bases.items()}
        for line in eta_lines(pending, records, jobs, len(groups), device, starts):
            driver.note(line)
        if executor == "ray":
            executors.run_ray(groups, driver, jobs, device, data_dir, address)
        elif jobs <= 1:
            executors.run_serial(groups, driver, device, data_dir)
        else:
            executors.run_pool(groups, driver, jobs, device, data_dir)
        return skipped
    finally:
        bar.close()
