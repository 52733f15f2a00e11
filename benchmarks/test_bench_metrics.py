"""FID, KID and PRDC: ganbench against pytorch-fid, torch-fidelity and prdc, same inputs, same answers."""
import pytest
import torch

from benchmarks.conftest import features
from ganbench.metrics import FIDReference, frechet_distance, kid, prdc

pytorch_fid = pytest.importorskip("pytorch_fid.fid_score")
tf_fid = pytest.importorskip("torch_fidelity.metric_fid")
tf_kid = pytest.importorskip("torch_fidelity.metric_kid")
prdc_ref = pytest.importorskip("prdc")


def run(benchmark, impl, fn, rounds=3, warmup_rounds=0):
    benchmark.extra_info["impl"] = impl
    return benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=warmup_rounds)


def _check(value, expected):
    assert value == pytest.approx(expected, rel=1e-6)


# --- FID from statistics: d = 64, 512, 2048 (10,000 vs 10,000 samples) ---------------------------

@pytest.mark.parametrize("d", [64, 512, 2048])
@pytest.mark.parametrize("impl", ["ganbench", "ganbench-cached", "pytorch-fid", "torch-fidelity"])
def test_fid_from_statistics(benchmark, stats_cache, d, impl):
    benchmark.group = f"fid-stats-d{d}"
    # d = 64 takes well under a millisecond and its first call (LAPACK lookups, BLAS threads waking) took
    # up to 10x the others: a warm-up call and more rounds. pytorch-fid's d = 2048 takes ~10 s: one round.
    if d == 64:
        timing = dict(rounds=10, warmup_rounds=1)
    else:
        timing = dict(rounds=1 if d == 2048 and impl == "pytorch-fid" else 3)
    mu1, s1 = stats_cache(10_000, d, 0)
    mu2, s2 = stats_cache(10_000, d, 1, 0.05)
    expected = frechet_distance(mu1, s1, mu2, s2)
    if impl == "ganbench":
        value = run(benchmark, impl, lambda: frechet_distance(mu1, s1, mu2, s2), **timing)
    elif impl == "ganbench-cached":
        ref = FIDReference(mu1, s1)
        _ = ref.factor  # computed once, outside the timing: the reference is reused across fakes
        value = run(benchmark, impl, lambda: ref.frechet_distance(mu2, s2), **timing)
    elif impl == "pytorch-fid":
        value = run(benchmark, impl, lambda: pytorch_fid.calculate_frechet_distance(mu1, s1, mu2, s2),
                    **timing)
    else:
        value = run(benchmark, impl, lambda: tf_fid.fid_statistics_to_metric(
            {"mu": mu1, "sigma": s1}, {"mu": mu2, "sigma": s2}, False)["frechet_inception_distance"], **timing)
    _check(value, expected)


# --- FID with fewer fake samples than dimensions: 1,000 fakes, d = 2048 ----------------------------

@pytest.mark.parametrize("impl", ["ganbench-low-rank", "pytorch-fid"])
def test_fid_low_rank(benchmark, stats_cache, impl):
    benchmark.group = "fid-low-rank-1000-vs-2048d"
    mu1, s1 = stats_cache(10_000, 2048, 0)
    fake = features(1000, 2048, 2, 0.05)
    ref = FIDReference(mu1, s1)
    _ = ref.factor  # factorised outside the timing, as in test_fid
    expected = ref.fid(fake)
    if impl == "ganbench-low-rank":
        value = run(benchmark, "ganbench", lambda: ref.fid(fake))
    else:
        from ganbench.metrics import feature_stats

        def reference():
            mu2, s2 = feature_stats(fake)
            return pytorch_fid.calculate_frechet_distance(mu1, s1, mu2, s2)
        benchmark.extra_info["impl"] = "pytorch-fid"
        try:
            value = benchmark.pedantic(reference, rounds=1, iterations=1)
        except ValueError:  # "Imaginary component": pytorch-fid gives up on a rank-deficient covariance
            return
    assert value == pytest.approx(expected, rel=1e-4)


# --- KID and PRDC -----------------------------------------------------------------------------------

@pytest.mark.parametrize("impl", ["ganbench", "torch-fidelity"])
def test_kid(benchmark, impl):
    benchmark.group = "kid-2000x2000-d256-20-subsets"
    a, b = features(2000, 256, 0), features(2000, 256, 1, 0.05)
    expected = kid(a, b, subsets=20, seed=0)[0]
    if impl == "ganbench":
        value = run(benchmark, impl, lambda: kid(a, b, subsets=20, seed=0)[0])
    else:
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        value = run(benchmark, impl, lambda: tf_kid.kid_features_to_metric(
            ta, tb, kid_subsets=20, kid_subset_size=1000, rng_seed=0, verbose=False)["kernel_inception_distance_mean"])
    assert value == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("impl", ["ganbench", "prdc"])
def test_prdc(benchmark, impl):
    benchmark.group = "prdc-5000x5000-d64"
    a, b = features(5000, 64, 0), features(5000, 64, 1, 0.05)
    if impl == "ganbench":
        value = run(benchmark, impl, lambda: prdc(a, b, k=5))
    else:
        value = run(benchmark, impl, lambda: {k: float(v) for k, v in prdc_ref.compute_prdc(a, b, 5).items()})
    assert value == prdc(a, b, k=5)
