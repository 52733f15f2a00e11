"""Bad input, generated (hypothesis): every public metric function and the command line answer a bad
value with one ValueError line (exit code 2 on the command line), never a traceback, a hang or a wrong
number; extreme but valid input gives finite numbers in their ranges.

Each test counts the cases it tried in ``TRIED``; ``scripts/reliability.sh`` writes the counts and
the outcomes to results/reliability.md (tests/conftest.py)."""
from __future__ import annotations

import io
import json
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ganbench import cli
from ganbench import metrics as M
from ganbench.metrics._checks import MAX_ABS

TRIED: Counter = Counter()  # kind of case -> examples tried, read by tests/conftest.py

GOOD = np.random.default_rng(0).normal(size=(40, 3))
CENTERS = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def _one_line_value_error(call):
    with pytest.raises(ValueError) as info:
        call()
    msg = str(info.value)
    assert msg and "\n" not in msg, f"not one line: {msg!r}"
    return msg


# --- feature arrays -----------------------------------------------------------------------------------

FEATURE_FUNCS = {
    "fid": lambda a, b: M.fid(a, b),
    "kid": lambda a, b: M.kid(a, b, subsets=3, subset_size=10),
    "precision_recall": lambda a, b: M.precision_recall(a, b, k=3),
    "density_coverage": lambda a, b: M.density_coverage(a, b, k=3),
    "prdc": lambda a, b: M.prdc(a, b, k=3),
    "c2st": lambda a, b: M.c2st(a, b),
    "compare": lambda a, b: M.compare(a, b, kid_subsets=3),
    "fid_infinity": lambda a, b: M.fid_infinity(a, b, n_points=3),
    "kmeans_coverage": lambda a, b: M.kmeans_coverage(b, a, n_modes=2),
    "mode_stats": lambda a, b: M.mode_stats(b, CENTERS if a is GOOD else a, std=0.1),
    "feature_stats": lambda a, b: M.feature_stats(b),
    "classifier_score": lambda a, b: M.classifier_score(b),
}


def _with_bad(values):
    a = GOOD[:10].copy()
    a.flat[0] = values
    return a


bad_arrays = st.one_of(
    st.builds(np.float64, st.floats(allow_nan=False)),                           # 0-D
    arrays(np.float64, st.integers(0, 20)),                                       # 1-D
    arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4))),  # 3-D
    st.builds(np.zeros, st.tuples(st.just(0), st.integers(1, 4))),                # no rows
    st.builds(np.zeros, st.tuples(st.integers(1, 10), st.just(0))),               # no columns
    st.sampled_from([np.nan, np.inf, -np.inf]).map(_with_bad),                    # NaN / inf inside
    st.floats(MAX_ABS * 1.01, 1e308).map(_with_bad),                              # beyond the allowed range
    st.lists(st.text(max_size=3), min_size=1, max_size=5).map(lambda s: np.array([s], dtype=object)),
    st.just([[1.0, 2.0], [3.0]]),                                                 # ragged
    arrays(np.complex128, st.tuples(st.integers(2, 10), st.just(3)), elements=st.complex_numbers(max_magnitude=10)),
    st.just(None),
    st.builds(lambda n: GOOD[:n, :2], st.integers(2, 10)),                        # wrong width
)


@settings(max_examples=400)
@given(which=st.sampled_from(sorted(FEATURE_FUNCS)), bad=bad_arrays, side=st.sampled_from(["real", "fake"]))
def test_bad_feature_arrays_are_one_line_value_errors(which, bad, side):
    if which in ("feature_stats", "classifier_score"):
        side = "fake"  # one-argument functions
    a, b = (bad, GOOD) if side == "real" else (GOOD, bad)
    if which == "feature_stats" and isinstance(bad, np.ndarray) and bad.dtype == np.float64 and bad.ndim == 2 \
            and bad.size and np.isfinite(bad).all() and np.abs(bad).max() <= MAX_ABS:
        return  # a narrower array is bad only beside another one
    TRIED["bad feature arrays"] += 1
    _one_line_value_error(lambda: FEATURE_FUNCS[which](a, b))


