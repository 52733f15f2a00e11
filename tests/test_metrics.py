"""The metrics layer against the implementations the field uses (pytorch-fid, torch-fidelity, prdc)
and against exact fixtures."""
import math

import numpy as np
import pytest
import torch

from ganbench.metrics import (
    FIDReference,
    c2st,
    class_entropy,
    class_histogram,
    classifier_score,
    density_coverage,
    feature_stats,
    fid,
    fid_infinity,
    frechet_distance,
    kid,
    load_stats,
    prdc,
    precision_recall,
    save_stats,
)

pytorch_fid = pytest.importorskip("pytorch_fid.fid_score")
prdc_ref = pytest.importorskip("prdc")
tf_fid = pytest.importorskip("torch_fidelity.metric_fid")
tf_kid = pytest.importorskip("torch_fidelity.metric_kid")
tf_prc = pytest.importorskip("torch_fidelity.metric_prc")

SHAPES = [(500, 400, 8), (300, 300, 32), (1000, 800, 3), (200, 150, 64)]


def pair(n, m, d, seed=0, shift=0.2, scale=1.1):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, d))
    b = rng.standard_normal((m, d)) @ (np.eye(d) + 0.1 * rng.standard_normal((d, d))) * scale + shift
    return a, b


# --- FID -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n,m,d", SHAPES)
def test_fid_equals_pytorch_fid_and_torch_fidelity(n, m, d):
    a, b = pair(n, m, d)
    mu1, s1 = feature_stats(a)
    mu2, s2 = feature_stats(b)
    ours = frechet_distance(mu1, s1, mu2, s2)
    assert ours == pytest.approx(pytorch_fid.calculate_frechet_distance(mu1, s1, mu2, s2), rel=1e-6)
    ref = tf_fid.fid_statistics_to_metric({"mu": mu1, "sigma": s1}, {"mu": mu2, "sigma": s2}, False)
    assert ours == pytest.approx(ref["frechet_inception_distance"], rel=1e-6)
    assert fid(a, b) == pytest.approx(ours, rel=1e-12)


def test_fid_is_symmetric_and_zero_against_itself():
    a, b = pair(400, 300, 16)
    assert fid(a, b) == pytest.approx(fid(b, a), rel=1e-9)
    assert fid(a, a) == pytest.approx(0.0, abs=1e-9)


def test_feature_stats_use_ddof_1_in_float64():
    a, _ = pair(50, 10, 4)
    mu, sigma = feature_stats(a.astype(np.float32))
    assert mu.dtype == sigma.dtype == np.float64
    np.testing.assert_allclose(sigma, np.cov(a.astype(np.float32), rowvar=False, ddof=1), rtol=1e-6)


def test_identity_covariances_with_unit_mean_shift_give_exactly_d():
    d = 2048
    assert frechet_distance(np.zeros(d), np.eye(d), np.ones(d), np.eye(d)) == pytest.approx(2048.0, rel=1e-12)


def test_compare_gans_singular_2d_fixture_gives_89_0909():
    real = np.ones((100, 2))
    real[:50, 0] = 2
    fake = np.full((100, 2), 9.0)
    fake[50:, 0] = 2
    assert fid(real, fake) == pytest.approx(89.0909, abs=1e-4)


def test_rank_deficient_input_gives_a_finite_fid_where_pytorch_fid_may_raise():
    rng = np.random.default_rng(1)
    d = 64
    a = rng.standard_normal((40, d))          # rank 39 < 64
    b = rng.standard_normal((30, d)) + 0.5    # rank 29 < 64
    value = fid(a, b)
    assert math.isfinite(value) and value > 0
    mu1, s1 = feature_stats(a)
    mu2, s2 = feature_stats(b)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(value, rel=1e-6)
    try:
        ref = pytorch_fid.calculate_frechet_distance(mu1, s1, mu2, s2)
    except ValueError:
        return  # "Imaginary component": the reference gives up here, we do not
    assert value == pytest.approx(ref, rel=1e-4)


