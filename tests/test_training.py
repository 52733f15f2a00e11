"""Every variant learns something on an easy case, is deterministic for a seed, and trains the same
as a member of a batched ensemble as it does alone."""
import numpy as np
import pytest
import torch

from ganbench.data import make_mixture
from ganbench.train import RUNAWAY_LOSS, generate, member_state, runaway_threshold, train_ensemble
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
    is learnt in 500 iterations instead of thousands."""
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

    before, after = gap(0), gap(500)
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


def assert_member_is_the_lone_run(ens, k, alone):
    """Member k of ``ens`` is bitwise the one-member ``alone``: weights, buffers (BatchNorm's running
    statistics) and logged losses."""
    for module_e, module_a in ((ens.G, alone.G), (ens.D, alone.D)):
        mine, lone = member_state(module_e.state_dict(), k), member_state(module_a.state_dict(), 0)
        assert mine.keys() == lone.keys()
        for name, t in mine.items():
            assert torch.equal(t, lone[name]), f"{name} differs"
    assert [row[k] for row in ens.d_losses] == [row[0] for row in alone.d_losses]
    assert [row[k] for row in ens.g_losses] == [row[0] for row in alone.g_losses]


@pytest.mark.parametrize("name", list(REGISTRY))
def test_an_ensemble_member_trains_bitwise_like_the_same_seed_alone(name):
    """A record depends only on its config: seed 5 alone, in an ensemble of 3 and in one of 20 (where
    the vectorised kernels' chunks fall elsewhere) ends with the same bits."""
    seeds = list(range(20))
    mixes = [make_mixture("ring", 4, seed=s, std=0.1, n_train=500) for s in seeds]
    alone = train(name, seeds=(5,), iters=30, mixtures=[mixes[5]])
    three = train(name, seeds=(3, 5, 7), iters=30, mixtures=[mixes[3], mixes[5], mixes[7]])
    twenty = train(name, seeds=seeds, iters=30, mixtures=mixes)
    assert_member_is_the_lone_run(three, 1, alone)
    assert_member_is_the_lone_run(twenty, 5, alone)
    xa, _ = generate(alone.G, [5], 300, DIMS, get_variant(name).conditional)
    x20, _ = generate(twenty.G, seeds, 300, DIMS, get_variant(name).conditional)
    assert np.array_equal(xa[0], x20[5])


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
    assert out.diverged_reason == [None, "non-finite loss"]


def test_a_runaway_loss_is_divergence_even_when_finite():
    """Member 1's D losses are finite but scaled past the runaway threshold from iteration 6 on: it
    diverges at the first log point after that; member 0 stays ok."""
    v = get_variant("vanilla")

    class Runaway(type(v)):
        _calls = 0  # a counter of the test, not a hyperparameter (private names are not)

        def d_loss(self, D, real, fake, real_labels, fake_labels, gens=None):
            Runaway._calls += 1
            scale = torch.tensor([1.0, 1.0 if Runaway._calls <= 6 else 1e4])
            return super().d_loss(D, real, fake, real_labels, fake_labels, gens) * scale

    out = train_ensemble(Runaway(), [EASY.points] * 2, [EASY.labels] * 2, [0, 1], DIMS, iters=12,
                         batch_size=16, log_every=4)
    assert out.diverged_step == [None, 8]
    assert out.diverged_reason[0] is None and out.diverged_reason[1].startswith("runaway loss (|averaged D loss|")


def test_a_large_generator_loss_alone_is_not_divergence_but_a_non_finite_one_is():
    """The runaway rule judges D's averaged loss only: a WGAN generator's loss carries the critic's free
    offset (a healthy record drifted 5 -> 15 -> 29). Member 1's G loss is offset past the threshold from
    iteration 6 on (finite, the gradient unchanged): no divergence. Member 1's G loss NaN at iteration 9
    still diverges it at 8 (0-based), as 'non-finite loss'."""
    v = get_variant("vanilla")

    def offset_from(start, value):
        class Offset(type(v)):
            _calls = 0

            def g_loss(self, D, fake, fake_labels):
                Offset._calls += 1
                shift = torch.tensor([0.0, 0.0 if Offset._calls <= start else value])
                return super().g_loss(D, fake, fake_labels) + shift
        return Offset()

    limit = runaway_threshold(DIMS.data_dim)
    out = train_ensemble(offset_from(6, 10 * limit), [EASY.points] * 2, [EASY.labels] * 2, [0, 1], DIMS,
                         iters=12, batch_size=16, log_every=4)
    assert max(out.g_losses[-1]) > limit and max(map(abs, out.d_losses[-1])) < limit
    assert out.diverged_step == [None, None] and out.diverged_reason == [None, None]
    out = train_ensemble(offset_from(8, float("nan")), [EASY.points] * 2, [EASY.labels] * 2, [0, 1], DIMS,
                         iters=12, batch_size=16, log_every=4)
    assert out.diverged_step == [None, 8] and out.diverged_reason == [None, "non-finite loss"]
    assert runaway_threshold(2) == RUNAWAY_LOSS
    assert runaway_threshold(784) == pytest.approx(RUNAWAY_LOSS * 784 ** 0.5 / 2 ** 0.5)


def test_cond_wgan_gp_generates_its_fakes_for_the_real_batch_labels():
    """The tutorial's scheme: the critic's fakes carry the real batch's labels (so the gradient
    penalty interpolates within a class) and so does the generator step (the last critic batch's)."""
    base = get_variant("cond-wgan-gp")
    assert base.fake_labels == "real" and base.params()["fake_labels"] == "real"
    seen = []

    class Spy(type(base)):
        def d_loss(self, D, real, fake, real_labels, fake_labels, gens):
            seen.append(("d", real_labels.clone(), fake_labels.clone()))
            return super().d_loss(D, real, fake, real_labels, fake_labels, gens)

        def g_loss(self, D, fake, fake_labels):
            seen.append(("g", None, fake_labels.clone()))
            return super().g_loss(D, fake, fake_labels)

    train_ensemble(Spy(), [EASY.points] * 2, [EASY.labels] * 2, [0, 1], DIMS, iters=2, batch_size=32)
    assert [s[0] for s in seen] == ["d"] * 5 + ["g"] + ["d"] * 5 + ["g"]
    for i, (kind, real_labels, fake_labels) in enumerate(seen):
        if kind == "d":
            assert torch.equal(real_labels, fake_labels)
        else:
            assert torch.equal(fake_labels, seen[i - 1][1])
    assert len(torch.unique(seen[0][1])) > 1  # real batches mix the modes
    # unconditional variants' ids do not carry the field
    assert "fake_labels" not in get_variant("wgan-gp").params()


def test_minibatch_discrimination_gradient_is_the_autograd_one():
    """The layer's hand-written backward (ganbench.nets._L1Affinity) against autograd through
    torch.cdist, and against finite differences in float64."""
    from ganbench.nets import MinibatchDiscrimination, _L1Affinity, member_generators

    layer = MinibatchDiscrimination(member_generators([0, 1], 0), 6, n_kernels=3, kernel_dim=4)
    f = torch.randn(2, 9, 6, generator=torch.Generator().manual_seed(1), requires_grad=True)
    weights = torch.rand(2, 9, 9, generator=torch.Generator().manual_seed(2))
    (layer(f) * weights).sum().backward()
    ours = f.grad.clone(), layer.T.grad.clone()
    f.grad, layer.T.grad = None, None

    m = torch.bmm(f, layer.T).view(2, 9, 3, 4).permute(0, 2, 1, 3).reshape(6, 9, 4)
    o = torch.exp(-torch.cdist(m, m, p=1)).sum(2) - 1.0
    (torch.cat([f, o.view(2, 3, 9).transpose(1, 2)], dim=-1) * weights).sum().backward()
    for a, b in zip(ours, (f.grad, layer.T.grad), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)

    m64 = torch.randn(4, 7, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(3), requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: _L1Affinity.apply(x, 2), (m64,))


@pytest.mark.parametrize("d", [1, 3, 4, 8, 17])
def test_pairwise_l1_is_torch_cdist_bit_for_bit(d):
    """Minibatch discrimination's distances (ganbench.nets.pairwise_l1) against torch.cdist(p=1), exactly:
    the committed minibatch results were trained with cdist."""
    from ganbench.nets import pairwise_l1

    m = torch.randn(6, 37, d, generator=torch.Generator().manual_seed(d)) * torch.logspace(-3, 2, d)
    assert torch.equal(pairwise_l1(m.transpose(1, 2).contiguous()), torch.cdist(m, m, p=1))


@pytest.mark.parametrize("name,dims", [
    ("wgan-gp", Dims(hidden=32, depth=2)),                                                  # ReLU
    ("cond-wgan-gp", Dims(hidden=32, depth=2, n_classes=4)),                                 # + labels
    ("wgan-gp", Dims(data_dim=784, latent_dim=8, arch="dcgan", image=(1, 28, 28), out_tanh=True)),  # LeakyReLU
    ("wgan-gp", Dims(data_dim=784, latent_dim=8, arch="mnist-mlp", image=(1, 28, 28), out_tanh=True)),
])
def test_gradient_penalty_critics_skip_the_zero_second_derivative_bitwise(name, dims):
    """The GP variants' critics use ganbench.nets.FirstOrderActivation: their loss's gradients (penalty
    included) are bitwise those of the stock nn.ReLU / nn.LeakyReLU network with the same weights, and
    the double backward runs fewer matrix products (it no longer sends zeros back through the forward)."""
    import copy

    from torch import nn
    from torch.profiler import ProfilerActivity, profile

    from ganbench.nets import FirstOrderActivation, member_generators

    v = get_variant(name)
    ours = v.discriminator(member_generators([0, 1], 0), dims)
    assert any(isinstance(m, FirstOrderActivation) for m in ours.modules())
    stock = copy.deepcopy(ours)
    for parent in list(stock.modules()):
        for child_name, child in parent.named_children():
            if isinstance(child, FirstOrderActivation):
                setattr(parent, child_name, nn.ReLU() if child.slope is None else nn.LeakyReLU(child.slope))
    assert not any(isinstance(m, FirstOrderActivation) for m in stock.modules())

    g = torch.Generator().manual_seed(5)
    real, fake = (torch.randn(2, 16, dims.data_dim, generator=g) for _ in range(2))
    labels = torch.randint(0, max(dims.n_classes, 1), (2, 16), generator=g)

    def grads(D):
        D.zero_grad(set_to_none=True)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            v.d_loss(D, real, fake, labels, labels, member_generators([0, 1], 9)).sum().backward()
        products = sum(e.count for e in prof.key_averages()
                       if e.key in ("aten::bmm", "aten::mm", "aten::addmm", "aten::convolution_backward"))
        return [p.grad for p in D.parameters()], products

    (a, ops_ours), (b, ops_stock) = grads(ours), grads(stock)
    assert len(a) == len(b) and all(x is not None for x in a)
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x, y)
    assert ops_ours < ops_stock


