"""One tiny image job end to end through the real command: MNIST from test-made IDX files, the
evaluator trained on them, records with class metrics, checkpoints, samples and the report."""
import json

import numpy as np
import pytest

from ganbench.cli import main
from test_images import fake_digits, write_idx


@pytest.fixture
def mnist_dir(tmp_path, monkeypatch):
    raw = tmp_path / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, n, seed in (("train", 400, 0), ("t10k", 100, 1)):
        x, y = fake_digits(n, seed)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", x)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", y)
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "data"


def test_image_and_iris_jobs_run_end_to_end(mnist_dir, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["run", "--dataset", "mnist", "stacked-mnist", "iris", "--variants", "vanilla", "cond-wgan-gp",
            "--seeds", "1", "--iters", "2", "--n-eval", "60", "--jobs", "1", "--no-progress",
            "--data-dir", str(mnist_dir), "--results", str(out)]
    assert main(args) == 0, capsys.readouterr().err
    records = [json.loads(p.read_text()) for p in (out / "runs").glob("*.json")]
    assert len(records) == 6
    by = {(r["config"]["layout"], r["config"]["variant"]): r for r in records}
    mnist = by[("mnist", "vanilla")]["metrics"]
    assert set(mnist) >= {"modes", "kl_to_uniform", "entropy", "class_histogram", "classifier_score", "fid",
                          "precision", "recall", "density", "coverage", "c2st_accuracy", "evaluator_test_accuracy"}
    assert len(mnist["class_histogram"]) == 10 and sum(mnist["class_histogram"]) == 60
    assert len(by[("stacked-mnist", "vanilla")]["metrics"]["class_histogram"]) == 1000
    assert "fid" in by[("iris", "vanilla")]["metrics"]
    # image runs keep a trajectory of class metrics (here only its final point: the budget is 2), Iris none
    t = by[("mnist", "vanilla")]["trajectory"]
    assert set(t) == {"step", "modes", "kl_to_uniform", "confident_fraction"} and t["step"] == [2]
    assert (t["modes"][-1], t["kl_to_uniform"][-1]) == (mnist["modes"], mnist["kl_to_uniform"])
    assert "trajectory" not in by[("iris", "vanilla")]
    for r in records:  # a checkpoint and a samples file next to every record: images for the figures, all
        assert (out / "runs" / f"{r['id']}.pt").is_file()  # the samples of a table (`ganbench evaluate`)
        with np.load(out / "runs" / f"{r['id']}.samples.npz") as z:
            assert ("samples" in z.files) == (r["config"]["layout"] == "iris") != ("images" in z.files)
    with np.load(out / "runs" / f"{by[('mnist', 'cond-wgan-gp')]['id']}.samples.npz") as z:
        assert z["class_grid"].shape == (100, 1, 28, 28) and z["class_grid"].dtype == np.uint8
        assert z["images"].shape == (25, 1, 28, 28)  # what the 5 x 5 sample grid draws, no more
        assert z["tsne"].shape == (120, 2) and np.isfinite(z["tsne"]).all()  # 60 real, then 60 generated
    with np.load(out / "runs" / f"{by[('stacked-mnist', 'vanilla')]['id']}.samples.npz") as z:
        assert "class_grid" not in z.files and z["tsne"].shape == (120, 2)
    report = (out / "REPORT.md").read_text()
    assert "## mnist" in report and "## stacked-mnist" in report and "## iris" in report
    for fig in ("grids_mnist_2", "class_grids_mnist_2", "tsne_mnist_2", "tsne_stacked-mnist_2"):
        assert f"figures/{fig}.png" in report and (out / "figures" / f"{fig}.png").is_file()

    cond = by[("mnist", "cond-wgan-gp")]["id"]
    png = tmp_path / "sevens.png"
    assert main(["sample", cond, "-n", "16", "--class", "7", "--out", str(png), "--results", str(out)]) == 0
    assert png.stat().st_size > 100
    iris = by[("iris", "vanilla")]["id"]
    csv = tmp_path / "flowers.csv"
    assert main(["sample", iris, "-n", "5", "--out", str(csv), "--results", str(out)]) == 0
    assert np.loadtxt(csv, delimiter=",", skiprows=1).shape == (5, 4)
    capsys.readouterr()
    assert main(["sample", iris, "--class", "1", "--out", str(csv), "--results", str(out)]) == 2
    assert "conditional" in capsys.readouterr().err
    assert main(["sample", "nope", "--out", str(csv), "--results", str(out)]) == 2


def test_the_sanity_gate_calls_noise_untrained_and_the_report_gives_no_count_for_it():
    from ganbench.datasets import sanity_gate
    from ganbench.report_images import _image_section

    real = np.full((100, 1), 0.99)
    assert sanity_gate(np.full((100, 1), 0.95), real)["untrained"] is False
    gate = sanity_gate(np.r_[np.full(40, 0.95), np.full(60, 0.3)][:, None], real)  # 40 % confident < 50 %
    assert gate == {"confident_fraction": 0.4, "real_confident_fraction": 1.0, "untrained": True}

    def rec(seed, untrained, modes):
        return {"config": {"variant": "vanilla", "seed": seed, "arch": "dcgan", "layout": "mnist", "modes": 10},
                "status": "ok",
                "evaluation": {"n_samples": 10}, "id": f"r{seed}",
                "metrics": {"modes": modes, "untrained": untrained, "fid": 1.0, "class_histogram": [1] * 10}}

    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "tables").mkdir(), (Path(d) / "figures").mkdir(), (Path(d) / "runs").mkdir()
        section = _image_section("mnist", 5, [rec(0, True, 10), rec(1, True, 9)], Path(d) / "tables",
                                 Path(d) / "figures")
        table = section.files[Path(d) / "tables" / "mnist_5.md"]
        assert "untrained" in table and "10.0" not in table  # no class count from noise
        section = _image_section("mnist", 5, [rec(0, True, 10), rec(1, False, 7), rec(2, False, 9)],
                                 Path(d) / "tables", Path(d) / "figures")
        assert "8.0 [" in section.files[Path(d) / "tables" / "mnist_5.md"]  # the two trained runs only


