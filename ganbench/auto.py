"""``ganbench run --iters auto``: train each run until it settles or reaches a cap, and record where it
stopped. Torch-free; called by the driver (``ganbench.driver.run_grid``) under the store's lock.

An auto job is a ``RunConfig`` with ``auto_cap`` set; its ``iters`` is the *start* budget (so the job's id
hashes both the start and the cap). Round j trains every unfinished job at the concrete budget
``min(start * 2**j, cap)``: a plain ``RunConfig`` (``auto_cap`` None, that ``iters``), an ordinary record
that any later command reuses, extended from the previous round's checkpoint (``planner.find_bases``),
so a round costs only its new iterations. After each round every job's concrete record is judged by
``ganbench.convergence.run_state`` (the report's rule): the job is done when it is *settled* or
*diverged*, or when the budget reached the cap (*cap*); an *untrained* or *changing* run trains on. A
done job gets its auto record (``auto_record``) at once, so an interrupt loses nothing finished, and
re-running the command skips the concrete records already there: it goes on from the last round.
"""
from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

from ganbench.config import RunConfig
from ganbench.convergence import run_state
from ganbench.files import write_atomic, write_json_atomic
from ganbench.store import _read_record, runs_dir

DONE_STATES = ("settled", "diverged")  # run_state values that end an auto job before its cap
COPIED_FILES = (".pt", ".samples.npz")  # files beside the stopping run's record, linked beside the auto record


def budget(job: RunConfig, round_: int) -> int:
    """The concrete budget of ``job`` (an auto job) in round ``round_`` (0 first)."""
    return min(job.iters * 2 ** round_, job.auto_cap)


def concrete(job: RunConfig, round_: int) -> RunConfig:
    """The ordinary job that round ``round_`` of ``job`` trains."""
    return replace(job, iters=budget(job, round_), auto_cap=None)


def auto_record(job: RunConfig, rec: dict, budgets: list[int], reason: str, state: str) -> dict:
    """The record of auto job ``job``: a copy of ``rec`` (the concrete record where it stopped) under the
    job's own id and config (``config.iters`` is the start budget, ``config.auto_cap`` the cap), with
    ``auto``: {"start", "cap", "stopped_at" (the budget of its numbers), "reason" ("settled",
    "diverged" or "cap"), "state" (``run_state`` there), "budgets" (every round's), "run" (the
    concrete record's id)}."""
    return {**rec, "id": job.run_id, **job.identity(),
            "auto": {"start": job.iters, "cap": job.auto_cap, "stopped_at": rec["config"]["iters"],
                     "reason": reason, "state": state, "budgets": list(budgets), "run": rec["id"]},
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def _link(src: Path, dest: Path) -> None:
    """``dest`` becomes ``src``'s content, atomically: a hard link where the file system allows, else a copy."""
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        tmp.unlink(missing_ok=True)
        os.link(src, tmp)
        os.replace(tmp, dest)
    except OSError:
        tmp.unlink(missing_ok=True)
        write_atomic(dest, lambda f: f.write(src.read_bytes()), binary=True)


def write_auto_record(out: Path, job: RunConfig, rec: dict, budgets: list[int], reason: str, state: str) -> dict:
    """Write ``job``'s auto record, its checkpoint (a link to the stopping run's, for ``ganbench sample``)
    first, so that the record always has it. Returns the record."""
    d = runs_dir(out)
    for suffix in COPIED_FILES:
        src = d / f"{rec['id']}{suffix}"
        if src.is_file():
            _link(src, d / f"{job.run_id}{suffix}")
    auto = auto_record(job, rec, budgets, reason, state)
    write_json_atomic(d / f"{job.run_id}.json", auto)
    return auto


MARKERS = ".auto"  # runs/.auto/<auto job id>.json: the auto jobs started, finished or not


def mark_jobs(out: Path, jobs: Sequence[RunConfig]) -> None:
    """Record, before any training, that these auto jobs exist: the report then knows every round record
    belongs to an auto job, and that a grid whose early-settling runs finished first is not complete
    (showing those alone would be a selection on the outcome)."""
    d = runs_dir(out) / MARKERS
    for job in jobs:
        path = d / f"{job.run_id}.json"
        if not path.exists():
            write_json_atomic(path, {"id": job.run_id, "config": job.identity()["config"]})


def round_budgets(job: RunConfig) -> list[int]:
    """Every budget an auto job can train: start, 2 x start, ... up to its cap."""
    out, r = [], 0
    while not out or out[-1] < job.auto_cap:
        out.append(budget(job, r))
        r += 1
    return out


def auto_jobs(out: Path) -> dict[str, RunConfig]:
    """The auto jobs marked in ``out`` (``mark_jobs``), by id; unreadable markers are skipped."""
    import json

    jobs = {}
    for path in sorted((runs_dir(out) / MARKERS).glob("*.json")):
        try:
            cfg = RunConfig(**json.loads(path.read_text())["config"])
        except (OSError, ValueError, TypeError, KeyError):
            continue
        jobs[cfg.run_id] = cfg
    return jobs


def run_auto(jobs: Sequence[RunConfig], plain: Sequence[RunConfig], out: Path,
             train: Callable[[list[RunConfig], str], None], counts: dict,
             note: Callable[[str], None] = lambda msg: None) -> None:
    """Run the auto ``jobs`` (not yet finished) round by round; ``plain`` (ordinary jobs of the same
    command) train with the first round. ``train(configs, description)`` trains those of ``configs``
    that have no finished record (the driver's one pass, with its own progress bar). Each done job's
    auto record is written as soon as its round is judged; ``counts["auto"]`` counts the reasons."""
    active = list(dict.fromkeys(jobs))
    mark_jobs(out, active)
    tally = counts.setdefault("auto", {"settled": 0, "diverged": 0, "cap": 0, "rounds": 0})
    round_ = 0
    while active or (round_ == 0 and plain):
        configs = [concrete(j, round_) for j in active]
        budgets = sorted({c.iters for c in configs})
        desc = f"round {round_ + 1}: {', '.join(f'{b:,}' for b in budgets)} iters" if budgets else "runs"
        train(list(dict.fromkeys([*(plain if round_ == 0 else ()), *configs])), desc)
        tally["rounds"] += bool(active)
        still = []
        for job, cfg in zip(active, configs, strict=True):
            rec, _ = _read_record(runs_dir(out) / f"{cfg.run_id}.json")
            if rec is None or rec["status"] == "failed":  # recorded as failed: the next command tries again
                continue
            state = run_state(rec)
            reason = state if state in DONE_STATES else "cap" if cfg.iters >= job.auto_cap else None
            if reason is None:
                still.append(job)
                continue
            write_auto_record(out, job, rec, [budget(job, r) for r in range(round_ + 1)], reason, state)
            tally[reason] += 1
        if len(still) < len(active):
            note(f"round {round_ + 1}: {len(active) - len(still)} run(s) done, {len(still)} go on")
        active = still
        round_ += 1
