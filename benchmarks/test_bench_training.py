"""Training kernels: one training step per variant as a batched ensemble against the tutorial-style
loop (one nn.Sequential model at a time), and the gradient penalty. Same work on both sides: 5 models,
the default 3 x 128 networks, batch 128."""
import numpy as np
import pytest
import torch
from torch import nn

from ganbench.data import make_mixture
from ganbench.losses import gradient_penalty
from ganbench.nets import member_generators, mlp
from ganbench.train import train_ensemble
from ganbench.variants import DEFAULT_VARIANTS, Dims, get_variant

K, STEPS = 5, 30
MIX = make_mixture("ring", 8, seed=0)


def tutorial_loop(steps: int, n_critic: int, gp: bool) -> None:
    """The reference point: the tutorials' loop, one plain PyTorch model at a time."""
    x = torch.from_numpy(MIX.points)
    for seed in range(K):
        torch.manual_seed(seed)
        G = nn.Sequential(nn.Linear(2, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 128),
                          nn.ReLU(), nn.Linear(128, 2))
        D = nn.Sequential(nn.Linear(2, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 128),
                          nn.ReLU(), nn.Linear(128, 1))
        og, od = torch.optim.Adam(G.parameters(), 2e-4), torch.optim.Adam(D.parameters(), 2e-4)
        bce = nn.BCEWithLogitsLoss()
        for _ in range(steps):
            for _ in range(n_critic):
                real = x[torch.randint(len(x), (128,))]
                fake = G(torch.randn(128, 2)).detach()
                if gp:
                    a = torch.rand(128, 1)
                    xh = (a * real + (1 - a) * fake).requires_grad_(True)
                    (g,) = torch.autograd.grad(D(xh).sum(), xh, create_graph=True)
                    loss = D(fake).mean() - D(real).mean() + 10 * ((g.norm(dim=1) - 1) ** 2).mean()
                else:
                    loss = bce(D(real), torch.ones(128, 1)) + bce(D(fake), torch.zeros(128, 1))
                od.zero_grad()
                loss.backward()
                od.step()
            out = D(G(torch.randn(128, 2)))
            gl = -out.mean() if gp else bce(out, torch.ones(128, 1))
            og.zero_grad()
            gl.backward()
            og.step()


@pytest.mark.parametrize("impl", ["ganbench-ensemble", "tutorial-loop"])
@pytest.mark.parametrize("name", DEFAULT_VARIANTS)
def test_training_steps(benchmark, name, impl):
    """STEPS generator iterations of K = 5 models."""
    benchmark.group = f"train-{K}-models-x-{STEPS}-steps-{name}"
    v = get_variant(name)
    benchmark.extra_info["impl"] = "ganbench" if impl.startswith("ganbench") else impl
    if impl == "tutorial-loop":
        if name not in ("vanilla", "wgan-gp"):
            pytest.skip("the tutorial loop is written for the vanilla and WGAN-GP losses")
        benchmark.pedantic(tutorial_loop, args=(STEPS, v.n_critic, name == "wgan-gp"), rounds=3, iterations=1, warmup_rounds=1)
        return
    torch.set_num_threads(1)  # ganbench runs one thread per worker process, one worker per core
    dims = Dims(n_classes=8)
    benchmark.pedantic(lambda: train_ensemble(v, [MIX.points] * K, [MIX.labels] * K, list(range(K)), dims,
                                              iters=STEPS), rounds=3, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("impl", ["ganbench-ensemble", "per-model-loop"])
def test_gradient_penalty(benchmark, impl):
    benchmark.group = f"gradient-penalty-{K}-critics-batch-128"
    benchmark.extra_info["impl"] = "ganbench" if impl.startswith("ganbench") else impl
    gens = member_generators(range(K), 0)
    critic = mlp(gens, [2, 128, 128, 128, 1])
    real, fake = torch.randn(K, 128, 2), torch.randn(K, 128, 2)
    if impl == "ganbench-ensemble":
        fn = lambda: gradient_penalty(critic, real, fake, gens).sum().backward()  # noqa: E731
    else:
        singles = [mlp([g], [2, 128, 128, 128, 1]) for g in member_generators(range(K), 0)]

        def fn():
            for k, c in enumerate(singles):
                gradient_penalty(c, real[k:k + 1], fake[k:k + 1], gens[k:k + 1]).sum().backward()
    benchmark.pedantic(fn, rounds=20, iterations=1, warmup_rounds=2)
