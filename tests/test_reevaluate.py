"""`ganbench evaluate` (ganbench.reevaluate): metrics for finished runs, without training."""
import dataclasses
import json
import shutil

import numpy as np
import pytest

from ganbench import reevaluate
from ganbench.cli import main
from ganbench.metric_spec import BY_FAMILY, SUITE
from ganbench.store import load_records, scatter_points, store_lock

ALL_KEYS = [k for f in SUITE for k in BY_FAMILY[f].keys]


@pytest.fixture
def runs(tiny_runs, tmp_path):
    """A copy of the tiny results folder (evaluate rewrites records), its runs/ and its ids."""
    src, ids = tiny_runs
    out = tmp_path / "results"
    shutil.copytree(src, out)
    return out, out / "runs", ids


def _rec(d, run_id):
    return json.loads((d / f"{run_id}.json").read_text())


def _edit(d, run_id, change):
    rec = _rec(d, run_id)
    change(rec)
    (d / f"{run_id}.json").write_text(json.dumps(rec))


def _as_made_before(d, run_id):
    """Make a run's record as records were before the samples file: its 500 points inside the JSON, no
    diversity, no versions, no samples file or checkpoint beside it."""
    with np.load(d / f"{run_id}.samples.npz") as z:
        points = scatter_points(z["samples"])

    def old_style(rec):
        rec["samples"] = points
        for k in BY_FAMILY["diversity"].keys:
            del rec["metrics"][k]
        del rec["metric_versions"]

    _edit(d, run_id, old_style)
    for suffix in (".samples.npz", ".pt"):
        (d / f"{run_id}{suffix}").unlink()


def test_mixture_and_iris_runs_keep_all_their_evaluation_samples_beside_the_record(runs):
    out, d, ids = runs
    for name, shape in (("mixture", (200, 2)), ("iris", (50, 4))):
        rec = _rec(d, ids[name])
        assert "samples" not in rec  # the scatter points are the file's first ones
        with np.load(d / f"{ids[name]}.samples.npz") as z:
            x = z["samples"]
        assert x.shape == shape and x.dtype == np.float32
        loaded = {r["id"]: r for r in load_records(out)}[ids[name]]
        assert loaded["samples"] == scatter_points(x)
        assert rec["metric_versions"] == {**({"modes": 1} if name != "iris" else {}), **{f: 1 for f in SUITE}}


def test_recomputing_from_the_kept_samples_gives_the_records_numbers_exactly(runs):
    out, d, ids = runs
    before = {name: _rec(d, i)["metrics"] for name, i in ids.items()}
    summary = reevaluate.evaluate_store(out, force=True)
    assert summary.filled["samples"] == 3 and not summary.skipped
    for name, i in ids.items():
        rec = _rec(d, i)
        assert {k: rec["metrics"][k] for k in ALL_KEYS} == {k: before[name][k] for k in ALL_KEYS}
        assert rec["evaluated"]["fid"]["source"] == "samples"
        assert rec["evaluated"]["fid"]["n_samples"] == rec["config"]["n_eval"]