@pytest.mark.parametrize("n", [10, 100, 255])
def test_the_low_rank_path_equals_the_full_computation(n):
    rng = np.random.default_rng(n)
    real = rng.standard_normal((2000, 256)) * 0.7
    fake = rng.standard_normal((n, 256)) + 0.1
    full = frechet_distance(*feature_stats(real), *feature_stats(fake))
    assert fid(real, fake) == pytest.approx(full, rel=1e-6)
    assert fid(fake, real) == pytest.approx(full, rel=1e-6)
    assert FIDReference.from_features(real).fid(fake) == pytest.approx(full, rel=1e-6)


def test_a_cached_reference_scores_many_fakes_like_fresh_calls():
    real, fake = pair(600, 500, 24)
    ref = FIDReference.from_features(real)
    for shift in (0.0, 0.3, 1.0):
        assert ref.fid(fake + shift) == pytest.approx(fid(real, fake + shift), rel=1e-9)
    assert fid(ref, fake) == pytest.approx(fid(real, fake), rel=1e-9)


def test_stats_round_trip_through_pytorch_fids_npz_format(tmp_path):
    real, fake = pair(300, 300, 8)
    mu, sigma = feature_stats(real)
    path = tmp_path / "real.npz"
    save_stats(path, mu, sigma)
    with np.load(path) as f:
        assert set(f.files) == {"mu", "sigma"}
    mu2, sigma2 = load_stats(path)
    np.testing.assert_array_equal(mu, mu2)
    assert FIDReference.load(path).fid(fake) == pytest.approx(fid(real, fake), rel=1e-12)
    np.savez(tmp_path / "bad.npz", m=mu)
    with pytest.raises(ValueError, match="'mu' and 'sigma'"):
        load_stats(tmp_path / "bad.npz")


def test_fid_infinity_extrapolates_the_1_over_n_bias():
    rng = np.random.default_rng(0)
    real = rng.standard_normal((5000, 16))
    fake = rng.standard_normal((3000, 16))  # same distribution: FID_inf ~ 0, FID_n > 0
    out = fid_infinity(real, fake, seed=0)
    assert len(out["sizes"]) == 15 and out["slope"] > 0
    assert abs(out["fid_infinity"]) < 0.5 * min(out["fids"])  # the real set's own 1/n bias remains
    assert out["fids"][0] > out["fids"][-1]


# --- KID -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n,m,d", SHAPES[:3])
def test_kid_equals_torch_fidelity_for_the_same_subsets(n, m, d):
    a, b = pair(n, m, d)
    ours = kid(a, b, subsets=20, subset_size=100, seed=3)
    ref = tf_kid.kid_features_to_metric(torch.from_numpy(a), torch.from_numpy(b), kid_subsets=20,
                                        kid_subset_size=100, rng_seed=3, verbose=False)
    assert ours[0] == pytest.approx(ref["kernel_inception_distance_mean"], rel=1e-9)
    assert ours[1] == pytest.approx(ref["kernel_inception_distance_std"], rel=1e-9)


@pytest.mark.parametrize("d,m,shift", [(2, 1000, 0.2), (2, 1000, 0.0), (4, 500, 0.0), (1, 50, 0.3)])
def test_kid_in_few_dimensions_by_explicit_features_equals_torch_fidelity(d, m, shift):
    """2-D mixtures and Iris take the feature-sum path (1 + d + d^2 + d^3 <= subset size): the same
    numbers as the reference's kernel matrices, also where KID is ~0 or negative (one distribution)."""
    from ganbench.metrics.kid import poly_features, polynomial_kernel

    rng = np.random.default_rng(d)
    a, b = rng.standard_normal((2500, d)), rng.standard_normal((2500, d)) * 1.05 + shift
    x, y = a[:7], b[:5]
    np.testing.assert_allclose(poly_features(x) @ poly_features(y).T, polynomial_kernel(x, y), rtol=1e-12)
    ours = kid(a, b, subsets=20, subset_size=m, seed=3)
    ref = tf_kid.kid_features_to_metric(torch.from_numpy(a), torch.from_numpy(b), kid_subsets=20,
                                        kid_subset_size=m, rng_seed=3, verbose=False)
    assert ours[0] == pytest.approx(ref["kernel_inception_distance_mean"], rel=1e-9)
    assert ours[1] == pytest.approx(ref["kernel_inception_distance_std"], rel=1e-9)