@pytest.mark.parametrize("name,dims", [
    ("vanilla", Dims(arch="pacgan-mlp")),                                             # BatchNorm statistics
    ("wgan-gp", Dims(data_dim=784, latent_dim=8, arch="dcgan", image=(1, 28, 28), out_tanh=True)),  # PerMember
])
def test_training_resumed_from_member_states_ends_where_training_at_once_ends(name, dims):
    from ganbench.train import member_train_state

    rng = np.random.default_rng(0)
    points = rng.uniform(-1, 1, (200, dims.data_dim)).astype(np.float32)
    labels = np.zeros(200, dtype=np.int64)
    v = get_variant(name)

    def run(iters, seeds, resume=None):
        return train_ensemble(v, [points] * len(seeds), [labels] * len(seeds), seeds, dims, iters=iters,
                              batch_size=16, log_every=4, resume=resume)

    first = run(6, [0, 1])                                        # 6: inside the second window of 4
    resumed = run(11, [1, 0], [member_train_state(first, 1), member_train_state(first, 0)])
    at_once = run(11, [0])
    assert_member_is_the_lone_run(resumed, 1, at_once)
    assert resumed.loss_steps == at_once.loss_steps == [4, 8, 11]


@pytest.mark.parametrize("name", ["vanilla", "wgan-gp"])
def test_bf16_training_learns_the_easy_case_is_deterministic_and_differs_from_fp32(name):
    """The opt-in bf16 path (torch.autocast): it still learns, a seed still fixes the result, and it is
    another computation than fp32 (its records get other ids: tests/test_cli.py)."""
    v = faster(get_variant(name))
    points, labels = blobs_away_from_the_origin()
    dims = Dims(hidden=32, depth=2, n_classes=2)

    def run(iters, precision):
        t = train_ensemble(v, [points], [labels], [0], dims, iters=iters, batch_size=64, precision=precision)
        x, _ = generate(t.G, [0], 1000, dims, v.conditional)
        return x

    before, a, b = run(0, "bf16"), run(500, "bf16"), run(500, "bf16")
    assert np.array_equal(a, b)
    assert not np.array_equal(a, run(500, None))
    gap = lambda x: np.linalg.norm(x.mean(0) - points.mean(0))  # noqa: E731
    assert gap(a) < 0.35 * gap(before)
    with pytest.raises(ValueError, match="precision"):
        run(1, "fp8")


