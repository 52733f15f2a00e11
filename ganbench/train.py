"""The training loop: one function that trains K seeds of one variant at once as a batched ensemble.

Member k sees exactly what the same seed would see trained alone: its own initial weights, its own
training batches, noise and labels, each from its own random stream (see ``ganbench.nets``). A lone
run is K = 1.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from ganbench.nets import member_generators, one_thread
from ganbench.variants import Dims, Variant

# Random streams of one seed (see member_generators). STREAM_GRID draws the class-by-row figure.
STREAM_INIT, STREAM_TRAIN, STREAM_EVAL, STREAM_GRID = 0, 1, 2, 3


@dataclass
class TrainedEnsemble:
    """What training returns: the networks, per-member loss curves and where members diverged."""

    G: nn.Module
    D: nn.Module
    seeds: list[int]
    loss_steps: list[int] = field(default_factory=list)
    d_losses: list[list[float]] = field(default_factory=list)   # [log point][member]
    g_losses: list[list[float]] = field(default_factory=list)
    diverged_step: list[int | None] = field(default_factory=list)  # see train_ensemble
    diverged_reason: list[str | None] = field(default_factory=list)
    train_seconds: float = 0.0


# A loss is runaway, and its run diverged, once the average of a logged interval passes this in
# magnitude (times sqrt(data_dim / 2) beyond 2-D, so 1,980 on MNIST). Non-saturating GAN losses are
# softplus of logits, O(1) to O(10) while training works; a WGAN critic's loss is bounded by its
# Lipschitz constant (1, by the penalty) times the data's diameter, a few units on the mixtures. The
# broken conditional scheme of issue 14 sat at -385 .. -6,223.
RUNAWAY_LOSS = 100.0


def runaway_threshold(data_dim: int) -> float:
    return RUNAWAY_LOSS * max(1.0, (data_dim / 2) ** 0.5)


def pick_device(device: str | None = None) -> torch.device:
    """CUDA when it is there, else the CPU; an explicit name wins."""
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class _Draws:
    """Per-member random draws for one training step, stacked to [K, n, ...] on the device."""

    def __init__(self, points: torch.Tensor, labels: torch.Tensor, gens: Sequence[torch.Generator],
                 latent_dim: int, n_classes: int):
        self.points, self.labels, self.gens = points, labels, gens
        self.latent_dim, self.n_classes = latent_dim, n_classes
        self.members = torch.arange(len(gens), device=points.device)[:, None]

    def real(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        n_train = self.points.shape[1]
        idx = torch.stack([torch.randint(n_train, (n,), generator=g, device=g.device) for g in self.gens])
        return self.points[self.members, idx], self.labels[self.members, idx]

    def noise(self, n: int, conditional: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        z = torch.stack([torch.randn((n, self.latent_dim), generator=g, device=g.device) for g in self.gens])
        if not conditional:
            return z, None
        y = torch.stack([torch.randint(self.n_classes, (n,), generator=g, device=g.device) for g in self.gens])
        return z, y


def train_ensemble(variant: Variant, points: Sequence[np.ndarray], labels: Sequence[np.ndarray],
                   seeds: Sequence[int], dims: Dims, iters: int, batch_size: int = 128,
                   log_every: int = 100, device: torch.device | str | None = None,
                   eval_at: Sequence[int] = (), on_eval: Callable[[int, nn.Module], None] | None = None
                   ) -> TrainedEnsemble:
    """Train ``len(seeds)`` models of ``variant``; member k trains on ``points[k]`` (labels[k]).

    One iteration is one generator update, preceded by ``variant.n_critic`` discriminator updates,
    each on a fresh batch (the WGAN-GP paper's counting). Losses are averaged over each
    ``log_every`` iterations. A member diverges at the first iteration whose loss is NaN or inf, or at
    the first log point whose averaged D or G loss passes ``runaway_threshold`` in magnitude (a
    runaway loss); ``diverged_reason`` says which. The others are unaffected (members share no
    parameters and no gradients). After each iteration count in ``eval_at``, ``on_eval(count, G)``
    is called (to evaluate the generator mid-training); what it does with G (``generate``: eval mode,
    its own random stream) must leave training as it was.
    On the CPU it runs on one torch thread, so that a member's result is bitwise independent of the
    ensemble it trains in (``ganbench.nets``).
    """
    device = pick_device(device)
    with one_thread(device):
        return _train(variant, points, labels, seeds, dims, iters, batch_size, log_every, device,
                      set(eval_at), on_eval)


def _train(variant, points, labels, seeds, dims, iters, batch_size, log_every, device, eval_at,
           on_eval) -> TrainedEnsemble:
    seeds = [int(s) for s in seeds]
    k = len(seeds)
    G, D = variant.build(member_generators(seeds, STREAM_INIT), dims)
    G.to(device), D.to(device)
    # foreach Adam, not fused: the CPU's fused kernel finishes each tensor's last partial vector chunk
    # with scalar code that rounds differently, so a member's update would depend on the ensemble's
    # size (measured: a [K, 1, 2] bias differs after ~200 steps between K = 1 and K = 20).
    opt_g = torch.optim.Adam(G.parameters(), **variant.adam, foreach=True)
    opt_d = torch.optim.Adam(D.parameters(), **(variant.adam_d or variant.adam), foreach=True)
    gens = member_generators(seeds, STREAM_TRAIN, device)
    draws = _Draws(torch.as_tensor(np.stack(points), device=device),
                   torch.as_tensor(np.stack(labels), device=device), gens, dims.latent_dim, dims.n_classes)
    n = batch_size * variant.pack
    if variant.conditional and variant.fake_labels not in ("real", "uniform"):
        raise ValueError(f"fake_labels must be 'real' or 'uniform', not {variant.fake_labels!r}")
    same_labels = variant.conditional and variant.fake_labels == "real"
    uniform_labels = variant.conditional and not same_labels

    out = TrainedEnsemble(G=G, D=D, seeds=seeds)
    first_bad = torch.full((k,), -1, dtype=torch.long, device=device)
    d_sum = torch.zeros(k, device=device)
    g_sum = torch.zeros(k, device=device)
    runaway: list[int | None] = [None] * k
    limit = runaway_threshold(dims.data_dim)
    t0 = time.perf_counter()
    for step in range(iters):
        D.requires_grad_(True)
        for _ in range(variant.n_critic):
            real, real_labels = draws.real(n)
            z, fake_labels = draws.noise(n, uniform_labels)
            if same_labels:
                fake_labels = real_labels
            with torch.no_grad():
                fake = G(z, fake_labels)
            d_loss = variant.d_loss(D, real, fake, real_labels, fake_labels, gens)
            opt_d.zero_grad(set_to_none=True)
            d_loss.sum().backward()
            opt_d.step()
        D.requires_grad_(False)  # the generator step needs gradients through D, not for it
        z, fake_labels = draws.noise(n, uniform_labels)
        if same_labels:
            fake_labels = real_labels  # the last critic batch's
        g_loss = variant.g_loss(D, G(z, fake_labels), fake_labels)
        opt_g.zero_grad(set_to_none=True)
        g_loss.sum().backward()
        opt_g.step()

        # Bookkeeping stays on the device: no host sync except at log points.
        d_det, g_det = d_loss.detach(), g_loss.detach()
        bad = ~(torch.isfinite(d_det) & torch.isfinite(g_det))
        first_bad = torch.where(bad & (first_bad < 0), torch.full_like(first_bad, step), first_bad)
        d_sum += d_det
        g_sum += g_det
        if (step + 1) % log_every == 0 or step == iters - 1:
            count = (step % log_every) + 1
            out.loss_steps.append(step + 1)
            out.d_losses.append((d_sum / count).tolist())
            out.g_losses.append((g_sum / count).tolist())
            d_sum.zero_(), g_sum.zero_()
            for m, (d, g) in enumerate(zip(out.d_losses[-1], out.g_losses[-1])):
                if runaway[m] is None and max(abs(d), abs(g)) > limit:  # NaN compares False: caught below
                    runaway[m] = step + 1
        if on_eval is not None and step + 1 in eval_at:
            on_eval(step + 1, G)
    D.requires_grad_(True)
    out.train_seconds = time.perf_counter() - t0
    out.diverged_step, out.diverged_reason = [], []
    for bad_at, runaway_at in zip(first_bad.tolist(), runaway):
        if bad_at >= 0 and (runaway_at is None or bad_at < runaway_at):
            out.diverged_step.append(int(bad_at)), out.diverged_reason.append("non-finite loss")
        elif runaway_at is not None:
            out.diverged_step.append(runaway_at)
            out.diverged_reason.append(f"runaway loss (|averaged loss| > {limit:g})")
        else:
            out.diverged_step.append(None), out.diverged_reason.append(None)
    return out


@torch.no_grad()
def generate(G: nn.Module, seeds: Sequence[int], n: int, dims: Dims, conditional: bool,
             labels: np.ndarray | None = None, stream: int = STREAM_EVAL) -> tuple[np.ndarray, np.ndarray | None]:
    """``n`` samples from each member, [K, n, data_dim], from the seed's evaluation stream.

    A conditional generator gets ``labels`` when given, else labels uniform over the classes
    (returned as the second value)."""
    device = next(G.parameters()).device
    gens = member_generators(seeds, stream, device)
    draws = _Draws(torch.zeros((len(seeds), 1, dims.data_dim), device=device),
                   torch.zeros((len(seeds), 1), dtype=torch.long, device=device), gens,
                   dims.latent_dim, dims.n_classes)
    was_training = G.training
    G.eval()
    z, y = draws.noise(n, conditional)
    if conditional and labels is not None:
        y = torch.as_tensor(np.broadcast_to(labels, (len(seeds), n)).copy(), device=device)
    with one_thread(device):
        x = G(z, y)
    G.train(was_training)
    return x.cpu().numpy(), (None if y is None else y.cpu().numpy())
