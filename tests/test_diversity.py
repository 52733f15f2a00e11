"""The diversity score (ganbench.metrics.diversity) against scipy's pdist and exact fixtures."""
import numpy as np
import pytest
from scipy.spatial.distance import pdist

from ganbench.metrics import diversity as D
from ganbench.metrics.suite import compare


@pytest.mark.parametrize("n, d", [(2, 1), (3, 2), (500, 2), (1_200, 4), (300, 128)])
def test_mean_pairwise_distance_equals_scipy_pdist(n, d):
    x = np.random.default_rng(n + d).normal(size=(n, d))
    ref = pdist(x).mean()
    assert D.mean_pairwise_distance(x) == pytest.approx(ref, rel=1e-12)


def test_blocks_of_any_size_give_the_same_mean(monkeypatch):
    x = np.random.default_rng(1).normal(size=(97, 3))
    whole = D.mean_pairwise_distance(x)
    for pairs in (1, 7, 97, 98, 500):
        monkeypatch.setattr(D, "PAIRS_PER_BLOCK", pairs)
        assert D.mean_pairwise_distance(x) == pytest.approx(whole, rel=1e-13)


def test_exact_fixtures():
    # a 3-4-5 triangle: the mean of 3, 4 and 5
    assert D.mean_pairwise_distance([[0, 0], [3, 0], [0, 4]]) == pytest.approx(4.0, rel=1e-15)
    # the unit square's corners: four sides of 1, two diagonals of sqrt 2
    square = [[0, 0], [1, 0], [0, 1], [1, 1]]
    assert D.mean_pairwise_distance(square) == pytest.approx((4 + 2 * np.sqrt(2)) / 6, rel=1e-15)
    # a point repeated: no diversity
    assert D.mean_pairwise_distance(np.ones((10, 2))) == 0.0


def test_small_distances_of_a_collapsed_generator_keep_their_precision():
    # the Gram expansion |a|^2 + |b|^2 - 2ab loses these to cancellation (relative error ~1e-4)
    x = 2.0 + 1e-6 * np.random.default_rng(2).normal(size=(300, 2))
    assert D.mean_pairwise_distance(x) == pytest.approx(pdist(x).mean(), rel=1e-9)


def test_the_ratio_is_one_on_the_data_zero_on_a_point_and_invariant_to_shifts():
    rng = np.random.default_rng(3)
    real = rng.normal(size=(400, 2))
    assert D.diversity_values(real, real)["diversity_ratio"] == 1.0
    assert D.diversity_values(real, np.zeros((50, 2)))["diversity_ratio"] == 0.0
    shifted = D.diversity_values(real + 7.0, real[:200] * 2 + 7.0)
    assert shifted["diversity_ratio"] == pytest.approx(2 * D.mean_pairwise_distance(real[:200])
                                                       / D.mean_pairwise_distance(real), rel=1e-12)


def test_the_suite_computes_it_under_its_record_keys():
    rng = np.random.default_rng(4)
    out = compare(rng.normal(size=(60, 3)), rng.normal(size=(40, 3)), metrics=["diversity"])
    assert list(out) == ["diversity", "diversity_ratio"]


def test_the_ratio_is_none_where_the_real_samples_are_one_point():
    assert D.diversity_values(np.ones((5, 2)), np.eye(2)) == {"diversity": np.sqrt(2), "diversity_ratio": None}


@pytest.mark.parametrize("real, fake, words", [
    (np.zeros((1, 2)), np.zeros((5, 2)), "real needs at least 2 samples"),
    (np.eye(3), np.zeros((5, 2)), "different widths"),
    (np.eye(3), np.full((4, 3), np.nan), "fake contains NaN"),
])
def test_bad_input_is_one_clear_value_error(real, fake, words):
    with pytest.raises(ValueError, match=words):
        D.diversity_values(real, fake)