@pytest.mark.parametrize("betas", [(0.5, 0.999), (0.0, 0.9)])
def test_ganbench_adam_is_torch_adam_bit_for_bit_without_importing_dynamo(betas):
    """ganbench.adam.Adam replaces torch.optim.Adam(foreach=True) in training (torch.optim imports
    torch._dynamo, ~1.3 s a process): the same parameters and moments after every step, on a real
    ensemble's GAN-like losses, with a parameter left without a gradient (skipped, as torch does)."""
    import subprocess
    import sys
    from pathlib import Path

    from ganbench.adam import Adam
    from ganbench.nets import member_generators, mlp

    nets = [mlp(member_generators([0, 1, 2], 0), [2, 16, 16, 1]) for _ in range(2)]
    nets[1].load_state_dict(nets[0].state_dict())
    idle = [torch.nn.Parameter(torch.ones(3)) for _ in range(2)]  # never gets a gradient
    ours = Adam(list(nets[0].parameters()) + [idle[0]], lr=1e-3, betas=betas)
    theirs = torch.optim.Adam(list(nets[1].parameters()) + [idle[1]], lr=1e-3, betas=betas, foreach=True)
    gen = torch.Generator().manual_seed(0)
    for step in range(200):
        x = torch.randn((3, 64, 2), generator=gen) * 3
        for net, opt in ((nets[0], ours), (nets[1], theirs)):
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.softplus(-net(x)).mean().backward()
            opt.step()
        for (name, a), b in zip(nets[0].named_parameters(), nets[1].parameters(), strict=True):
            assert torch.equal(a, b), (step, name)
            for key in ("step", "exp_avg", "exp_avg_sq"):
                assert torch.equal(ours.state[a][key], theirs.state[b][key]), (step, name, key)
    assert idle[0] not in ours.state and torch.equal(idle[0], idle[1])
    assert list(ours.state[next(nets[0].parameters())]) == ["step", "exp_avg", "exp_avg_sq"]  # checkpoints' layout

    # And training imports no torch._dynamo (this process has: torch.optim above).
    code = ("import sys; from test_training import train; train('wgan-gp', iters=3); "
            "assert 'torch._dynamo' not in sys.modules, 'training imported torch._dynamo'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent)