# --- parameters ---------------------------------------------------------------------------------------

small_bad = st.one_of(st.integers(max_value=0), st.sampled_from([np.nan, np.inf, -np.inf, 2.5, "3", None, True, [3]]))
huge = st.integers(min_value=10**6 + 1, max_value=10**18)
PARAM_CASES = {  # case -> (call, whether a huge whole number is invalid too)
    "prdc k": (lambda v: M.prdc(GOOD, GOOD, k=v), True),
    "precision_recall k": (lambda v: M.precision_recall(GOOD, GOOD, k=v), True),
    "density_coverage k": (lambda v: M.density_coverage(GOOD, GOOD, k=v), True),
    "kid subsets": (lambda v: M.kid(GOOD, GOOD, subsets=v, subset_size=10), True),
    "kid subset_size": (lambda v: M.kid(GOOD, GOOD, subsets=2, subset_size=v), False),  # capped, not refused
    "fid_infinity n_points": (lambda v: M.fid_infinity(GOOD, GOOD, n_points=v), True),
    "fid_infinity min_size": (lambda v: M.fid_infinity(GOOD, GOOD, n_points=3, min_size=v), True),
    "kmeans_coverage n_modes": (lambda v: M.kmeans_coverage(GOOD, GOOD, n_modes=v), True),
    "class_entropy n_classes": (lambda v: M.class_entropy([0, 1], n_classes=v), True),
    "compare kid_subsets": (lambda v: M.compare(GOOD, GOOD, metrics=("kid",), kid_subsets=v), True),
}


@settings(max_examples=300)
@given(case=st.sampled_from(sorted(PARAM_CASES)), value=st.one_of(small_bad, huge))
def test_out_of_range_parameters_are_one_line_value_errors(case, value):
    call, huge_is_bad = PARAM_CASES[case]
    if isinstance(value, int) and not isinstance(value, bool) and value > 10**6 and not huge_is_bad:
        return
    if case == "fid_infinity min_size" and value is None:
        return  # the default
    TRIED["out-of-range parameters"] += 1
    _one_line_value_error(lambda: call(value))


@settings(max_examples=150)
@given(std=st.one_of(st.floats(max_value=0), st.sampled_from([np.nan, np.inf]), st.just("wide")),
       which=st.sampled_from(["std", "threshold"]))
def test_mode_stats_rejects_bad_scales(std, which):
    TRIED["out-of-range parameters"] += 1
    kwargs = {"std": 0.1, "threshold": 3.0, which: std}
    _one_line_value_error(lambda: M.mode_stats(GOOD, CENTERS, **kwargs))


@settings(max_examples=150)
@given(labels=st.one_of(st.lists(st.integers(-5, 20), min_size=1, max_size=10).filter(
           lambda xs: min(xs) < 0 or max(xs) >= 4),
       st.just([]), st.lists(st.floats(allow_nan=True), min_size=1, max_size=5).filter(
           lambda xs: any(not float(x).is_integer() if np.isfinite(x) else True for x in xs)),
       st.just([[0, 1]]), st.just(["a"])))
def test_bad_labels_are_one_line_value_errors(labels):
    TRIED["bad labels"] += 1
    _one_line_value_error(lambda: M.class_entropy(labels, n_classes=4))


# --- extreme but valid input --------------------------------------------------------------------------

valid = st.tuples(st.integers(8, 30), st.integers(1, 4)).flatmap(
    lambda s: st.tuples(arrays(np.float64, s, elements=st.floats(-1e3, 1e3)),
                        arrays(np.float64, s, elements=st.floats(-1e3, 1e3))))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(pair=valid, scale=st.sampled_from([1e-30, 1e-6, 1.0, 1e6, 1e12, MAX_ABS / 1e3]))