def test_kid_is_seeded_and_caps_the_subset_size():
    a, b = pair(120, 80, 4)
    assert kid(a, b, subsets=5, seed=1) == kid(a, b, subsets=5, seed=1)
    assert kid(a, b, subsets=5, seed=1) != kid(a, b, subsets=5, seed=2)
    mean, _ = kid(a, b, subsets=3)  # subset_size 1000 capped at 80
    assert math.isfinite(mean)


def test_kid_near_zero_for_one_distribution_and_positive_for_two():
    rng = np.random.default_rng(0)
    same = kid(rng.standard_normal((600, 8)), rng.standard_normal((600, 8)), subsets=20, subset_size=300)
    diff = kid(rng.standard_normal((600, 8)), rng.standard_normal((600, 8)) + 1, subsets=20, subset_size=300)
    assert abs(same[0]) < 3 * same[1] + 1e-3 and diff[0] > 10 * abs(same[0])


# --- precision / recall / density / coverage ---------------------------------------------------------

@pytest.mark.parametrize("n,m,d", SHAPES)
@pytest.mark.parametrize("k", [3, 5])
def test_prdc_equals_the_prdc_package_exactly(n, m, d, k, capsys):
    a, b = pair(n, m, d)
    ref = prdc_ref.compute_prdc(a, b, nearest_k=k)
    assert prdc(a, b, k=k) == {key: float(v) for key, v in ref.items()}


@pytest.mark.parametrize("n,m,d", SHAPES)
def test_precision_recall_equals_torch_fidelity(n, m, d):
    a, b = pair(n, m, d)
    # torch-fidelity's convention: features_1 is generated, features_2 is real
    ref = tf_prc.prc_features_to_metric(torch.from_numpy(b), torch.from_numpy(a), prc_neighborhood=3,
                                        prc_batch_size=10000, save_cpu_ram=False, verbose=False)
    ours = precision_recall(a, b, k=3)
    assert ours["precision"] == pytest.approx(ref["precision"], abs=1e-6)
    assert ours["recall"] == pytest.approx(ref["recall"], abs=1e-6)


def test_the_suites_one_pass_equals_precision_recall_and_density_coverage_apart(monkeypatch):
    import ganbench.metrics.manifold as mod

    a, b = pair(700, 500, 6)
    apart = {**precision_recall(a, b, k=3), **density_coverage(a, b, k=5)}
    assert mod.manifold_metrics(a, b) == apart
    monkeypatch.setattr(mod, "WORKING_MEMORY_MB", 0.05)  # chunked: still the same
    assert mod.manifold_metrics(a, b) == apart


