"""The Ray executor: a local Ray instance (2 CPUs) runs tiny grids. Its records are the local
executor's, byte for byte in what matters (same ids, statuses, losses and metrics), a grid half-run
locally finishes on Ray, and Ray's retries end in a failed record, never a lost one."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

ray = pytest.importorskip("ray")  # in the test extra: ./run_tests.sh always has it

from ganbench import cli  # noqa: E402
from ganbench.driver import run_grid  # noqa: E402
from ganbench.store import load_records, runs_dir  # noqa: E402
from test_runner import tiny_grid  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _essentials(out):
    return {r["id"]: (r["status"], r["metrics"], r["losses"]) for r in load_records(out)}


def test_a_grid_on_ray_gives_the_local_executors_records(tmp_path):
    configs = tiny_grid()
    counts = run_grid(configs, tmp_path / "ray", progress=False, executor="ray")
    assert counts == {"total": 8, "skipped": 0, "trained": 8, "diverged": 0, "failed": 0, "extended": 0}
    run_grid(configs, tmp_path / "local", progress=False)
    on_ray = _essentials(tmp_path / "ray")
    assert sorted(on_ray) == sorted(c.run_id for c in configs)
    assert on_ray == _essentials(tmp_path / "local")
    assert len(list(runs_dir(tmp_path / "ray").glob("*.pt"))) == 8  # checkpoints written by the driver


def test_a_grid_half_run_locally_finishes_on_ray(tmp_path):
    run_grid(tiny_grid(seeds=1), tmp_path, progress=False)
    counts = run_grid(tiny_grid(seeds=2), tmp_path, progress=False, executor="ray")
    assert counts["skipped"] == 4 and counts["trained"] == 4
    assert sorted(r["id"] for r in load_records(tmp_path)) == sorted(c.run_id for c in tiny_grid(seeds=2))


def test_a_ray_task_that_keeps_raising_is_retried_then_recorded_failed(tmp_path, monkeypatch):
    monkeypatch.setenv("GANBENCH_FAULT", "raise:wgan-gp")
    counts = run_grid(tiny_grid(), tmp_path, progress=False, executor="ray")
    assert counts["failed"] == 4 and counts["trained"] == 4
    failed = [r for r in load_records(tmp_path) if r["status"] == "failed"]
    assert {r["config"]["variant"] for r in failed} == {"wgan-gp"}
    assert failed[0]["error"] == "InjectedFault: injected failure for wgan-gp"


def test_a_ray_task_whose_worker_dies_is_retried(tmp_path, monkeypatch):
    marker = tmp_path / "killed"
    monkeypatch.setenv("GANBENCH_FAULT", f"kill-once:{marker}")
    counts = run_grid(tiny_grid(), tmp_path / "out", progress=False, executor="ray")
    assert marker.exists()
    assert counts["trained"] == 8 and counts["failed"] == 0
    assert {r["status"] for r in load_records(tmp_path / "out")} == {"ok"}


def test_the_command_runs_on_its_own_local_ray_instance(tmp_path):
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "ganbench", "run", "--executor", "ray", "--variants", "vanilla",
                           "--modes", "4", "--seeds", "2", "--iters", "5", "--jobs", "2", "--no-progress",
                           "--results", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "2 runs: 2 trained" in done.stderr
    assert all(json.loads(p.read_text())["status"] == "ok" for p in runs_dir(out).glob("*.json"))
    assert (out / "REPORT.md").exists()


def test_without_ray_the_command_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    code = cli.main(["run", "--executor", "ray", "--modes", "4", "--seeds", "1", "--results", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "pip install 'ganbench[ray]'" in err


def test_address_without_the_ray_executor_is_a_usage_error(tmp_path, capsys):
    code = cli.main(["run", "--address", "auto", "--modes", "4", "--seeds", "1", "--results", str(tmp_path)])
    assert code == 2 and "--address needs --executor ray" in capsys.readouterr().err


def test_a_killed_driver_on_ray_loses_only_unfinished_jobs(tmp_path):
    """SIGKILL `ganbench run --executor ray` (driver, its Ray instance and workers) mid-grid, then
    re-run it: every job ends up with exactly one valid record. One worker, so the two ensembles
    (vanilla, pacgan: four runs each) finish one after the other and the kill lands between them; with
    two workers both could finish inside one poll (CI saw 8 of 8 done before the kill)."""
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "ganbench", "run", "--executor", "ray", "--variants", "vanilla", "pacgan",
           "--modes", "4", "8", "--seeds", "2", "--iters", "300", "--jobs", "1", "--no-progress", "--results", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 240
    while time.time() < deadline and len(list(runs_dir(out).glob("*.json"))) < 1:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = len(list(runs_dir(out).glob("*.json")))
    assert 1 <= before < 8
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert f"{before} already done" in done.stderr
    records = load_records(out)
    assert len(records) == 8 and len({r["id"] for r in records}) == 8
    assert all(json.loads(p.read_text()) for p in runs_dir(out).glob("*.json"))