def test_extreme_valid_input_gives_finite_numbers_in_range(pair, scale):
    """Constant columns, duplicate rows, tiny and huge magnitudes: finite results in their ranges,
    and FID scales with the square of the features (no overflow, no lost precision)."""
    TRIED["extreme valid arrays"] += 1
    real, fake = pair[0] * scale, pair[1] * scale
    out = M.compare(real, fake, kid_subsets=3)
    if M.mean_pairwise_distance(real) == 0.0:  # no spread in the data: the ratio has nothing to compare with
        assert out.pop("diversity_ratio") is None
    assert all(np.isfinite(v) for v in out.values()), out
    for key in ("precision", "recall", "density", "coverage", "c2st_accuracy", "c2st_p_value"):
        assert out[key] >= 0 and (key == "density" or out[key] <= 1), (key, out[key])
    assert out["fid"] >= -1e-6 * max(1.0, scale ** 2 * 1e6)
    base = M.fid(pair[0], pair[1])
    assert out["fid"] == pytest.approx(base * scale ** 2, rel=1e-5, abs=1e-6 * scale ** 2 * max(1.0, abs(base)))


# --- the command line ---------------------------------------------------------------------------------

RUN_OPTIONS = {
    "--modes": st.one_of(st.integers(-5, 100).map(str), st.text(max_size=4)),
    "--seeds": st.one_of(st.integers(-3, 3).map(str), st.sampled_from(["", "x", "1.5", "nan", "10001", "10" * 20])),
    "--iters": st.one_of(st.integers(-3, 3).map(str), st.sampled_from(["", "1e3", "inf"])),
    "--std": st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.sampled_from(["-0", "x", "1e999"])),
    "--jobs": st.sampled_from(["0", "-1", "two", "1.0"]),
    "--variants": st.sampled_from(["gan", "VANILLA", "", "wgan"]),
    "--layout": st.sampled_from(["circle", "", "blobs"]),
    "--device": st.sampled_from(["gpu", "cuda:99", "tpu", "cpu:x", "mps"]),
    "--executor": st.sampled_from(["dask", "", "RAY"]),
    "--n-eval": st.sampled_from(["0", "-5", "many", "1000001"]),
    "--dataset": st.sampled_from(["cifar", "mnist-fashion", ""]),
    "--arch": st.sampled_from(["resnet", "mlp", "", "dcgan"]),  # dcgan: no image dataset in these grids
    "--data-dir": st.sampled_from(["", "/no/such/dir"]),
}