@pytest.mark.parametrize("with_torch", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_radii_selection_equals_numpy_partition_even_with_ties(with_torch, dtype, monkeypatch):
    """Both ways of selecting (torch.topk where torch is loaded, numpy's partition where it is not)."""
    import sys

    from ganbench.metrics.manifold import _smallest_in_place

    calls = []
    if with_torch:
        real_topk = torch.topk
        monkeypatch.setattr(torch, "topk", lambda *a, **k: calls.append(1) or real_topk(*a, **k))
    else:
        monkeypatch.setitem(sys.modules, "torch", None)
    rng = np.random.default_rng(0)
    for d in (rng.integers(0, 4, (60, 40)).astype(dtype),      # many equal distances
              rng.standard_normal((30, 50)).astype(dtype)):
        for ks in ([3, 5], [0], [3], [0, 39], [39]):
            assert np.array_equal(_smallest_in_place(d.copy(), ks), np.partition(d, ks, axis=1)[:, ks]), ks
    assert bool(calls) == with_torch


def test_chunked_answers_equal_the_full_matrix(monkeypatch):
    import ganbench.metrics.manifold as mod

    a, b = pair(700, 500, 6)
    full = prdc(a, b, k=4)
    monkeypatch.setattr(mod, "WORKING_MEMORY_MB", 0.05)  # ~1 row per chunk
    assert prdc(a, b, k=4) == full


def test_identical_distributions_give_density_near_1_and_coverage_near_1_minus_2_to_minus_k():
    rng = np.random.default_rng(0)
    k = 5
    real, fake = rng.standard_normal((2000, 16)), rng.standard_normal((2000, 16))
    out = density_coverage(real, fake, k=k)
    assert out["density"] == pytest.approx(1.0, abs=0.1)
    assert out["coverage"] == pytest.approx(1 - 2 ** -k, abs=0.03)


# --- C2ST --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("classifier", ["knn", "mlp"])
def test_c2st_cannot_tell_one_distribution_from_itself(classifier):
    rng = np.random.default_rng(0)
    out = c2st(rng.standard_normal((600, 4)), rng.standard_normal((600, 4)), classifier=classifier, seed=0)
    assert abs(out["accuracy"] - 0.5) < 0.08 and out["p_value"] > 0.01 and out["n_test"] == 600


@pytest.mark.parametrize("classifier", ["knn", "mlp"])
def test_c2st_tells_shifted_distributions_apart(classifier):
    rng = np.random.default_rng(0)
    out = c2st(rng.standard_normal((600, 4)), rng.standard_normal((600, 4)) + 2, classifier=classifier)
    assert out["accuracy"] > 0.9 and out["p_value"] < 1e-10


def test_c2st_p_value_follows_the_normal_approximation():
    rng = np.random.default_rng(3)
    out = c2st(rng.standard_normal((400, 2)), rng.standard_normal((300, 2)) + 0.3)
    from scipy.stats import norm

    t, n = out["accuracy"], out["n_test"]
    assert n == 300
    assert out["p_value"] == pytest.approx(1 - norm.cdf((t - 0.5) / math.sqrt(1 / (4 * n))), rel=1e-9)


@pytest.mark.parametrize("n", [30, 31, 200, 5])
def test_c2st_splits_each_class_in_halves_so_the_test_half_is_balanced(n, monkeypatch):
    """Train and test each hold half of the reals and half of the fakes (odd n: the extra point of each
    class trains), so a classifier that always says "real" scores exactly 0.5; k = floor(sqrt(n_train))."""
    import sys

    from sklearn.dummy import DummyClassifier

    c2st_module = sys.modules["ganbench.metrics.c2st"]  # the package's name c2st is the function
    knn = c2st_module._classifier("knn", 2 * ((n + 1) // 2), 0)
    assert knn.n_neighbors == math.isqrt(2 * ((n + 1) // 2))
    seen = []

    def constant(name, n_train, seed):
        seen.append(n_train)
        return DummyClassifier(strategy="constant", constant=0)

    monkeypatch.setattr(c2st_module, "_classifier", constant)
    rng = np.random.default_rng(n)
    for seed in range(5):
        out = c2st(rng.standard_normal((n + 7, 2)), rng.standard_normal((n, 2)), seed=seed)
        assert out["accuracy"] == 0.5 and out["n_test"] == 2 * (n // 2)
    assert seen == [2 * ((n + 1) // 2)] * 5


def test_c2st_is_deterministic_for_a_seed():
    rng = np.random.default_rng(1)
    real, fake = rng.standard_normal((101, 3)), rng.standard_normal((90, 3)) + 0.2
    assert c2st(real, fake, seed=4) == c2st(real, fake, seed=4)


@pytest.mark.parametrize("n, reps", [(30, 800), (200, 300)])
def test_c2st_is_unbiased_and_keeps_its_level_under_h0(n, reps):
    """Seeded Monte Carlo under H0 (real and fake from one 2-D Gaussian), k-NN: the mean accuracy is
    0.5 (within 0.02 and 4 MC standard errors) and the rate of p < 0.05 at most 0.05 + 3 MC standard
    errors. Measured with these seeds: n = 30, mean 0.4994 (se 0.0032), rate 0.045 (bound 0.073);
    n = 200, mean 0.4986 (se 0.0019), rate 0.040 (bound 0.088). With 4,000 repetitions: n = 30, mean
    0.5016, rate 0.049; n = 200, mean 0.5003, rate 0.050. The unstratified split this replaces gave
    n = 30: mean 0.4847, rate 0.037; n = 200: 0.4963, 0.042 (4,000 repetitions; 0.4897 / 0.036 and
    0.4942 / 0.047 with these seeds): its test halves held more of one class, and a k-NN fitted on the
    complement guessed the other one (the balance test above catches that exactly)."""
    rng = np.random.default_rng(2024 + n)
    acc, p = np.empty(reps), np.empty(reps)
    for i in range(reps):
        out = c2st(rng.standard_normal((n, 2)), rng.standard_normal((n, 2)), seed=i)
        acc[i], p[i] = out["accuracy"], out["p_value"]
    se = acc.std(ddof=1) / math.sqrt(reps)
    assert abs(acc.mean() - 0.5) < min(0.02, 4 * se), (acc.mean(), se)
    rate = float(np.mean(p < 0.05))
    assert rate <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / reps), rate


# --- class scores ------------------------------------------------------------------------------------

def test_class_histogram_entropy_and_kl_to_uniform():
    labels = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    np.testing.assert_allclose(class_histogram(labels, 4), [0.25] * 4)
    e = class_entropy(labels, 4)
    assert e["entropy"] == pytest.approx(math.log(4)) and e["kl_to_uniform"] == pytest.approx(0.0)
    collapsed = class_entropy(np.zeros(10, dtype=int), 10)
    assert collapsed == {"entropy": 0.0, "kl_to_uniform": pytest.approx(math.log(10)), "classes_seen": 1}


def test_classifier_score_is_1_for_constant_and_c_for_confident_balanced_predictions():
    assert classifier_score(np.tile([0.2, 0.3, 0.5], (10, 1))) == pytest.approx(1.0)
    assert classifier_score(np.eye(4)[np.arange(40) % 4]) == pytest.approx(4.0)


# --- bad input ---------------------------------------------------------------------------------------

GOOD = np.zeros((10, 3)) + np.arange(30).reshape(10, 3) * 0.1


@pytest.mark.parametrize("call", [
    lambda x: fid(x, GOOD), lambda x: fid(GOOD, x), lambda x: kid(x, GOOD), lambda x: prdc(x, GOOD, k=2),
    lambda x: precision_recall(GOOD, x, k=2), lambda x: c2st(x, GOOD), lambda x: fid_infinity(GOOD, x)])
@pytest.mark.parametrize("bad,match", [
    (np.zeros(10), "2-D"), (np.zeros((10, 3, 1)), "2-D"), (np.zeros((1, 3)), "at least 2"),
    (np.full((10, 3), np.nan), "NaN"), (np.full((10, 3), np.inf), "inf"), (np.zeros((10, 4)), "width|columns"),
    (np.array([["a", "b", "c"]] * 10), "numeric"), (np.zeros((0, 3)), "at least 2")])
def test_bad_arrays_raise_value_errors_naming_the_problem(call, bad, match):
    with pytest.raises(ValueError, match=match):
        call(bad)


@pytest.mark.parametrize("k", [0, 10, 11, 2.5])
def test_k_out_of_range_is_refused(k):
    with pytest.raises(ValueError, match="k must be"):
        prdc(GOOD, GOOD, k=k)


def test_bad_class_inputs_are_refused():
    with pytest.raises(ValueError, match="0 .. 3"):
        class_histogram([0, 4], 4)
    with pytest.raises(ValueError, match="probabilities"):
        classifier_score(np.array([[0.5, 0.6]]))
    with pytest.raises(ValueError, match="classifier must be"):
        c2st(GOOD, GOOD, classifier="svm")


@pytest.mark.parametrize("sigma,expect", [
    (-np.eye(3), "negative eigenvalue"),
    (np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]), "not symmetric"),
])
def test_an_npz_whose_sigma_is_no_covariance_is_refused(tmp_path, sigma, expect):
    """Issue 26: an .npz of FID statistics is untrusted input: sigma = -I or an asymmetric one gave an FID."""
    path = tmp_path / "stats.npz"
    np.savez(path, mu=np.zeros(3), sigma=sigma)
    with pytest.raises(ValueError, match=expect):
        load_stats(path)
    np.savez(path, mu=np.zeros(3), sigma=np.eye(3) + 1e-12 * np.triu(np.ones((3, 3)), 1))  # rounding: fine
    load_stats(path)
