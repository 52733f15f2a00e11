"""Issue 26's catalogue: the machine saying no and input that lies. Each case gets one line on stderr
and the right exit code (1: the environment, 2: the input), nothing half-written, or a correct run
where the input was legitimate. Faults are real where this machine allows it (a small tmpfs for a
full or read-only disk, /dev/full, a closed pipe, a symbolic-link loop, no Ray running) and simulated
otherwise. scripts/reliability.sh counts these tests in results/reliability.md."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import numpy as np
import pytest

from ganbench.cli import main
from ganbench.variants import VARIANTS

CLI = [sys.executable, "-m", "ganbench"]
TINY = ["run", "--variants", "vanilla", "--modes", "4", "--seeds", "1", "--iters", "20", "--n-eval", "200",
        "--jobs", "1", "--no-progress"]


def _one_line(capsys, code: int, got: int, *expect: str) -> str:
    err = capsys.readouterr().err
    assert got == code, err
    assert err.count("\n") == 1 and err.startswith("ganbench: error: "), err
    for text in expect:
        assert text in err, err
    return err


def _no_torn_files(folder: Path) -> None:
    """Atomic writes: no temporary file left, and every record has the checkpoint written before it."""
    assert not list(folder.rglob("*.tmp")), list(folder.rglob("*.tmp"))
    for rec in (folder / "runs").glob("*.json"):
        json.loads(rec.read_text())
        assert rec.with_suffix(".pt").is_file()


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB tmpfs under tmp_path (needs root, as CI has): ``.path``, and ``.fill(free_kb)`` to leave that
    much room."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")

    def fill(free_kb: int) -> None:
        stat = os.statvfs(disk)
        room = stat.f_bavail * stat.f_frsize - free_kb * 1024
        (disk / "filler").write_bytes(b"\0" * max(0, room))

    try:
        yield SimpleNamespace(path=disk, fill=fill)
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


# --- a full disk -----------------------------------------------------------------------------------------


def test_a_full_disk_at_the_first_checkpoint_is_one_line_and_leaves_nothing_torn(small_disk, capsys):
    small_disk.fill(40)
    out = small_disk.path / "out"
    _one_line(capsys, 1, main([*TINY, "--results", str(out)]), "No space left on device", str(out / "runs"),
              "free some space")
    _no_torn_files(out)


def test_a_full_disk_while_the_report_is_written_is_one_line(small_disk, capsys):
    out = small_disk.path / "out"
    assert main([*TINY, "--no-report", "--results", str(out)]) == 0
    small_disk.fill(8)
    capsys.readouterr()
    _one_line(capsys, 1, main(["report", "--results", str(out)]), "No space left on device", "free some space")
    _no_torn_files(out)


def test_a_full_disk_while_samples_are_written_is_one_line_and_no_file(small_disk, capsys):
    out = small_disk.path / "out"
    assert main([*TINY, "--no-report", "--results", str(out)]) == 0
    run = next((out / "runs").glob("*.json")).stem
    small_disk.fill(100)
    capsys.readouterr()
    csv = small_disk.path / "points.csv"
    _one_line(capsys, 1, main(["sample", run, "-n", "1000000", "--results", str(out), "--out", str(csv)]),
              "No space left on device", str(csv))
    assert not csv.exists() and not list(small_disk.path.glob("*.tmp"))


def test_a_read_only_store_is_one_line(small_disk, capsys):
    """A store this user cannot write (another user's, or a read-only disk: root may write the first)."""
    out = small_disk.path / "out"
    assert main([*TINY, "--no-report", "--results", str(out)]) == 0
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk.path)], check=True)
    capsys.readouterr()
    # refused up front, as a folder the user cannot write (the user's choice: exit code 2)
    _one_line(capsys, 2, main([*TINY, "--seeds", "2", "--results", str(out)]),
              f"output directory {out} is not writable")
    _one_line(capsys, 2, main(["report", "--results", str(out)]), f"{out} is not writable")