def _main(argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(options=st.dictionaries(st.sampled_from(sorted(RUN_OPTIONS)), st.none(), min_size=1, max_size=3).flatmap(
    lambda d: st.fixed_dictionaries({k: RUN_OPTIONS[k] for k in d})),
       extra=st.lists(st.sampled_from(["--bogus", "-x", "--seeds", "--out"]), max_size=1))
def test_bad_run_arguments_exit_2_with_one_line(options, extra, tmp_path_factory):
    argv = ["run", "--results", str(tmp_path_factory.getbasetemp() / "fuzz-out"), "--no-progress"]
    for k, v in options.items():
        argv += [k, v]
    argv += extra
    with mock.patch("ganbench.driver.run_grid", side_effect=AssertionError("a bad argument got through")):
        try:
            code, _, err = _main(argv)
        except AssertionError:
            # every generated value is wrong on purpose except a few that are merely unusual
            # ("--modes 8", "--seeds 2", "--std 0.5", "--layout blobs"): those would start training
            code, err = None, ""
    TRIED["command lines"] += 1
    if code is None:
        assert all(_plausible(k, v) for k, v in options.items()) and not extra
        return
    assert code == 2, (argv, err)
    assert err.count("\n") == 1 and err.startswith("ganbench: error: "), (argv, err)


def _plausible(key: str, value: str) -> bool:
    """Values of RUN_OPTIONS that are valid on their own."""
    try:
        if key == "--seeds":
            return 1 <= int(value) <= 10_000
        if key == "--iters":
            return int(value) >= 1
        if key == "--modes":
            return 2 <= int(value) <= 64
        if key == "--std":
            return 0 < float(value) <= 100
    except ValueError:
        return False
    return key == "--layout" and value == "blobs"


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(bad=bad_arrays.filter(lambda a: a is not None), side=st.sampled_from(["real", "fake"]),
       flag=st.sampled_from([[], ["--json"], ["--metrics", "fid"], ["--metrics", "kid", "prdc"]]))
def test_bad_metric_files_exit_2_with_one_line(bad, side, flag, tmp_path):
    good_path, bad_path = tmp_path / "good.npy", tmp_path / "bad.npy"
    np.save(good_path, GOOD)
    np.save(bad_path, np.asarray(bad, dtype=object) if isinstance(bad, list) else bad, allow_pickle=True)
    real, fake = (bad_path, good_path) if side == "real" else (good_path, bad_path)
    TRIED["metric files"] += 1
    code, out, err = _main(["metrics", str(real), str(fake), *flag])
    assert code == 2 and not out, (bad, err)
    assert err.count("\n") == 1 and err.startswith("ganbench: error: "), err


# --- records in runs/ ---------------------------------------------------------------------------------

MISSING = object()
BAD_FIELDS = {  # file name -> (where in the record, the wrong value or MISSING)
    "modes-a-word": (("config", "modes"), "eight"),
    "seed-null": (("config", "seed"), None),
    "std-a-list": (("config", "std"), [0.01]),
    "variant-a-number": (("config", "variant"), 3),
    "metrics-a-list": (("metrics",), [1, 2]),
    "metric-a-word": (("metrics", "n_modes"), "four"),
    "mode-counts-a-number": (("metrics", "mode_counts"), 4),
    "losses-not-numbers": (("losses", "d"), ["high"]),
    "trajectory-short": (("trajectory", "hq_fraction"), []),
    "timings-a-word": (("timings", "train_s"), "fast"),
    "samples-not-points": (("samples",), [1, 2]),
    "centers-3d": (("centers",), [[0, 0, 0]]),
    "status-a-flag": (("status",), True),
    "preset-unknown-budget": (("config", "budget"), "forever"),
    "config-missing": (("config",), MISSING),
    "centers-missing": (("centers",), MISSING),
}


def _with_value(rec: dict, where: tuple, value) -> dict:
    rec = json.loads(json.dumps(rec))
    inner = rec
    for key in where[:-1]:
        inner = inner[key]
    if where == ("config", "budget"):
        inner["preset"] = "pacgan-2d"
    if value is MISSING:
        del inner[where[-1]]
    else:
        inner[where[-1]] = value
    return rec


def test_records_with_fields_of_the_wrong_kind_are_skipped_by_name_and_the_report_is_written(tiny_runs, tmp_path):
    from ganbench.report import main_report
    from ganbench.store import load_records

    src, ids = tiny_runs
    good = json.loads((src / "runs" / f"{ids['mixture']}.json").read_text())
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / f"{ids['mixture']}.json").write_text(json.dumps(good))
    for name, (where, value) in BAD_FIELDS.items():
        (runs / f"{name}.json").write_text(json.dumps(_with_value(good, where, value)))
    TRIED["records of the wrong kind"] += len(BAD_FIELDS)
    warnings: list[str] = []
    assert [r["id"] for r in load_records(tmp_path, warn=warnings.append)] == [ids["mixture"]]
    assert len(warnings) == len(BAD_FIELDS) and all("\n" not in w for w in warnings)
    for name, (where, _) in BAD_FIELDS.items():
        assert any(f"{name}.json: not a" in w and where[-1] in w for w in warnings), name
    err = io.StringIO()
    with redirect_stderr(err):
        report = main_report(tmp_path).read_text()
    assert all(f"{name}.json" in report for name in BAD_FIELDS) and "1 runs" in report
