"""Training kernels: STEPS generator iterations of K models per variant, ganbench's batched ensemble
on one thread (what each worker of ``ganbench run`` does, one worker per core) against the tutorial's
loop (benchmarks/tutorial_loop.py: one model at a time, default threads, DataLoader) and the same loop
without the DataLoader ("lean-loop"); and the gradient penalty. Same work on both sides: the default
3 x 128 networks, batch 128, the 8-mode ring. A grid keeps both cores busy with one worker each, so the
grid's speed-up over the tutorial loop is about twice the one here (benchmarks/grid_throughput.py
measures it)."""
import pytest
import torch

from benchmarks.tutorial_loop import lean_train, tutorial_train
from ganbench.data import make_mixture
from ganbench.losses import gradient_penalty
from ganbench.nets import member_generators, mlp
from ganbench.train import train_ensemble
from ganbench.variants import DEFAULT_VARIANTS, Dims, get_variant

K, STEPS = 5, 30
MIX = make_mixture("ring", 8, seed=0)


@pytest.mark.parametrize("impl", ["ganbench-ensemble", "tutorial-loop", "lean-loop"])
@pytest.mark.parametrize("name", DEFAULT_VARIANTS)
def test_training_steps(benchmark, name, impl):
    """STEPS generator iterations of K = 5 models."""
    benchmark.group = f"train-{K}-models-x-{STEPS}-steps-{name}"
    v = get_variant(name)
    benchmark.extra_info["impl"] = "ganbench" if impl.startswith("ganbench") else impl
    if impl != "ganbench-ensemble":
        train = tutorial_train if impl == "tutorial-loop" else lean_train
        benchmark.pedantic(lambda: [train(name, MIX.points, MIX.labels, 8, STEPS, seed) for seed in range(K)],
                           rounds=3, iterations=1, warmup_rounds=1)
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
