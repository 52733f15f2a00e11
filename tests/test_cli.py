"""The command line: bad input is one line on stderr, exit code 2, nothing written."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ganbench
from ganbench.cli import main


@pytest.mark.parametrize("args,expect", [
    (["run", "--variants", "nope"], "invalid choice: 'nope' (choose from 'vanilla'"),
    (["run", "--layout", "spiral"], "invalid choice: 'spiral' (choose from 'ring', 'grid', 'blobs'"),
    (["run", "--modes", "1"], "modes must be between 2 and 64, got 1"),
    (["run", "--modes", "65"], "modes must be between 2 and 64, got 65"),
    (["run", "--modes", "four"], "modes must be whole numbers"),
    (["run", "--layout", "blobs", "--modes", "16"], "the blobs layout has at most 9 modes, got 16"),
    (["run", "--seeds", "0"], "seeds must be at least 1, got 0"),
    (["run", "--seeds", "10001"], "seeds must be at most 10,000, got 10,001"),
    (["run", "--n-eval", "1000001"], "n-eval must be at most 1,000,000, got 1,000,001"),
    (["run", "--iters", "0"], "iters must be at least 1, got 0"),
    (["run", "--iters", "-5"], "iters must be at least 1, got -5"),
    (["run", "--std", "inf"], "std must be a positive number"),
    (["run", "--std", "-1"], "std must be a positive number"),
    (["run", "--device", "floppy"], "not a torch device"),
    (["run", "--arch", "dcgan"],
     "arch dcgan is for the image datasets (mnist, stacked-mnist, fashion-mnist) and this grid has none"),
    (["run", "--dataset", "iris", "--arch", "dcgan"], "arch dcgan is for the image datasets"),
    (["run", "--data-dir", "/no/such/dir"], "--data-dir /no/such/dir does not exist"),
    (["run", "--precision", "fp16"], "invalid choice: 'fp16' (choose from 'fp32', 'bf16')"),
    (["run", "--precision", "bf16", "--preset", "tutorial"], "--precision bf16 goes with mixture grids only"),
    (["run", "--precision", "bf16", "--dataset", "iris"], "--precision bf16 goes with mixture grids only"),
    (["run", "--seed", "3"], "unrecognized arguments: --seed 3"),          # no prefix match for --seeds
    (["run", "--dataset", "iris", "--modes", "8"], "with --dataset alone the grid has no mixture"),
    ([], "give a command: run, report, evaluate, metrics, sample, score"),
    (["--bogus"], "unrecognized option --bogus before the command"),
    (["fly"], "invalid choice: 'fly'"),
])
def test_bad_input_is_one_line_and_exit_code_2(args, expect, tmp_path, capsys):
    out = tmp_path / "out"
    assert main([*args, "--results", str(out)] if args and args[0] == "run" else args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ganbench: error: ")
    assert expect in err
    assert not out.exists()


def test_sample_caps_the_number_of_samples(tmp_path, capsys):
    out = tmp_path / "x.csv"
    assert main(["sample", "some-run", "-n", "100000000", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "n must be at most 1,000,000, got 100,000,000" in err and not out.exists()


def test_the_library_has_the_same_limits(tmp_path):
    from ganbench.config import plan_grid
    from ganbench.constants import MAX_N_EVAL, MAX_SAMPLES, MAX_SEEDS
    from ganbench.sampling import sample_run

    with pytest.raises(ValueError, match="seeds must be at most 10,000"):
        plan_grid(["vanilla"], ["ring"], [4], MAX_SEEDS + 1)
    with pytest.raises(ValueError, match="n_eval must be between 1 and 1,000,000"):
        plan_grid(["vanilla"], ["ring"], [4], 1, n_eval=MAX_N_EVAL + 1)
    with pytest.raises(ValueError, match="n must be between 1 and 1,000,000"):
        sample_run(tmp_path, "some-run", MAX_SAMPLES + 1, tmp_path / "x.csv")


def test_an_unwritable_output_dir_is_refused(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    assert main(["run", "--results", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot be created" in err and "is a file" in err


@pytest.fixture
def read_only(monkeypatch):
    """``read_only(folder)`` takes the write permission away; as root, whom permissions do not stop,
    os.access says so instead."""
    folders = []
    access = os.access

    def fake_access(path, mode, *args, **kwargs):
        if mode & os.W_OK and Path(path).absolute() in folders:
            return False
        return access(path, mode, *args, **kwargs)

    def make(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o555)
        folders.append(folder.absolute())
        if os.geteuid() == 0:
            monkeypatch.setattr(os, "access", fake_access)
        return folder

    yield make
    for folder in folders:
        folder.chmod(0o755)


def _one_error_line(capsys, *expect):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ganbench: error: "), err
    for text in expect:
        assert text in err, err


@pytest.mark.parametrize("args", [
    ["run", "--results", ""], ["run", "--data-dir", ""], ["report", "--results", ""], ["sample", "r", "--out", ""],
    ["sample", "r", "--out", "x.csv", "--runs", ""], ["metrics", "", "b.npy"], ["metrics", "a.npy", ""],
])
def test_an_empty_path_is_refused_and_nothing_is_written(args, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # an empty path used to mean the current directory
    assert main(args) == 2
    _one_error_line(capsys, "the path is empty: give ")
    assert not list(tmp_path.iterdir())


def test_unwritable_report_and_sample_outputs_are_one_line(tmp_path, read_only, capsys):
    out = tmp_path / "out"
    (out / "runs").mkdir(parents=True)
    read_only(out)
    assert main(["report", "--results", str(out)]) == 2
    _one_error_line(capsys, f"output directory {out} is not writable")
    assert sorted(p.name for p in out.iterdir()) == ["runs"]
    assert main(["sample", "r", "--out", str(out / "x.csv"), "--results", str(out)]) == 2
    _one_error_line(capsys, f"the folder of {out / 'x.csv'} is not writable")

    (tmp_path / "other" / "runs").mkdir(parents=True)
    (tmp_path / "other" / "tables").write_text("not a folder")
    assert main(["report", "--results", str(tmp_path / "other")]) == 2
    _one_error_line(capsys, "tables is a file, not a directory")
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert main(["sample", "r", "--out", str(afile / "x.csv"), "--results", str(out)]) == 2
    _one_error_line(capsys, f"{afile} is a file, not a directory")
    assert main(["sample", "r", "--out", str(tmp_path), "--results", str(out)]) == 2
    _one_error_line(capsys, "is a directory; give a file name")


def test_a_data_dir_that_cannot_hold_mnist_is_refused(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "afile").write_text("x")
    for name, problem in (("empty", "is empty"), ("afile", "is not a directory"), ("missing", "does not exist")):
        args = ["run", "--dataset", "iris", "--data-dir", str(tmp_path / name), "--results", str(tmp_path / "out")]
        assert main(args) == 2
        _one_error_line(capsys, f"--data-dir {tmp_path / name} {problem}: give the directory holding MNIST/raw/")
    assert not (tmp_path / "out").exists()


def test_sample_takes_the_run_as_an_id_a_file_name_or_a_path_and_writes_the_out_file(tiny_runs, tmp_path, capsys):
    import numpy as np

    results, ids = tiny_runs
    run = ids["mixture"]
    written = []
    for i, (name, folder) in enumerate([(run, "--results"), (f"{run}.json", "--results"),
                                        (str(results / "runs" / f"{run}.json"), "--results"), (run, "--runs")]):
        csv = tmp_path / f"points{i}.csv"
        assert main(["sample", name, "-n", "7", folder, str(results), "--out", str(csv)]) == 0, capsys.readouterr().err
        assert csv.read_text().splitlines()[0] == "x0,x1"
        written.append(np.loadtxt(csv, delimiter=",", skiprows=1))
    assert written[0].shape == (7, 2) and all((w == written[0]).all() for w in written)
    png = tmp_path / "points.png"
    assert main(["sample", ids["conditional"], "--class", "2", "--results", str(results), "--out", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically


def test_sample_writes_iris_in_centimetres_with_the_feature_names(tiny_runs, tmp_path):
    import numpy as np
    from sklearn.datasets import load_iris

    from ganbench.images import iris_setosa, iris_units

    iris = load_iris()
    setosa = iris.data[iris.target == 0]
    assert np.allclose(iris_units(iris_setosa()), setosa, atol=1e-6)
    results, ids = tiny_runs
    csv = tmp_path / "flowers.csv"
    assert main(["sample", ids["iris"], "-n", "100", "--results", str(results), "--out", str(csv)]) == 0
    assert csv.read_text().splitlines()[0] == "sepal_length,sepal_width,petal_length,petal_width"
    x = np.loadtxt(csv, delimiter=",", skiprows=1)
    # G ends in tanh: its [-1, 1] box is the flowers' range, in cm
    assert x.shape == (100, 4) and (x >= setosa.min(0) - 1e-4).all() and (x <= setosa.max(0) + 1e-4).all()


def test_sample_refuses_bad_runs_and_file_types_in_one_line(tiny_runs, tmp_path, capsys):
    import json
    import shutil

    from ganbench.config import RECORD_SCHEMA, dataset_config

    results, ids = tiny_runs
    r = ["--results", str(results)]
    for args, expect in [
        ([ids["iris"], "--out", str(tmp_path / "x.png")], "--out must end in .csv for iris runs"),
        ([ids["mixture"], "--out", str(tmp_path / "x.txt")], "--out must end in .csv or .png for ring runs"),
        (["nope", "--out", str(tmp_path / "x.csv")], f"no run nope in {results / 'runs'}"),
        ([str(tmp_path / "nope.json"), "--out", str(tmp_path / "x.csv")], f"no record file {tmp_path / 'nope.json'}"),
        ([ids["mixture"], "--class", "1", "--out", str(tmp_path / "x.csv")], "--class needs a conditional model"),
    ]:
        assert main(["sample", *args, *r]) == 2
        _one_error_line(capsys, expect)
    broken = tmp_path / "broken.json"
    shutil.copy(results / "runs" / f"{ids['mixture']}.json", broken)
    broken.write_text(broken.read_text().replace('"modes":4', '"modes":"four"'))
    assert main(["sample", str(broken), "--out", str(tmp_path / "x.csv")]) == 2
    _one_error_line(capsys, 'config.modes is "four", not a whole number')
    shutil.copy(results / "runs" / f"{ids['mixture']}.json", broken)
    broken.with_suffix(".pt").write_bytes(b"not a checkpoint")
    assert main(["sample", str(broken), "--out", str(tmp_path / "x.csv")]) == 2
    _one_error_line(capsys, f"{broken.with_suffix('.pt')} is not a checkpoint of run")
    assert not (tmp_path / "x.csv").exists()

    cfg = dataset_config("vanilla", "mnist", 0)
    digits = tmp_path / "digits.json"
    digits.write_text(json.dumps({"schema": RECORD_SCHEMA, "id": cfg.run_id, "status": "ok", **cfg.identity()}))
    digits.with_suffix(".pt").write_bytes(b"")
    assert main(["sample", str(digits), "-n", "20000", "--out", str(tmp_path / "x.png")]) == 2
    _one_error_line(capsys, "n must be at most 10,000 for a grid of images, got 20,000")


def test_report_without_records_says_what_to_do(tmp_path, capsys):
    assert main(["report", "--results", str(tmp_path / "empty")]) == 2
    assert "ganbench run" in capsys.readouterr().err


def test_the_console_entry_point_runs_as_a_module_without_a_traceback():
    done = subprocess.run([sys.executable, "-m", "ganbench", "run", "--modes", "0"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1


def test_version_and_help_answer_without_importing_torch():
    done = subprocess.run([sys.executable, "-m", "ganbench", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == f"ganbench {ganbench.__version__}\n"
    probe = ("import sys\nfrom ganbench import cli\n"
             "for argv in (['--help'], ['run', '--help'], ['sample', '--help'], ['--version']):\n"
             "    try:\n        cli.build_parser().parse_args(argv)\n    except SystemExit as e:\n"
             "        assert e.code == 0, argv\n"
             "print(sorted(m for m in ('torch', 'sklearn', 'scipy', 'pandas') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"


def test_the_driver_of_a_run_never_imports_torch_or_scikit_learn(tmp_path):
    """Only the workers train and evaluate: a driver that imported torch and scikit-learn (~2.5 s here)
    before spawning them, or that unpickled a torch object from their results, delays every run."""
    probe = ("import sys\nfrom ganbench import cli\n"
             f"code = cli.main(['run', '--variants', 'vanilla', '--modes', '4', '--seeds', '2', '--iters', '5', "
             f"'--jobs', '2', '--no-progress', '--no-report', '--results', {str(tmp_path)!r}])\n"
             "print(code, sorted(m for m in ('torch', 'sklearn', 'scipy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "0 []"
    assert len(list((tmp_path / "runs").glob("*.json"))) == 2


def test_the_parsers_names_agree_with_the_registries():
    from ganbench import constants
    from ganbench.archs import IMAGE_ARCHS
    from ganbench.cli_parser import METRICS
    from ganbench.metric_spec import FAMILIES
    from ganbench.metric_spec import METRICS as COLUMNS

    assert tuple(IMAGE_ARCHS) == constants.IMAGE_ARCHS
    assert METRICS == ("fid", "kid", "prdc", "c2st", "diversity")
    # every value a family records has its row (how tables show it, its range), but the auxiliary ones
    assert {k for f in FAMILIES for k in f.keys} - {m.key for m in COLUMNS} == {"kid_std", "c2st_p_value", "diversity"}


def test_a_tiny_grid_end_to_end_through_the_cli(tmp_path, capsys):
    out = tmp_path / "smoke"
    args = ["run", "--variants", "vanilla", "cond-wgan-gp", "--modes", "4", "--seeds", "2", "--iters", "2",
            "--jobs", "1", "--no-progress", "--results", str(out)]
    assert main(args) == 0
    assert len(list((out / "runs").glob("*.json"))) == 4
    assert (out / "REPORT.md").exists() and (out / "tables" / "modes_ring_2.md").exists()
    assert main(args) == 0
    assert "0 trained" in capsys.readouterr().err
    assert main(["report", "--results", str(out)]) == 0


@pytest.mark.parametrize("content,expect", [(b"", "not a readable .npy"), (b"garbage", "not a readable .npy")])
def test_metrics_on_unreadable_files_is_one_line_and_exit_code_2(tmp_path, capsys, content, expect):
    import numpy as np

    bad = tmp_path / "bad.npy"
    bad.write_bytes(content)
    good = tmp_path / "good.npy"
    np.save(good, np.random.default_rng(0).standard_normal((20, 3)))
    assert main(["metrics", str(good), str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expect in err
    corrupt = tmp_path / "stats.npz"
    corrupt.write_bytes(b"PK not really a zip")
    assert main(["metrics", str(corrupt), str(good), "--metrics", "fid"]) == 2
    assert "not a readable .npz" in capsys.readouterr().err


def test_metrics_refuses_complex_values_instead_of_dropping_their_imaginary_part(tmp_path, capsys):
    import numpy as np

    rng = np.random.default_rng(0)
    np.save(tmp_path / "real.npy", rng.standard_normal((20, 3)))
    np.save(tmp_path / "complex.npy", rng.standard_normal((20, 3)) * 1j)
    assert main(["metrics", str(tmp_path / "real.npy"), str(tmp_path / "complex.npy")]) == 2
    _one_error_line(capsys, "holds complex128 values: give an array of real numbers")
    np.savez(tmp_path / "stats.npz", mu=np.zeros(3, complex), sigma=np.eye(3))
    assert main(["metrics", str(tmp_path / "stats.npz"), str(tmp_path / "real.npy"), "--metrics", "fid"]) == 2
    _one_error_line(capsys, "mu must be a numeric array of real-valued numbers")


def test_metrics_cli_prints_json(tmp_path, capsys):
    import json

    import numpy as np

    rng = np.random.default_rng(0)
    np.save(tmp_path / "a.npy", rng.standard_normal((200, 4)))
    np.save(tmp_path / "b.npy", rng.standard_normal((150, 4)) + 1)
    assert main(["metrics", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"fid", "kid_mean", "kid_std", "precision", "recall", "density", "coverage",
                        "c2st_accuracy", "c2st_p_value", "diversity", "diversity_ratio"} and out["fid"] > 0.5


def test_run_with_no_report_leaves_the_report_to_one_later_command(tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["run", "--variants", "vanilla", "--modes", "4", "--seeds", "1", "--iters", "2", "--jobs", "1",
                 "--no-progress", "--no-report", "--results", str(out)]) == 0
    assert (out / "runs").is_dir() and not (out / "REPORT.md").exists()
    assert "report:" not in capsys.readouterr().err
    assert main(["report", "--results", str(out)]) == 0 and (out / "REPORT.md").is_file()


def test_workers_that_cannot_start_end_the_run_with_one_line_and_exit_code_1(tmp_path, monkeypatch, capsys):
    """Not bad input (exit 2) but the environment: one line, exit 1, no report of runs that never ran
    (the executor's side is tests/test_faults.py)."""
    from ganbench import driver
    from ganbench.executors import WorkerStartError

    def no_workers(*args, **kwargs):
        raise WorkerStartError("worker processes could not start (3 in a row)")

    monkeypatch.setattr(driver, "run_grid", no_workers)
    assert main(["run", "--modes", "4", "--seeds", "1", "--iters", "10", "--jobs", "2", "--no-progress",
                 "--results", str(tmp_path / "res")]) == 1
    err = capsys.readouterr().err
    assert err == "ganbench: error: worker processes could not start (3 in a row)\n"
    assert not (tmp_path / "res" / "REPORT.md").exists()


@pytest.mark.parametrize("units, noted", [(False, True), (True, False), (None, False)])
def test_bf16_on_a_cpu_without_bf16_units_says_it_will_be_slow(units, noted, tmp_path, monkeypatch, capsys):
    from ganbench import machine

    monkeypatch.setattr(machine, "has_bf16_units", lambda: units)
    assert main(["run", "--precision", "bf16", "--modes", "4", "--seeds", "1", "--iters", "5", "--jobs", "1",
                 "--no-progress", "--no-report", "--results", str(tmp_path / "res")]) == 0
    err = capsys.readouterr().err
    assert ("no bf16 units (AVX512-BF16 / AMX), so on it --precision bf16 is emulated" in err) == noted


def test_the_cpu_is_read_from_cpuinfo(tmp_path, monkeypatch):
    from ganbench import machine

    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Some CPU 9000\nflags\t\t: fpu sse2 avx2 avx512f\n")
    monkeypatch.setattr(machine, "CPUINFO", info)
    assert machine.cpu_name() == "Some CPU 9000" and machine.has_bf16_units() is False
    info.write_text("model name\t: Other\nflags\t\t: avx512f avx512_bf16\n")
    assert machine.has_bf16_units() is True
    info.write_text("")
    assert machine.has_bf16_units() is None and machine.cpu_name()


@pytest.mark.parametrize("error,expect", [
    (OSError(28, "No space left on device", "/full/REPORT.md"),
     "No space left on device: /full/REPORT.md (free some space or write elsewhere)"),
    (PermissionError(13, "Permission denied", "/theirs/runs/.lock"),
     "Permission denied: /theirs/runs/.lock (choose a folder you can write (--results))"),
    (ConnectionError("could not reach the Ray cluster at auto"), "could not reach the Ray cluster at auto"),
    (OSError(28, "No space left on device"),
     "No space left on device: the output (free some space or write elsewhere)"),
])
def test_an_environment_failure_is_one_line_and_exit_code_1(error, expect, monkeypatch, capsys):
    """Issue 26: the machine saying no (a full disk, another user's store, no Ray) is one line, exit 1."""
    from ganbench import cli

    def fail(args):
        raise error

    monkeypatch.setattr(cli, "cmd_report", fail)
    assert main(["report", "--results", "results"]) == 1
    err = capsys.readouterr().err
    assert err == f"ganbench: error: {expect}\n"


def test_a_closed_pipe_ends_quietly(monkeypatch, capsys):
    from ganbench import cli

    def fail(args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(cli, "cmd_report", fail)
    monkeypatch.setattr(cli.os, "dup2", lambda *a: None)  # pytest's captured stdout has no descriptor to replace
    assert main(["report", "--results", "results"]) == 1
    assert capsys.readouterr().err == ""
