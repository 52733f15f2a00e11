import math

import numpy as np
import pytest

from ganbench.data import ring_centers
from ganbench.metrics import kmeans_coverage, mode_stats

CENTERS = ring_centers(8)
STD = 0.01


def test_samples_at_every_centre_capture_all_modes_with_zero_reverse_kl():
    x = np.repeat(CENTERS, 10, axis=0)
    s = mode_stats(x, CENTERS, STD)
    assert s["modes"] == 8
    assert s["hq_fraction"] == 1.0
    assert s["reverse_kl"] == pytest.approx(0.0, abs=1e-12)
    assert s["mode_counts"] == [10] * 8


def test_a_collapsed_generator_captures_one_mode_with_reverse_kl_ln_k():
    x = CENTERS[3] + 0.5 * STD * np.random.default_rng(0).standard_normal((2500, 2))
    s = mode_stats(x, CENTERS, STD)
    assert s["modes"] == 1
    assert s["mode_counts"][3] > 0 and sum(s["mode_counts"]) == s["mode_counts"][3]
    assert s["reverse_kl"] == pytest.approx(math.log(8))


def test_samples_far_from_every_mode_are_not_high_quality():
    x = np.full((100, 2), 5.0)
    s = mode_stats(x, CENTERS, STD)
    assert s["modes"] == 0 and s["hq_fraction"] == 0.0
    assert math.isnan(s["reverse_kl"])


def test_the_three_std_rule_is_strict_and_uses_the_normalised_distance():
    inside = CENTERS[0] + [2.999 * STD, 0]
    outside = CENTERS[0] + [3.001 * STD, 0]
    assert mode_stats(inside[None], CENTERS, STD)["modes"] == 1
    assert mode_stats(outside[None], CENTERS, STD)["modes"] == 0
    # with std 0.1 the same point is well inside
    assert mode_stats(outside[None], CENTERS, 0.1)["hq_fraction"] == 1.0


def test_reverse_kl_of_an_uneven_spread_matches_the_formula():
    x = np.concatenate([np.repeat(CENTERS[:1], 30, 0), np.repeat(CENTERS[1:2], 10, 0)])
    p = np.array([0.75, 0.25])
    assert mode_stats(x, CENTERS, STD)["reverse_kl"] == pytest.approx(math.log(8) + (p * np.log(p)).sum())


def test_mode_stats_accepts_torch_tensors():
    import torch

    assert mode_stats(torch.tensor(CENTERS), CENTERS, STD)["modes"] == 8


@pytest.mark.parametrize("bad,match", [(np.zeros(5), "2-D"), (np.full((3, 2), np.nan), "NaN"),
                                       (np.zeros((3, 3)), "columns")])
def test_bad_samples_raise_a_value_error_naming_the_problem(bad, match):
    with pytest.raises(ValueError, match=match):
        mode_stats(bad, CENTERS, STD)


def test_kmeans_coverage_counts_a_mode_covered_by_a_single_nearby_sample():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 8, 2000)
    real = CENTERS[labels] + STD * rng.standard_normal((2000, 2))
    assert kmeans_coverage(CENTERS, real, 8) == 1.0
    assert kmeans_coverage(CENTERS[:2] + 0.05, real, 8) == pytest.approx(2 / 8)
    assert kmeans_coverage(np.full((10, 2), 3.0), real, 8) == 0.0


def test_kmeans_coverage_needs_a_sample_strictly_within_the_radius_as_the_tutorials():
    real = np.repeat(np.array([[0.0, 0.0], [4.0, 0.0]]), 50, axis=0)  # k-means centres exactly (0,0), (4,0)
    assert kmeans_coverage(np.array([[0.5, 0.0]]), real, 2, radius=0.5) == 0.0
    assert kmeans_coverage(np.array([[0.49, 0.0]]), real, 2, radius=0.5) == 0.5
