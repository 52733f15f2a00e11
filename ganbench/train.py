"""The training loop: one function that trains K seeds of one variant at once as a batched ensemble.

Member k sees exactly what the same seed would see trained alone: its own initial weights, its own
training batches, noise and labels, each from its own random stream (see ``ganbench.nets``). A lone
run is K = 1.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from torch import nn

from ganbench.nets import member_generators
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
    diverged_step: list[int | None] = field(default_factory=list)  # first step with a non-finite loss
    train_seconds: float = 0.0


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
                   log_every: int = 100, device: torch.device | str | None = None) -> TrainedEnsemble:
    """Train ``len(seeds)`` models of ``variant``; member k trains on ``points[k]`` (labels[k]).

    One iteration is one generator update, preceded by ``variant.n_critic`` discriminator updates,
    each on a fresh batch (the WGAN-GP paper's counting). Losses are averaged over each
    ``log_every`` iterations. A member whose loss becomes NaN or inf is marked diverged at that
    iteration; the others are unaffected (members share no parameters and no gradients).
    """
    device = pick_device(device)
    seeds = [int(s) for s in seeds]
    k = len(seeds)
    G, D = variant.build(member_generators(seeds, STREAM_INIT), dims)
    G.to(device), D.to(device)
    # Fused Adam: one kernel per step instead of a dozen per parameter (~9% of a WGAN-GP step on the CPU).
    opt_g = torch.optim.Adam(G.parameters(), **variant.adam, fused=True)
    opt_d = torch.optim.Adam(D.parameters(), **(variant.adam_d or variant.adam), fused=True)
    gens = member_generators(seeds, STREAM_TRAIN, device)
    draws = _Draws(torch.as_tensor(np.stack(points), device=device),
                   torch.as_tensor(np.stack(labels), device=device), gens, dims.latent_dim, dims.n_classes)
    n = batch_size * variant.pack

    out = TrainedEnsemble(G=G, D=D, seeds=seeds)
    first_bad = torch.full((k,), -1, dtype=torch.long, device=device)
    d_sum = torch.zeros(k, device=device)
    g_sum = torch.zeros(k, device=device)
    t0 = time.perf_counter()
    for step in range(iters):
        D.requires_grad_(True)
        for _ in range(variant.n_critic):
            real, real_labels = draws.real(n)
            z, fake_labels = draws.noise(n, variant.conditional)
            with torch.no_grad():
                fake = G(z, fake_labels)
            d_loss = variant.d_loss(D, real, fake, real_labels, fake_labels, gens)
            opt_d.zero_grad(set_to_none=True)
            d_loss.sum().backward()
            opt_d.step()
        D.requires_grad_(False)  # the generator step needs gradients through D, not for it
        z, fake_labels = draws.noise(n, variant.conditional)
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
    D.requires_grad_(True)
    out.train_seconds = time.perf_counter() - t0
    out.diverged_step = [None if s < 0 else int(s) for s in first_bad.tolist()]
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
    x = G(z, y)
    G.train(was_training)
    return x.cpu().numpy(), (None if y is None else y.cpu().numpy())