def test_a_metric_a_record_lacks_is_filled_in_without_training_and_the_report_shows_it(runs, capsys):
    out, d, ids = runs
    want = {name: _rec(d, i)["metrics"]["diversity_ratio"] for name, i in ids.items()}

    def drop(rec):
        for k in BY_FAMILY["diversity"].keys:
            del rec["metrics"][k]
        del rec["metric_versions"]["diversity"]

    for i in ids.values():
        _edit(d, i, drop)
    assert main(["evaluate", "--results", str(out), "--metrics", "diversity", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "diversity computed for 3 run(s): 3 from all evaluation samples" in err
    for name, i in ids.items():
        rec = _rec(d, i)
        assert rec["metrics"]["diversity_ratio"] == want[name]
        assert set(rec["evaluated"]) == {"diversity"} and rec["metric_versions"]["diversity"] == 1
    report = (out / "REPORT.md").read_text()
    assert "diversity ratio" in report and "Computed after training (`ganbench evaluate`)" in report
    # nothing left to do: a second call computes nothing
    assert reevaluate.evaluate_store(out, ["diversity"]).filled == {s: 0 for s in reevaluate.SOURCES}


def test_the_checkpoint_gives_the_same_samples_when_the_samples_file_is_gone(runs):
    out, d, ids = runs
    before = _rec(d, ids["conditional"])["metrics"]
    (d / f"{ids['conditional']}.samples.npz").unlink()
    summary = reevaluate.evaluate_store(out, ["fid", "diversity"], force=True)
    assert summary.filled["checkpoint"] == 1
    rec = _rec(d, ids["conditional"])
    assert rec["evaluated"]["fid"]["source"] == "checkpoint"
    assert rec["metrics"]["fid"] == before["fid"] and rec["metrics"]["diversity"] == before["diversity"]


def test_records_made_before_use_their_own_points_say_so_and_never_replace_fuller_values(runs):
    out, d, ids = runs
    i = ids["mixture"]
    before = _rec(d, i)["metrics"]
    _as_made_before(d, i)
    reevaluate.evaluate_store(out, force=True)
    rec = _rec(d, i)
    assert rec["evaluated"] == {"diversity": {**rec["evaluated"]["diversity"], "source": "scatter", "n_samples": 200}}
    assert rec["metrics"]["fid"] == before["fid"]  # computed on all samples at training: kept
    assert rec["metrics"]["diversity_ratio"] == pytest.approx(before["diversity_ratio"], abs=1e-3)


def test_a_newer_version_of_a_metric_is_recomputed_and_recorded(runs, monkeypatch):
    out, d, ids = runs
    monkeypatch.setitem(reevaluate.BY_FAMILY, "diversity", dataclasses.replace(BY_FAMILY["diversity"], version=2))
    summary = reevaluate.evaluate_store(out)
    assert summary.filled["samples"] == 3
    for i in ids.values():
        rec = _rec(d, i)
        assert set(rec["evaluated"]) == {"diversity"} and rec["metric_versions"]["diversity"] == 2


def test_bad_calls_are_one_line_and_exit_2(runs, tmp_path, capsys):
    out, d, ids = runs
    assert main(["evaluate", "--results", str(tmp_path / "none")]) == 2
    assert "no run records" in capsys.readouterr().err
    assert main(["evaluate", "--results", str(out), "--metrics", "vendi"]) == 2
    assert "invalid choice: 'vendi'" in capsys.readouterr().err
    with store_lock(out):
        assert main(["evaluate", "--results", str(out), "--no-report"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "another ganbench run" in err


def test_a_torn_samples_file_is_named_and_passed_over_for_the_checkpoint(runs):
    out, d, ids = runs
    i = ids["mixture"]
    before = _rec(d, i)["metrics"]["fid"]
    npz = d / f"{i}.samples.npz"
    npz.write_bytes(npz.read_bytes()[: len(npz.read_bytes()) // 2])  # a BadZipFile, not an OSError
    warned = []
    loaded = {r["id"]: r for r in load_records(out, warn=warned.append)}
    assert "samples" not in loaded[i] and any("unreadable" in w and str(npz) in w for w in warned)
    summary = reevaluate.evaluate_store(out, ["fid"], force=True)
    assert summary.filled["checkpoint"] == 1 and _rec(d, i)["metrics"]["fid"] == before


def test_values_are_never_taken_back_to_an_older_version(runs, monkeypatch):
    out, d, ids = runs
    _edit(d, ids["iris"], lambda rec: rec["metric_versions"].update(diversity=3))  # made by a newer ganbench
    reevaluate.evaluate_store(out, ["diversity"], force=True)
    assert "evaluated" not in _rec(d, ids["iris"]) and "evaluated" in _rec(d, ids["mixture"])


def test_a_new_version_reaches_values_that_evaluate_made_from_the_records_points(runs, monkeypatch):
    out, d, ids = runs
    i = ids["mixture"]
    _as_made_before(d, i)
    reevaluate.evaluate_store(out, ["diversity"])
    monkeypatch.setitem(reevaluate.BY_FAMILY, "diversity", dataclasses.replace(BY_FAMILY["diversity"], version=2))
    summary = reevaluate.evaluate_store(out, ["diversity"])
    assert summary.filled["scatter"] == 1 and _rec(d, i)["evaluated"]["diversity"]["version"] == 2
