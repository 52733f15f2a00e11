import numpy as np
import pytest

from ganbench.data import grid_centers, make_mixture, ring_centers


def test_ring_centres_lie_on_the_unit_circle_evenly():
    c = ring_centers(8)
    assert np.allclose(np.linalg.norm(c, axis=1), 1.0)
    assert np.allclose(c[2], [0, 1], atol=1e-12)


def test_grid_of_25_is_pacgans_5x5_lattice():
    c = grid_centers(25)
    assert sorted(set(np.round(c[:, 0], 6))) == [-4, -2, 0, 2, 4]
    assert sorted(set(np.round(c[:, 1], 6))) == [-4, -2, 0, 2, 4]


@pytest.mark.parametrize("n", [2, 3, 7, 10, 64])
def test_grid_has_n_distinct_centres(n):
    assert len({tuple(p) for p in np.round(grid_centers(n), 6)}) == n


def test_points_scatter_around_their_labelled_centre_with_the_given_std():
    mix = make_mixture("ring", 8, seed=0, n_train=20_000, std=0.02)
    resid = mix.points - mix.centers[mix.labels]
    assert abs(resid.std() - 0.02) < 0.001
    assert set(np.unique(mix.labels)) == set(range(8))


def test_blobs_follow_the_tutorials_scaling_into_the_box():
    mix = make_mixture("blobs", 9, seed=42)
    assert np.abs(mix.points).max(axis=0) == pytest.approx([0.9, 0.9], abs=1e-6)
    # centres and std are mapped the same way as the points
    for k in range(9):
        assert mix.points[mix.labels == k].mean(0) == pytest.approx(mix.centers[k], abs=0.01)
    assert (mix.points - mix.centers[mix.labels]).std() == pytest.approx(mix.std, rel=0.05)


def test_same_seed_same_points_other_seed_other_points():
    a, b, c = (make_mixture("grid", 9, seed=s) for s in (1, 1, 2))
    assert np.array_equal(a.points, b.points)
    assert not np.array_equal(a.points, c.points)


@pytest.mark.parametrize("layout,n,msg", [("ring", 1, "between 2 and 64"), ("grid", 65, "between 2 and 64"),
                                          ("blobs", 10, "at most 9"), ("spiral", 8, "choose from")])
def test_bad_layouts_say_what_is_allowed(layout, n, msg):
    with pytest.raises(ValueError, match=msg):
        make_mixture(layout, n, seed=0)
