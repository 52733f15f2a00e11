"""Every variant learns something on an easy case, is deterministic for a seed, and trains the same
as a member of a batched ensemble as it does alone."""
import numpy as np
import pytest
import torch

from ganbench.data import make_mixture
from ganbench.train import generate, train_ensemble
from ganbench.variants import DEFAULT_VARIANTS, REGISTRY, Dims, get_variant

# Small networks keep these tests to seconds; the mechanics are the same as the default 3 x 128.
DIMS = Dims(hidden=32, depth=2, n_classes=4)
EASY = make_mixture("ring", 4, seed=0, std=0.1, n_train=2000)


def train(name, seeds=(0,), iters=300, dims=DIMS, mixtures=None):
    mixtures = mixtures or [EASY] * len(seeds)
    v = get_variant(name)
    return train_ensemble(v, [m.points for m in mixtures], [m.labels for m in mixtures], list(seeds), dims,
                          iters=iters, batch_size=64, log_every=50)


def blobs_away_from_the_origin(seed=0, n=2000):
    """An easy target an untrained generator (which outputs points near 0) is far from: two close
    blobs around (3, 3)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    centers = np.array([[2.5, 3.0], [3.5, 3.0]])
    return (centers[labels] + 0.2 * rng.standard_normal((n, 2))).astype(np.float32), labels


def faster(variant):
    """The same variant (networks, losses, schedule) with Adam's step raised to 1e-3, so the easy case
    is learnt in a few hundred iterations instead of thousands."""
    return type(f"Fast{type(variant).__name__}", (type(variant),), {"adam": {**variant.adam, "lr": 1e-3}})()


@pytest.mark.parametrize("name", DEFAULT_VARIANTS)
def test_each_variant_learns_to_move_its_samples_onto_the_data(name):
    v = faster(get_variant(name))
    points, labels = blobs_away_from_the_origin()
    dims = Dims(hidden=32, depth=2, n_classes=2)
    seeds = [0, 1, 2]

    def gap(iters):
        t = train_ensemble(v, [points] * 3, [labels] * 3, seeds, dims, iters=iters, batch_size=64)
        x, _ = generate(t.G, seeds, 1000, dims, v.conditional)
        return np.median([np.linalg.norm(x[k].mean(0) - points.mean(0)) for k in range(3)])

    before, after = gap(0), gap(300)
    assert after < 0.35 * before, f"{name}: distance of the sample mean from the data mean {before:.2f} -> {after:.2f}"


@pytest.mark.parametrize("name", DEFAULT_VARIANTS)
def test_same_seed_same_result(name):
    a, b = train(name, iters=20), train(name, iters=20)
    xa, _ = generate(a.G, [0], 200, DIMS, get_variant(name).conditional)
    xb, _ = generate(b.G, [0], 200, DIMS, get_variant(name).conditional)
    assert np.array_equal(xa, xb)
    assert a.d_losses == b.d_losses


def test_other_seed_other_result():
    a, b = train("vanilla", seeds=(0,), iters=5), train("vanilla", seeds=(1,), iters=5)
    assert not np.array_equal(generate(a.G, [0], 50, DIMS, False)[0], generate(b.G, [0], 50, DIMS, False)[0])


@pytest.mark.parametrize("name", list(REGISTRY))
def test_an_ensemble_member_trains_like_the_same_seed_alone(name):
    seeds = (3, 5, 7)
    mixes = [make_mixture("ring", 4, seed=s, std=0.1, n_train=500) for s in seeds]
    ens = train(name, seeds=seeds, iters=5, mixtures=mixes)
    alone = train(name, seeds=(5,), iters=5, mixtures=[mixes[1]])
    for (p_ens, p_alone) in zip(ens.G.parameters(), alone.G.parameters()):
        torch.testing.assert_close(p_ens[1:2], p_alone, rtol=1e-5, atol=1e-6)
    for (p_ens, p_alone) in zip(ens.D.parameters(), alone.D.parameters()):
        torch.testing.assert_close(p_ens[1:2], p_alone, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.array(ens.d_losses)[:, 1], np.array(alone.d_losses)[:, 0], rtol=1e-5, atol=1e-6)


def test_a_diverging_member_is_marked_and_leaves_the_others_alone():
    v = get_variant("vanilla")

    class Poisoned(type(v)):
        """Member 1's generator loss turns NaN at the first step."""

        def g_loss(self, D, fake, fake_labels):
            return super().g_loss(D, fake, fake_labels) * torch.tensor([1.0, float("nan")])

    out = train_ensemble(Poisoned(), [EASY.points] * 2, [EASY.labels] * 2, [0, 1], DIMS, iters=4,
                         batch_size=16, log_every=2)
    assert out.diverged_step == [None, 0]
    assert all(np.isfinite(p[0].detach().numpy()).all() for p in out.G.parameters())
    assert not all(np.isfinite(p[1].detach().numpy()).all() for p in out.G.parameters())
