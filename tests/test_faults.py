"""Faults: a worker killed mid-grid, an ensemble that raises, a corrupt record, a diverging run and two
runners on one directory. Each ends with every job holding exactly one valid record (or a failed
record saying why), nothing torn, nothing written twice, nothing deleted.

Faults are injected with GANBENCH_FAULT (see ganbench/executors.py)."""
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from ganbench import ensemble_records, executors, store, train
from ganbench.config import RunConfig, plan_grid
from ganbench.driver import run_grid
from ganbench.store import load_records, runs_dir, store_lock
from test_runner import TINY, tiny_grid


def assert_store_complete(out, configs, status="ok"):
    """Every job has exactly one record, every *.json in runs/ parses, no temporary file is left."""
    files = sorted(runs_dir(out).glob("*.json"))
    for f in files:
        json.loads(f.read_text())
    records = load_records(out)
    assert sorted(r["id"] for r in records) == sorted(c.run_id for c in configs)
    assert {r["status"] for r in records} == {status}
    assert not list(runs_dir(out).glob(".*.tmp"))
    return records


def test_a_killed_worker_costs_its_ensemble_one_attempt_and_the_grid_completes(tmp_path, monkeypatch, capsys):
    marker = tmp_path / "killed"
    monkeypatch.setenv("GANBENCH_FAULT", f"kill-once:{marker}")
    configs = tiny_grid()
    counts = run_grid(configs, tmp_path / "out", jobs=2, progress=False)
    assert marker.exists()  # a worker really was SIGKILLed
    err = capsys.readouterr().err  # it had started: an attempt of its ensemble, not a failed start
    assert "attempt 1 of 3 failed" in err and "before it started" not in err
    assert counts["trained"] == len(configs) and counts["failed"] == 0
    assert_store_complete(tmp_path / "out", configs)


def test_a_worker_kept_for_the_next_ensemble_gives_the_records_a_fresh_process_gives(tmp_path):
    """Four ensembles on two workers (each worker trains two, one after another) against each ensemble
    in this process: the same metrics, trajectories and losses, bit for bit."""
    configs = tiny_grid(variants=("vanilla", "wgan-gp", "pacgan", "minibatch"), modes=(4,))
    run_grid(configs, tmp_path / "pool", jobs=2, progress=False)
    run_grid(configs, tmp_path / "serial", jobs=1, progress=False)
    strip = lambda r: {k: v for k, v in r.items() if k not in ("timings", "created")}  # noqa: E731
    pool = {r["id"]: strip(r) for r in load_records(tmp_path / "pool")}
    serial = {r["id"]: strip(r) for r in load_records(tmp_path / "serial")}
    assert len(pool) == 8 and pool == serial


def test_an_ensemble_trains_and_evaluates_with_one_thread_for_torch_blas_and_openmp(monkeypatch):
    """Wherever it runs (here, as with --jobs 1): a pool's worker has one core, and a record must not
    depend on the core count (more threads change FID's last digits and the t-SNE layout of image runs).
    Afterwards this process has its own settings back."""
    from threadpoolctl import threadpool_info, threadpool_limits

    def threads():
        return {p["filepath"]: p["num_threads"] for p in threadpool_info()} | {"torch": torch.get_num_threads()}

    seen = []
    monkeypatch.setattr(ensemble_records, "evaluate_ensemble", lambda *args: seen.append(threads()) or [])
    with threadpool_limits(limits=2):  # two threads before, even on a 1-core machine
        torch.set_num_threads(2)
        before = threads()
        executors.ensemble_task(tiny_grid()[:1], None, None)
        after = threads()
    torch.set_num_threads(1)  # as tests/conftest.py sets it
    assert len(before) > 2 and set(before.values()) == {2}
    assert len(seen) == 1 and seen[0].keys() == before.keys() and set(seen[0].values()) == {1}
    assert after == before


