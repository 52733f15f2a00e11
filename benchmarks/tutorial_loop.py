"""The reference point of the training benchmarks: the training loop of
../shared/tutorials/wgan-gp-mode-collapse.txt, re-written in its structure (not its text).

One model at a time, PyTorch's default threads, a ``Dataset`` with ``__getitem__`` read through a
shuffling ``DataLoader`` of batch 128, the tutorial's 3 x 128 ReLU MLPs (generator ending in tanh), BCE
on logits for the vanilla GAN (the generator step re-uses the discriminator step's fake batch, as the
tutorial does), and for WGAN-GP one critic step per batch with a generator step on every fifth batch.
An "iteration" is one generator step, as in ganbench: one WGAN-GP iteration is five batches.

``lean_train`` is the same maths without the DataLoader (indexing a tensor), a second, stricter
reference: it shows how much of ganbench's speed-up is batching the models rather than skipping the
data loader.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

HIDDEN, BATCH, LATENT = 128, 128, 2


class MixtureDataset(torch.utils.data.Dataset):
    def __init__(self, points: np.ndarray, labels: np.ndarray):
        self.data, self.labels = torch.as_tensor(points, dtype=torch.float32), torch.as_tensor(labels)

    def __len__(self):
        return len(self.data)

    def __getitem__(self, idx):
        return self.data[idx], self.labels[idx]


def _mlp(d_in: int, d_out: int, tanh: bool) -> nn.Sequential:
    layers = [nn.Linear(d_in, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
              nn.Linear(HIDDEN, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, d_out)]
    return nn.Sequential(*layers, *([nn.Tanh()] if tanh else []))


class _Conditional(nn.Module):
    """The tutorial's conditional networks: an n x n label embedding concatenated to the input."""

    def __init__(self, d_in: int, d_out: int, n_classes: int, tanh: bool):
        super().__init__()
        self.embedding = nn.Embedding(n_classes, n_classes)
        self.net = _mlp(d_in + n_classes, d_out, tanh)

    def forward(self, x, labels):
        return self.net(torch.cat([x, self.embedding(labels)], dim=1))


def _penalty(D, real, fake, labels=None):
    alpha = torch.rand(real.size(0), 1)
    x = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    out = D(x) if labels is None else D(x, labels)
    (grad,) = torch.autograd.grad(out, x, grad_outputs=torch.ones_like(out), create_graph=True, retain_graph=True)
    return ((grad.view(grad.size(0), -1).norm(2, dim=1) - 1) ** 2).mean()


def tutorial_train(variant: str, points: np.ndarray, labels: np.ndarray, n_classes: int, iters: int,
                   seed: int = 0, loader: bool = True) -> nn.Module:
    """Train one model of ``variant`` (vanilla, wgan-gp or cond-wgan-gp) for ``iters`` generator steps."""
    torch.manual_seed(seed)
    cond = variant == "cond-wgan-gp"
    if cond:
        G, D = _Conditional(LATENT, 2, n_classes, True), _Conditional(2, 1, n_classes, False)
    else:
        G, D = _mlp(LATENT, 2, True), _mlp(2, 1, False)
    wgan = variant in ("wgan-gp", "cond-wgan-gp")
    betas = (0.0, 0.9) if wgan else (0.5, 0.999)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=betas)
    bce = nn.BCEWithLogitsLoss()
    data = MixtureDataset(points, labels)
    if loader:
        batches = torch.utils.data.DataLoader(data, batch_size=BATCH, shuffle=True)
    else:
        batches = [None] * (len(data) // BATCH)
    steps = 0
    while steps < iters:
        for i, batch in enumerate(batches):
            if batch is None:
                idx = torch.randint(len(data), (BATCH,))
                batch = (data.data[idx], data.labels[idx])
            real, y = batch
            n = real.size(0)
            z = torch.randn(n, LATENT)
            opt_d.zero_grad()
            if wgan:
                fake = G(z, y) if cond else G(z)
                args = (y,) if cond else ()
                d_loss = (-D(real, *args).mean() + D(fake.detach(), *args).mean()
                          + 10 * _penalty(D, real, fake.detach(), *args))
                d_loss.backward()
                opt_d.step()
                if i % 5 == 0:
                    opt_g.zero_grad()
                    z = torch.randn(n, LATENT)
                    g_loss = -(D(G(z, y), y) if cond else D(G(z))).mean()
                    g_loss.backward()
                    opt_g.step()
                    steps += 1
            else:
                fake = G(z)
                d_loss = bce(D(real), torch.ones(n, 1)) + bce(D(fake.detach()), torch.zeros(n, 1))
                d_loss.backward()
                opt_d.step()
                opt_g.zero_grad()
                g_loss = bce(D(fake), torch.ones(n, 1))
                g_loss.backward()
                opt_g.step()
                steps += 1
            if steps >= iters:
                break
    return G


def lean_train(variant: str, points: np.ndarray, labels: np.ndarray, n_classes: int, iters: int,
               seed: int = 0) -> nn.Module:
    return tutorial_train(variant, points, labels, n_classes, iters, seed, loader=False)
