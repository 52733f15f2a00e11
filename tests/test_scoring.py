"""`ganbench score` / `ganbench.score`: a benchmark's protocol on a user's own samples gives the
metrics, keys and numbers a run's record gets for the same samples."""
import json

import numpy as np
import pytest

import ganbench
import ganbench.ensemble_records as ensemble_records
from ganbench.cli import main
from ganbench.config import RunConfig
from ganbench.data import make_mixture
from ganbench.driver import run_grid
from ganbench.store import load_records
from test_datasets import mnist_dir  # noqa: F401 - the fixture
from test_images import fake_digits


def test_a_perfect_ring_captures_every_mode_and_one_point_captures_one():
    ring = make_mixture("ring", 8, seed=5, n_train=2_000).points
    good = ganbench.score(ring, "ring8")
    assert good["status"] == "ok" and good["metrics"]["modes"] == 8 and good["metrics"]["modes_fair"] == 8
    assert good["metrics"]["reverse_kl"] < 0.01 and good["metrics"]["hq_fraction"] > 0.95
    point = ganbench.score(np.tile(ring[:1], (2_000, 1)), "ring8")
    assert point["metrics"]["modes"] == 1 and point["metrics"]["reverse_kl"] == pytest.approx(np.log(8))


def test_the_scores_of_a_runs_own_samples_are_its_records_numbers(tmp_path, monkeypatch):
    seen = {}
    real = ensemble_records.mixture_record_metrics

    def spy(x, mix, centres, seed):
        seen[seed] = x.copy()
        return real(x, mix, centres, seed)

    monkeypatch.setattr(ensemble_records, "mixture_record_metrics", spy)
    cfg = RunConfig(variant="vanilla", layout="grid", modes=9, seed=3, iters=30, n_eval=400, hidden=16, depth=1)
    run_grid([cfg], tmp_path, progress=False)
    rec = next(r for r in load_records(tmp_path) if r["id"] == cfg.run_id)
    out = ganbench.score(seen[3], "grid9", seed=3)
    assert json.loads(json.dumps(out["metrics"])) == rec["metrics"]  # the record's JSON, bit for bit


def test_score_on_the_command_line_reads_npy_npz_and_csv_and_prints_json(tmp_path, capsys):
    ring = make_mixture("ring", 4, seed=1, n_train=500).points
    np.save(tmp_path / "a.npy", ring)
    np.savez(tmp_path / "b.npz", samples=ring)
    np.savetxt(tmp_path / "c.csv", ring, delimiter=",", header="x0,x1", comments="")
    outs = []
    for name in ("a.npy", "b.npz", "c.csv"):
        assert main(["score", str(tmp_path / name), "--benchmark", "ring4", "--json"]) == 0
        outs.append(json.loads(capsys.readouterr().out)["metrics"])
    assert outs[0] == outs[1] and outs[0]["modes"] == 4
    assert outs[2]["modes"] == 4  # the CSV holds the points as text: the same modes, other last digits
    assert main(["score", str(tmp_path / "a.npy"), "--benchmark", "ring4"]) == 0
    assert "| modes " in capsys.readouterr().out


@pytest.mark.parametrize("args,message", [
    (["--benchmark", "ring99"], "modes must be between 2 and 64"),
    (["--benchmark", "spiral8"], "unknown benchmark 'spiral8'"),
    (["--benchmark", "mnist", "--std", "0.1"], "std and scale apply to 2-D mixtures"),
    (["--benchmark", "iris"], "iris samples must be rows of its 4 features"),
    (["--benchmark", "mnist"], "mnist samples must be 1 x 28 x 28 images"),
])
def test_bad_benchmarks_and_samples_are_one_line_and_exit_code_2(tmp_path, capsys, args, message):
    np.save(tmp_path / "a.npy", np.zeros((50, 2), np.float32))
    assert main(["score", str(tmp_path / "a.npy"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_non_finite_samples_are_a_diverged_generator_with_no_metrics():
    ring = make_mixture("ring", 8, seed=5, n_train=200).points
    ring[3, 1] = np.inf
    out = ganbench.score(ring, "ring8")
    assert out["status"] == "diverged" and out["metrics"] is None and out["divergence"] == "non-finite samples"


def test_iris_is_scored_from_centimetres_as_sample_writes_them(tiny_runs, tmp_path):
    out_dir, ids = tiny_runs
    csv = tmp_path / "flowers.csv"
    assert main(["sample", ids["iris"], "-n", "60", "--results", str(out_dir), "--out", str(csv)]) == 0
    out = ganbench.score(csv, "iris")
    assert out["status"] == "ok" and {"fid", "precision", "c2st_accuracy"} <= set(out["metrics"])


def test_images_score_the_same_from_a_folder_of_pngs_and_from_an_npz(mnist_dir, tmp_path):  # noqa: F811
    from PIL import Image

    x, _ = fake_digits(40, seed=7)
    folder = tmp_path / "pngs"
    folder.mkdir()
    for i, img in enumerate(x):
        Image.fromarray(img).save(folder / f"{i:03d}.png")
    np.savez(tmp_path / "digits.npz", images=x)
    a = ganbench.score(folder, "mnist", data_dir=str(mnist_dir))
    b = ganbench.score(tmp_path / "digits.npz", "mnist", data_dir=str(mnist_dir))
    assert a["metrics"] == b["metrics"] and a["n_samples"] == 40
    assert {"modes", "kl_to_uniform", "classifier_score", "fid", "confident_fraction"} <= set(a["metrics"])
    with pytest.raises(ValueError, match="looks like \\[0, 1\\]"):
        ganbench.score(x.astype(np.float32) / 255, "mnist", data_dir=str(mnist_dir))


def test_a_sample_with_no_high_quality_point_scores_as_a_record_holds_it(tmp_path, capsys):
    """No sample within 3 SD of a mode: reverse KL has no value (None, as in a record, not NaN), and
    the JSON output says so instead of failing."""
    far = np.random.default_rng(0).normal(0, 0.01, (50, 2)) + 0.5  # between the ring's modes
    out = ganbench.score(far, "ring8")
    assert out["metrics"]["hq_fraction"] == 0 and out["metrics"]["reverse_kl"] is None
    np.save(tmp_path / "far.npy", far)
    assert main(["score", str(tmp_path / "far.npy"), "--benchmark", "ring8", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["metrics"]["reverse_kl"] is None


@pytest.mark.parametrize("samples,kwargs,message", [
    (np.float32(3.0), {}, "a single number"),
    (np.zeros((20, 2)), {"seed": -1}, "seed must be a whole number"),
    (np.zeros((20, 2)), {"seed": 1.5}, "seed must be a whole number"),
    (np.zeros((20, 2)), {"std": "a"}, "std must be a number"),
    (np.zeros((20, 2)), {"benchmark": 8}, "benchmark must be a name"),
])
def test_bad_library_input_is_a_value_error_naming_it(samples, kwargs, message):
    kwargs = {"benchmark": "ring8", **kwargs}
    with pytest.raises(ValueError, match=message):
        ganbench.score(samples, **kwargs)


def test_unreadable_files_are_one_line(tmp_path, capsys):
    (tmp_path / "empty.csv").write_text("x0,x1\n")
    (tmp_path / "junk.npz").write_bytes(b"not a zip at all" * 10)
    np.save(tmp_path / "scalar.npy", np.float64(1.0))
    for name, message in (("empty.csv", "holds no rows"), ("junk.npz", "not a readable .npz archive"),
                          ("scalar.npy", "a single number")):
        assert main(["score", str(tmp_path / name), "--benchmark", "ring8"]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