def test_an_ensemble_that_raises_once_is_retried(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GANBENCH_FAULT", f"raise-once:{tmp_path / 'raised'}")
    configs = tiny_grid(variants=("vanilla",), modes=(4,))
    counts = run_grid(configs, tmp_path / "out", progress=False)
    assert counts["trained"] == 2 and counts["failed"] == 0
    assert "attempt 1 of 3 failed, trying again: InjectedFault" in capsys.readouterr().err
    assert_store_complete(tmp_path / "out", configs)


def test_an_ensemble_that_always_raises_is_recorded_failed_the_rest_completes_and_a_rerun_retries_it(
        tmp_path, monkeypatch):
    out = tmp_path / "out"
    configs = tiny_grid()
    monkeypatch.setenv("GANBENCH_FAULT", "raise:wgan-gp")
    counts = run_grid(configs, out, jobs=2, progress=False)
    assert counts["failed"] == 4 and counts["trained"] == 4
    by_status = {}
    for r in load_records(out):
        by_status.setdefault(r["status"], []).append(r)
    assert {r["config"]["variant"] for r in by_status["ok"]} == {"vanilla"}
    assert {r["config"]["variant"] for r in by_status["failed"]} == {"wgan-gp"}
    bad = by_status["failed"][0]
    assert bad["attempts"] == executors.MAX_ATTEMPTS and bad["error"] == "InjectedFault: injected failure for wgan-gp"
    assert bad["metrics"] is None
    from ganbench.report import build_report

    text = build_report(out).read_text()
    assert "4 run(s) failed" in text and "injected failure for wgan-gp" in text
    monkeypatch.delenv("GANBENCH_FAULT")
    counts = run_grid(configs, out, jobs=2, progress=False)
    assert counts == {"total": 8, "skipped": 4, "trained": 4, "diverged": 0, "failed": 0, "extended": 0}
    assert_store_complete(out, configs)


def test_a_corrupt_record_is_reported_by_name_set_aside_and_recomputed(tmp_path, capsys):
    out = tmp_path / "out"
    configs = tiny_grid(variants=("vanilla",), modes=(4,))
    run_grid(configs, out, progress=False)
    victim = runs_dir(out) / f"{configs[0].run_id}.json"
    good = json.loads(victim.read_text())
    torn = victim.read_text()[:100]
    victim.write_text(torn)
    (runs_dir(out) / "garbage.json").write_bytes(b"\x00\xff not json")
    counts = run_grid(configs, out, progress=False)
    err = capsys.readouterr().err
    assert counts["trained"] == 1 and counts["skipped"] == 1
    assert f"set aside {victim}" in err and "garbage.json" in err
    assert (runs_dir(out) / "corrupt" / victim.name).read_text() == torn  # kept, not deleted
    assert (runs_dir(out) / "corrupt" / "garbage.json").exists()
    again = json.loads(victim.read_text())
    assert again["metrics"] == good["metrics"]  # recomputed, the same numbers
    assert_store_complete(out, configs)


def test_a_diverging_run_is_recorded_diverged_and_metrics_never_see_nan(tmp_path, monkeypatch):
    real_train = train.train_ensemble

    def poisoned(*args, **kwargs):
        out = real_train(*args, **kwargs)
        with torch.no_grad():
            for p in out.G.parameters():
                p[1].fill_(float("nan"))  # member 1: NaN weights, although its losses stayed finite
                p[2].fill_(float("inf"))  # member 2: inf weights
        out.diverged_step[3] = 1          # member 3: a NaN loss at step 1, weights untouched
        return out

    seen = []

    def finite_only(metric):
        def check(*arrays, **kwargs):
            for a in arrays:
                assert np.isfinite(np.asarray(a, dtype=float)).all(), f"{metric.__name__} was given NaN or inf"
            seen.append(metric.__name__)
            return metric(*arrays, **kwargs)
        return check

    monkeypatch.setattr(train, "train_ensemble", poisoned)
    for name in ("mode_stats", "coverage_of", "compare_matched"):
        monkeypatch.setattr(ensemble_records, name, finite_only(getattr(ensemble_records, name)))
    configs = [RunConfig(variant="vanilla", layout="ring", modes=4, seed=s, **TINY) for s in range(4)]
    counts = run_grid(configs, tmp_path, progress=False)
    assert counts["diverged"] == 3 and counts["trained"] == 4
    recs = {r["config"]["seed"]: r for r in load_records(tmp_path)}
    assert recs[0]["status"] == "ok" and recs[0]["metrics"]["modes"] >= 0
    for s in (1, 2, 3):
        assert recs[s]["status"] == "diverged" and recs[s]["metrics"] is None
    assert recs[3]["diverged_step"] == 1
    assert seen.count("mode_stats") == 1  # only the healthy run was measured (TINY: no trajectory points)
    from ganbench.report import build_report

    assert "3 run(s) diverged" in build_report(tmp_path).read_text()


CLI = [sys.executable, "-m", "ganbench", "run", "--variants", "vanilla", "--modes", "4", "8", "--seeds", "2",
       "--no-progress"]


def test_a_second_runner_on_a_locked_directory_is_refused_with_one_line(tmp_path):
    out = tmp_path / "out"
    with store_lock(out):
        done = subprocess.run(CLI + ["--iters", "5", "--results", str(out)], capture_output=True, text=True,
                              timeout=300)
        with pytest.raises(store.StoreBusy, match="another ganbench run"):
            run_grid(tiny_grid(), out, progress=False)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "ganbench: error: another ganbench run (pid" in done.stderr
    assert not list(runs_dir(out).glob("*.json"))


def test_two_runners_started_together_write_each_record_once(tmp_path):
    out = tmp_path / "out"
    cmd = CLI + ["--iters", "400", "--jobs", "1", "--results", str(out)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    codes = sorted(rc for rc, _ in results)
    assert codes == [0, 2], results
    assert "another ganbench run" in [err for rc, err in results if rc == 2][0]
    configs = plan_grid(["vanilla"], ["ring"], [4, 8], 2, iters=400)
    assert_store_complete(out, configs)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG and /proc are Linux's")
def test_a_killed_driver_leaves_no_orphan_workers(tmp_path):
    """SIGKILL the driver alone (not its process group): its workers die with it (PR_SET_PDEATHSIG)."""
    out = tmp_path / "out"
    proc = subprocess.Popen(CLI + ["--iters", "3000", "--jobs", "2", "--results", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    children: list[int] = []
    while time.time() < deadline and len(children) < 2:
        time.sleep(0.5)
        children = _children(proc.pid)
    assert children, "no worker started"
    proc.kill()
    proc.wait()
    deadline = time.time() + 30
    while time.time() < deadline and any(_alive(pid) for pid in children):
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in children)


def _children(pid: int) -> list[int]:
    path = f"/proc/{pid}/task/{pid}/children"
    try:
        return [int(x) for x in open(path).read().split()]
    except OSError:
        return []


def _spawned_workers(pid: int) -> list[int]:
    """The multiprocessing workers (spawn_main) among ``pid``'s children."""
    out = []
    for child in _children(pid):
        try:
            cmdline = open(f"/proc/{child}/cmdline", "rb").read()
        except OSError:
            continue
        if b"spawn_main" in cmdline:
            out.append(child)
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"  # a zombie is dead, only not yet reaped
    except OSError:
        return False


def test_ctrl_c_while_workers_start_is_one_line_not_a_traceback_per_worker(tmp_path):
    """Ctrl-C from a terminal reaches the whole process group: the driver stops its workers and
    says one line; the workers (spawned with SIGINT ignored) print nothing, even mid-import."""
    import signal

    cmd = [sys.executable, "-m", "ganbench", "run", "--variants", "vanilla", "wgan-gp", "--modes", "4",
           "--seeds", "2", "--iters", "3000", "--jobs", "2", "--no-progress", "--results", str(tmp_path / "out")]
    # SIGINT at its default in the driver, as in a terminal: a test run started in the background of a
    # non-interactive shell inherits SIGINT ignored, and the driver would rightly keep ignoring it
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # Wait for both workers to exist, then interrupt while they import torch (~1.5 s each): the driver
    # now spawns them at ~0.25 s, so a fixed sleep would land after the imports.
    deadline = time.monotonic() + 60
    while len(_spawned_workers(proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(_spawned_workers(proc.pid)) == 2, "the driver never started its two workers"
    time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert "interrupted; finished runs are saved" in err


def test_workers_that_cannot_start_stop_the_grid_with_one_line_and_record_nothing(tmp_path):
    """A script piped to python (stdin) cannot be re-imported by a spawned worker, so every worker dies
    before it starts: the grid stops after MAX_ATTEMPTS starts, says why, and writes no failed record
    (those would read as the runs' fault and be retried as such)."""
    script = ("from ganbench.config import RunConfig\n"
              "from ganbench.driver import run_grid\n"
              f"cfgs = [RunConfig(variant='vanilla', layout='ring', modes=4, seed=s, iters=20, n_train=1000, "
              f"n_eval=200) for s in range(2)]\n"
              f"run_grid(cfgs, {str(tmp_path / 'out')!r}, jobs=2, progress=False)\n")
    proc = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert proc.returncode != 0
    assert "WorkerStartError: worker processes could not start (3 in a row" in proc.stderr
    assert "failed 3 time(s)" not in proc.stderr
    assert not list(runs_dir(tmp_path / "out").glob("*.json"))


def test_a_worker_that_died_while_idle_is_replaced_not_fatal(tmp_path, monkeypatch):
    """A kept worker killed between ensembles (the OOM killer, kill) breaks at its next submit: the grid
    starts another worker for that ensemble and completes, with no attempt spent and no traceback."""
    from concurrent.futures.process import BrokenProcessPool

    made, died = [], []
    real_worker = executors._new_worker

    class DiesWhenIdle:
        """A real worker whose second ensemble cannot be submitted: the first worker to get a second
        one, once (which worker that is depends on which finishes first)."""

        def __init__(self):
            self.ex, self.ensembles = real_worker(), 0

        def submit(self, fn, *args):
            if fn is executors.ensemble_task:
                self.ensembles += 1
                if self.ensembles > 1 and not died:
                    died.append(self)
                    raise BrokenProcessPool("died while idle")
            return self.ex.submit(fn, *args)

        def shutdown(self, **kwargs):
            self.ex.shutdown(**kwargs)

        @property
        def _processes(self):
            return self.ex._processes

    def new_worker():
        made.append(DiesWhenIdle())
        return made[-1]

    monkeypatch.setattr(executors, "_new_worker", new_worker)
    configs = tiny_grid(variants=("vanilla", "wgan-gp", "pacgan", "minibatch"), modes=(4,))  # 4 ensembles, 2 workers
    counts = run_grid(configs, tmp_path / "out", jobs=2, progress=False)
    assert counts["trained"] == len(configs) and counts["failed"] == 0
    assert len(died) == 1 and died[0].ensembles == 2 and len(made) == 3  # the dead one was replaced once
    assert_store_complete(tmp_path / "out", configs)


@pytest.mark.parametrize("edit", ["deep", "negative modes", "nan hq", "hq above 1"])
def test_a_hand_edited_or_hostile_record_is_named_and_set_aside(tmp_path, edit):
    """Issue 26: JSON nested past Python's parser, a negative number of modes or a NaN / impossible HQ
    would crash the report or move its means; each is a corrupt record, named, never used."""
    out = tmp_path / "out"
    configs = tiny_grid(variants=("vanilla",), modes=(4,))
    run_grid(configs, out, progress=False)
    victim = runs_dir(out) / f"{configs[0].run_id}.json"
    rec = json.loads(victim.read_text())
    if edit == "deep":
        victim.write_text("[" * 100_000 + "]" * 100_000)
    else:
        if edit == "negative modes":
            rec["config"]["modes"] = -3
        else:
            rec["metrics"]["hq_fraction"] = float("nan") if edit == "nan hq" else 1.5
        victim.write_text(json.dumps(rec))  # Python writes NaN as JSON's NaN
    problems = []
    assert victim.stem not in {r["id"] for r in load_records(out, warn=problems.append)}
    assert len(problems) == 1 and victim.name in problems[0]