def test_metrics_json_to_a_full_device_is_one_line(tmp_path):
    a = tmp_path / "a.npy"
    np.save(a, np.random.default_rng(0).normal(size=(50, 3)))
    with open("/dev/full", "w") as full:
        done = subprocess.run(CLI + ["metrics", str(a), str(a), "--metrics", "fid", "--json"], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert "No space left on device" in done.stderr


def test_metrics_into_a_closed_pipe_ends_quietly(tmp_path):
    a = tmp_path / "a.npy"
    np.save(a, np.random.default_rng(0).normal(size=(50, 3)))
    done = subprocess.run(["bash", "-c", f"{' '.join(CLI)} metrics {a} {a} --metrics fid --json | head -c 0"],
                          capture_output=True, text=True, timeout=120)
    assert done.stderr == ""


# --- paths the system refuses ------------------------------------------------------------------------------


def test_paths_the_system_refuses_are_one_line(tmp_path, capsys):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    cases = [([*TINY, "--results", "/proc/ganbench-results"], None),
             (["sample", "r", "--results", str(tmp_path), "--out", "/proc/x.csv"], None),
             ([*TINY, "--results", str(loop / "sub")], None),
             ([*TINY, "--results", str(tmp_path / ("x" * 300))], "File name too long")]
    for argv, expect in cases:
        code = main(argv)
        err = capsys.readouterr().err
        assert code in (1, 2) and err.count("\n") == 1 and err.startswith("ganbench: error: "), (argv, err)
        assert expect is None or expect in err, err


def test_a_working_folder_deleted_under_the_command_is_one_line(tmp_path):
    gone = tmp_path / "gone"
    gone.mkdir()
    done = subprocess.run(["bash", "-c", f"cd {gone} && rmdir {gone} && exec {' '.join(CLI)} report"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode in (1, 2) and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("ganbench: error: ")


def test_a_lock_another_user_owns_is_one_line(tmp_path, monkeypatch, capsys):
    """Simulated: root may open any file, so the refusal the other user's lock gives is raised here."""
    from ganbench import store

    real_open = os.open

    def refuse(path, *args, **kwargs):
        if str(path).endswith(".lock"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(store.os, "open", refuse)
    _one_line(capsys, 1, main([*TINY, "--results", str(tmp_path)]), "Permission denied", ".lock",
              "choose a folder you can write")


def test_a_report_whose_target_is_a_folder_is_one_line(tmp_path, capsys):
    assert main([*TINY, "--no-report", "--results", str(tmp_path)]) == 0
    (tmp_path / "REPORT.md").mkdir()
    capsys.readouterr()
    code = main(["report", "--results", str(tmp_path)])
    err = capsys.readouterr().err
    assert code in (1, 2) and err.count("\n") == 1 and "REPORT.md" in err, err


def test_a_cache_that_is_a_file_is_one_line(tmp_path, monkeypatch):
    from ganbench.images import cache_dir

    blocker = tmp_path / "cache"
    blocker.write_text("")
    monkeypatch.setenv("GANBENCH_CACHE", str(blocker))
    with pytest.raises(ValueError, match="GANBENCH_CACHE .* is a file, not a folder"):
        cache_dir()


def test_ray_with_no_cluster_running_is_one_line(tmp_path, capsys):
    pytest.importorskip("ray")
    code = main([*TINY, "--executor", "ray", "--address", "auto", "--results", str(tmp_path)])
    err = capsys.readouterr().err
    assert code in (1, 2) and err.count("\n") == 1 and "Ray" in err, err
    assert not list((tmp_path / "runs").glob("*.json"))


# --- untrusted files ---------------------------------------------------------------------------------------


def _npy_with_header(path: Path, shape: tuple, body: bytes = b"\0" * 80) -> None:
    header = f"{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * (117 - len(header)) + "\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + body)


def test_an_npy_header_is_checked_before_the_array_is_loaded(tmp_path, capsys, monkeypatch):
    good = tmp_path / "good.npy"
    np.save(good, np.random.default_rng(0).normal(size=(50, 3)))
    lying = tmp_path / "lying.npy"
    _npy_with_header(lying, (100_000_000_000, 1))
    _one_line(capsys, 2, main(["metrics", str(good), str(lying)]), "header says (100000000000, 1)", "truncated")
    objects = tmp_path / "objects.npy"
    np.save(objects, np.array([1, "a"], dtype=object), allow_pickle=True)
    _one_line(capsys, 2, main(["metrics", str(good), str(objects)]), "holds object values")
    text = tmp_path / "text.npy"
    np.save(text, np.array(["a", "b"]))
    _one_line(capsys, 2, main(["metrics", str(text), str(good)]), "holds <U1 values")
    # a whole file larger than half the memory: refused from its size, not loaded
    monkeypatch.setattr("ganbench.machine.memory_bytes", lambda: 1000)
    _one_line(capsys, 2, main(["metrics", str(good), str(good)]), "more than half this machine's memory")


def _record(tmp_path: Path) -> tuple[Path, dict]:
    assert main([*TINY, "--no-report", "--results", str(tmp_path)]) == 0
    path = next((tmp_path / "runs").glob("*.json"))
    return path, json.loads(path.read_text())


@pytest.mark.parametrize("field,value,expect", [
    ("hidden", 0, "config.hidden must be between 1 and 8,192, got 0"),
    ("hidden", 100_000_000, "config.hidden must be between 1 and 8,192, got 100,000,000"),
    ("modes", 100_000_000, "config.modes is 100000000, not between 1 and 100,000"),
    ("n_eval", 10 ** 12, "config.n_eval must be between 1 and 1,000,000"),
    ("iters", -1, "config.iters must be between 1 and 10,000,000, got -1"),
])
def test_a_record_with_sizes_past_the_limits_is_named_and_set_aside(field, value, expect, tmp_path, capsys):
    path, rec = _record(tmp_path)
    rec["config"][field] = value
    path.write_text(json.dumps(rec))
    capsys.readouterr()
    assert main(["sample", str(path), "--out", str(tmp_path / "x.csv")]) == 2
    assert expect in capsys.readouterr().err
    assert main(["report", "--results", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert str(path) in err and expect in err


# --- limits that match the machine -------------------------------------------------------------------------


def test_a_grid_past_the_run_cap_is_refused_before_planning(capsys, tmp_path):
    argv = ["run", "--variants", *VARIANTS, "--layout", "ring", "grid", "--modes", *map(str, range(2, 65)),
            "--seeds", "10000", "--results", str(tmp_path)]
    _one_line(capsys, 2, main(argv), "this grid has 10,080,000 runs", "at most 100,000")


def test_n_eval_past_the_machine_memory_is_refused_with_the_size_and_the_limit(capsys, tmp_path, monkeypatch):
    argv = ["run", "--dataset", "iris", "--seeds", "2", "--n-eval", "1000000", "--no-progress",
            "--results", str(tmp_path)]
    monkeypatch.setattr("ganbench.driver.memory_bytes", lambda: 2 ** 30)
    _one_line(capsys, 2, main(argv), "GiB at once", "this machine has 1.0 GiB", "lower --n-eval or --jobs")
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").glob("*.json"))


def test_ten_thousand_seeds_are_planned_in_seconds(tmp_path):
    import time

    from ganbench.config import plan_grid
    from ganbench.driver import check_memory
    from ganbench.planner import ensembles

    start = time.process_time()
    configs = plan_grid(["vanilla"], ["ring"], [4], 10_000, iters=100)
    check_memory(configs, 2)
    groups = ensembles(configs, workers=2)
    assert len(groups) >= 500 and sum(len(g) for g in groups) == 10_000
    assert time.process_time() - start < 30  # linear: ~2 s here; 3 GB and minutes before the cap and the bound


def test_long_work_says_how_long_first_and_warns_past_the_cpu_hours(tmp_path):
    from ganbench.config import plan_grid
    from ganbench.eta import DEFAULT_COST, eta_lines

    configs = plan_grid(["wgan-gp"], ["ring"], [8], 10, iters=1_000_000)
    lines = eta_lines(configs, [], workers=2, groups=2)
    assert lines[0].startswith("10 run(s) to train: about ") and "on 2 worker(s)" in lines[0]
    train_ms, eval_s, _ = DEFAULT_COST[("wgan-gp", "mixture", None)]
    hours = round(10 * (train_ms * 1_000 + eval_s) / 3600)  # 10 runs of a million iterations
    assert lines[1].startswith(f"warning: this is past 24 CPU-hours ({hours})"), lines
    assert eta_lines(configs[:1], [], workers=2, groups=1)[0].endswith("on 1 worker(s)")
    assert eta_lines(plan_grid(["vanilla"], ["ring"], [4], 1, iters=20), [], 2, 1) == []  # a few seconds: quiet


def test_with_no_record_the_eta_goes_by_the_architecture_s_default_cost():
    """An empty results folder: training per iteration and evaluation per run apart, by architecture (the
    Stacked MNIST preset's DCGAN at 10,000 iterations took 81 CPU-minutes; a per-iteration cost that folded
    in the small-D network's 26,000-sample evaluation at 300 iterations said 8.4 CPU-hours)."""
    from ganbench.config import preset_jobs
    from ganbench.eta import DEFAULT_COST, estimate
    from ganbench.presets import PRESETS

    jobs = preset_jobs(PRESETS["stacked-mnist"], "quick", seeds=1, iters=10_000)
    seconds, unknown = estimate(jobs, [])
    assert unknown == 0 and seconds == pytest.approx(sum(
        DEFAULT_COST[(j.variant, "stacked-mnist", "dcgan")][0] * 10 + DEFAULT_COST[(j.variant, "stacked-mnist",
                                                                                     "dcgan")][1] for j in jobs))
    assert 0.5 * 3600 < seconds < 2 * 3600


def test_the_eta_goes_by_the_store_s_own_timings(tmp_path):
    from ganbench.config import plan_grid
    from ganbench.eta import estimate

    config = plan_grid(["vanilla"], ["ring"], [4], 1, iters=1000)[0]
    record = {"config": {**config.identity()["config"], "iters": 500},
              "timings": {"train_s": 20.0, "ensemble_size": 2, "eval_s": 3.0}}
    seconds, unknown = estimate([config], [record])
    assert unknown == 0 and seconds == pytest.approx(10.0 / 500 * 1000 + 3.0)
    assert estimate([config], [record], starts={config.run_id: 800})[0] == pytest.approx(10.0 / 500 * 200 + 3.0)


# --- no silent guesses -------------------------------------------------------------------------------------


def test_the_old_names_of_the_results_folder_still_work_and_say_so(tmp_path, capsys):
    assert main([*TINY, "--no-report", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "ganbench: note: --out is the old name of --results" in err and list((tmp_path / "runs").glob("*.json"))
    assert main(["report", "--out", str(tmp_path)]) == 0 and (tmp_path / "REPORT.md").is_file()
    capsys.readouterr()
    _one_line(capsys, 2, main(["report", "--out", str(tmp_path), "--results", str(tmp_path)]),
              "--out is the old name of --results: give one of them")


@pytest.mark.parametrize("argv,expect", [
    (["--bogus"], "unrecognized option --bogus before the command"),
    (["metrics", "/dev/null", "x.npy"], "is not a regular file"),
    (["metrics", ".", "x.npy"], "is a directory, not an .npy file"),
    (["metrics", "a.npy", "a.npy", "--seed", "-1"], "the seed must be between 0 and 4,294,967,295, got -1"),
    (["sample", "r", "--out", "x.csv", "--seed", "99999999999"], "the seed must be between 0 and 4,294,967,295"),
    (["run", "--iters", "100000000000000000"], "iters must be at most 10,000,000"),
])
def test_one_line_errors_say_what_is_wrong_in_our_words(argv, expect, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "a.npy", np.random.default_rng(0).normal(size=(50, 3)))
    _one_line(capsys, 2, main(argv), expect)


def test_prdc_with_too_few_samples_says_what_its_fixed_k_needs(tmp_path, capsys):
    few = tmp_path / "few.npy"
    np.save(few, np.random.default_rng(0).normal(size=(5, 3)))
    _one_line(capsys, 2, main(["metrics", str(few), str(few), "--metrics", "prdc"]),
              "prdc needs at least 6 real and 4 fake samples", "got 5 real and 5 fake")


def test_run_all_refuses_arguments_that_do_not_apply_before_anything_runs():
    root = Path(__file__).resolve().parents[1]
    for args in (["--out=/x"], ["--iters", "500"], ["--seeds", "2"]):
        done = subprocess.run(["bash", str(root / "run_all.sh"), *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
        assert done.stderr.startswith(f"run_all: error: {args[0]} is not taken"), done.stderr


# --- found by an outside review of the above ---------------------------------------------------------------


def test_more_workers_than_ensembles_never_makes_an_empty_one():
    from ganbench.config import plan_grid
    from ganbench.planner import ensembles

    configs = plan_grid(["vanilla", "wgan-gp"], ["ring"], [4], 2, iters=20)
    for workers in (2, 8, 64):
        groups = ensembles(configs, workers=workers)
        assert all(groups) and sorted(c.run_id for g in groups for c in g) == sorted(c.run_id for c in configs)


def test_many_small_runs_on_many_workers_are_not_refused_for_memory(monkeypatch):
    from ganbench.config import plan_grid
    from ganbench.driver import check_memory
    from ganbench.planner import peak_bytes

    configs = plan_grid(["vanilla"], ["ring"], [4], 18, iters=20)
    assert peak_bytes(configs, 18) < 8 * 2 ** 30  # 18 small processes, not 18 GiB
    monkeypatch.setattr("ganbench.driver.memory_bytes", lambda: 24 * 2 ** 30)
    check_memory(configs, 18)


def test_a_report_that_cannot_be_written_is_refused_before_training_or_after_it_keeps_the_runs(tmp_path, capsys):
    (tmp_path / "tables").write_text("")  # a file where the report's folder goes: refused before training
    _one_line(capsys, 2, main([*TINY, "--results", str(tmp_path)]), "the report's folder", "tables is a file")
    assert not (tmp_path / "runs").exists()
    (tmp_path / "tables").unlink()  # ... and if the report fails after training, the runs are kept

    def fail(results):
        raise ValueError(f"output directory {results / 'tables'} cannot be created")

    from ganbench import report

    with mock.patch.object(report, "main_report", fail):
        code = main([*TINY, "--results", str(tmp_path)])
    err = capsys.readouterr().err.splitlines()
    assert code == 2 and err[-1].startswith("ganbench: error: ") and "the runs are saved" in err[-1], err
    assert len(list((tmp_path / "runs").glob("*.json"))) == 1


def test_a_record_whose_values_are_out_of_range_is_named_and_set_aside_even_with_its_id_recomputed(tmp_path, capsys):
    from ganbench.config import RunConfig

    path, rec = _record(tmp_path)
    for field, value, expect in (("std", -1.0, "config.std must be a positive number up to 100, got -1.0"),
                                 ("scale", 1e308, "config.scale must be a positive number"),
                                 ("precision", "fp8", "config.precision must be one of None, bf16, got 'fp8'")):
        edited = {**rec, "config": {**rec["config"], field: value}}
        edited["id"] = RunConfig(**{k: v for k, v in edited["config"].items()
                                    if k in RunConfig.__dataclass_fields__}).run_id
        path.write_text(json.dumps(edited))
        capsys.readouterr()
        assert main(["report", "--results", str(tmp_path)]) == 0
        err = capsys.readouterr().err
        assert str(path) in err and expect in err, err
        _one_line(capsys, 2, main(["sample", str(path), "--out", str(tmp_path / "x.csv")]), expect)


def test_sample_refuses_a_record_whose_id_is_not_its_config_s(tmp_path, capsys):
    path, rec = _record(tmp_path)
    rec["config"]["std"] = 0.02  # a valid value, but no longer the run the id and checkpoint are of
    path.write_text(json.dumps(rec))
    capsys.readouterr()
    _one_line(capsys, 2, main(["sample", str(path), "--out", str(tmp_path / "x.csv")]), "its id is not its config's")
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("argv,expect", [
    (["run", "--jobs", "99999999999999999999"], "jobs must be at most 4,096"),
    (["run", "--variants", "minibatch", "--set", "kernel_dim=100000000"], "kernel_dim must be at most 1,024"),
    (["run", "--variants", "wgan-gp", "--set", "n_critic=100000000"], "n_critic must be at most 100"),
    (["metrics", "a.npy", "a.npy", "--seed", "9" * 3000], "got 99999999999999999999... (3000 digits)"),
])
def test_limits_found_by_the_review(argv, expect, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "a.npy", np.random.default_rng(0).normal(size=(50, 3)))
    err = _one_line(capsys, 2, main(argv), expect)
    assert len(err) < 300


def test_npy_headers_numpy_cannot_read_or_that_hide_data_are_refused(tmp_path, capsys):
    good = tmp_path / "good.npy"
    np.save(good, np.random.default_rng(0).normal(size=(50, 3)))
    for shape, expect in (("(True, 4)", "is not a readable .npy array"), ((10 ** 30, 0), "longer than its header says"),
                          ((10, 4), "longer than its header says")):
        bad = tmp_path / "bad.npy"
        _npy_with_header(bad, shape, body=b"\0" * 9600)
        _one_line(capsys, 2, main(["metrics", str(good), str(bad)]), expect)


def test_the_eta_counts_the_quadratic_metrics_of_a_large_n_eval():
    from ganbench.config import plan_grid
    from ganbench.eta import estimate

    iris = plan_grid(["vanilla"], [], [], 1, datasets=["iris"], n_eval=1_000_000)
    assert estimate(iris, [])[0] > 3 * 3600  # PRDC and C2ST over 10^12 pairs: hours, not seconds


@pytest.mark.parametrize("args", [["--jobs"], ["--jobs="], ["--jobs=abc"], ["--jobs", "--device"], ["--jobs", "5000"],
                                  ["--results="], ["--results", "-x"], ["--executor=foo"]])
def test_run_all_checks_the_values_it_passes_on_before_anything_runs(args):
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(["bash", str(root / "run_all.sh"), *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and done.stderr.startswith("run_all: error: "), \
        done.stderr