def test_the_tutorials_mnist_gan_preset_runs_draws_its_trajectory_and_samples_digits(mnist_dir, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["run", "--preset", "mnist-gan", "--seeds", "1", "--iters", "12", "--jobs", "1", "--no-progress",
            "--data-dir", str(mnist_dir), "--results", str(out)]
    assert main(args) == 0, capsys.readouterr().err
    rec = json.loads(next((out / "runs").glob("*.json")).read_text())
    assert rec["config"]["arch"] == "mnist-mlp" and rec["trajectory"]["step"] == [10, 12]
    text = (out / "REPRODUCTION.md").read_text()
    assert "## `mnist-gan`" in text and "reproduction_mnist-gan_custom-12_trajectory.png" in text
    # 12 iterations are noise: classes withheld, and the confident share says it counts an untrained run
    assert "untrained (1 of 1 runs)" in text and "(n = 1, incl. 1 untrained)" in text
    png = tmp_path / "digits.png"
    assert main(["sample", rec["id"], "-n", "16", "--results", str(out), "--out", str(png)]) == 0 and png.is_file()


def test_fashion_mnist_is_one_file_and_runs_end_to_end(tmp_path, monkeypatch, capsys):
    """A dataset joins through its own module (ganbench/datasets/fashion_mnist.py) and nothing else
    names it; here from test-made files in torchvision's FashionMNIST layout."""
    from pathlib import Path

    import ganbench

    package = Path(ganbench.__file__).parent
    naming = [p.relative_to(package) for p in package.rglob("*.py") if "fashion" in p.read_text().lower()]
    assert naming == [Path("datasets/fashion_mnist.py")]
    raw = tmp_path / "data" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, n, seed in (("train", 300, 2), ("t10k", 100, 3)):
        x, y = fake_digits(n, seed)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", 255 - x)  # not MNIST's images: its own evaluator
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", y)
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    args = ["run", "--dataset", "fashion-mnist", "--variants", "vanilla", "--seeds", "1", "--iters", "2",
            "--n-eval", "60", "--jobs", "1", "--no-progress", "--data-dir", str(tmp_path / "data"),
            "--results", str(out)]
    assert main(args) == 0, capsys.readouterr().err
    (rec,) = [json.loads(p.read_text()) for p in (out / "runs").glob("*.json")]
    assert rec["config"]["layout"] == "fashion-mnist" and len(rec["metrics"]["class_histogram"]) == 10
    assert rec["metrics"]["evaluator_test_accuracy"] > 0.9  # the bars are easy: its own classifier learnt them
    assert "## fashion-mnist, 2 generator iterations" in (out / "REPORT.md").read_text()
    assert "Fashion-MNIST evaluator" in (out / "REPORT.md").read_text()
    assert main([*args[:-2], "--data-dir", str(tmp_path / "cache"), "--results", str(out)]) == 2
    assert "no Fashion-MNIST in torchvision's layout" in capsys.readouterr().err


def test_a_dataset_spec_that_does_not_hold_together_is_refused():
    from ganbench.datasets import DATASETS, DatasetDefaults, register_dataset

    with pytest.raises(ValueError, match="registered already"):
        register_dataset("mnist", DatasetDefaults(10, (1, 28, 28), 784, "dcgan", 100, 10, 10, 1))
    with pytest.raises(ValueError, match="is not data_dim"):
        register_dataset("odd", DatasetDefaults(10, (1, 28, 28), 700, "dcgan", 100, 10, 10, 1))
    with pytest.raises(ValueError, match="channel"):
        register_dataset("odd", DatasetDefaults(100, (2, 28, 28), 2 * 784, "dcgan", 100, 10, 10, 1))
    with pytest.raises(ValueError, match="lowercase"):
        register_dataset("Odd Set", DatasetDefaults(1, None, 4, "mlp", 2, 50, 500, 10, evaluator=False))
    with pytest.raises(ValueError, match="mixture layout"):
        register_dataset("ring", DatasetDefaults(10, (1, 28, 28), 784, "dcgan", 100, 10, 10, 1))
    with pytest.raises(ValueError, match="28 x 28"):
        register_dataset("odd", DatasetDefaults(10, (1, 32, 32), 1024, "dcgan", 100, 10, 10, 1))
    with pytest.raises(ValueError, match="only image datasets"):
        register_dataset("odd", DatasetDefaults(1, None, 4, "mlp", 2, 50, 500, 10, evaluator=False))
    assert "odd" not in DATASETS
