"""The reference point of the training benchmarks: the training loop of the WGAN-GP mode-collapse
tutorial (docs/sources.md section 2), re-written in its structure (not its text).

One model at a time, PyTorch's default threads, a ``Dataset`` with ``__getitem__`` read through a
shuffling ``DataLoader`` of batch 128, the tutorial's 3 x 128 ReLU MLPs (generator ending in tanh), BCE
on logits for the vanilla GAN (the generator step re-uses the discriminator step's fake batch, as the
tutorial does), and for WGAN-GP one critic step per batch with a generator step on every fifth batch.
An "iteration" is one generator step, as in ganbench: one WGAN-GP iteration is five batches.

The tutorial has no PacGAN or minibatch-discrimination loop; they are its vanilla loop with ganbench's
discriminators written one model at a time, the way such code usually is: PacGAN's D takes ``pack``
consecutive samples concatenated (batches of 128 x pack, as ganbench draws), and minibatch
discrimination inserts Salimans et al.'s layer (8 kernels of 4 dimensions, pairwise L1 distances by
torch.cdist, autograd's backward) between the D trunk and its output.

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


def _mlp(d_in: int, d_out: int, tanh: bool, feature_layer: nn.Module | None = None) -> nn.Sequential:
    layers = [nn.Linear(d_in, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
              nn.Linear(HIDDEN, HIDDEN), nn.ReLU()]
    if feature_layer is not None:
        return nn.Sequential(*layers, feature_layer, nn.Linear(HIDDEN + feature_layer.n_kernels, d_out))
    return nn.Sequential(*layers, nn.Linear(HIDDEN, d_out), *([nn.Tanh()] if tanh else []))


class _MinibatchDiscrimination(nn.Module):
    """Salimans et al.'s layer for one model: [B, d] -> [B, d + n_kernels]."""

    def __init__(self, d_in: int, n_kernels: int = 8, kernel_dim: int = 4):
        super().__init__()
        self.n_kernels, self.kernel_dim = n_kernels, kernel_dim
        self.T = nn.Parameter(0.05 * torch.randn(d_in, n_kernels * kernel_dim))

    def forward(self, f):
        m = (f @ self.T).view(-1, self.n_kernels, self.kernel_dim).transpose(0, 1)  # [n_kernels, B, dim]
        o = torch.exp(-torch.cdist(m, m, p=1)).sum(2) - 1
        return torch.cat([f, o.t()], dim=1)


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
    """Train one model of ``variant`` (vanilla, wgan-gp, cond-wgan-gp, pacgan or minibatch) for
    ``iters`` generator steps."""
    torch.manual_seed(seed)
    cond = variant == "cond-wgan-gp"
    pack = 2 if variant == "pacgan" else 1
    if cond:
        G, D = _Conditional(LATENT, 2, n_classes, True), _Conditional(2, 1, n_classes, False)
    else:
        mbd = _MinibatchDiscrimination(HIDDEN) if variant == "minibatch" else None
        G, D = _mlp(LATENT, 2, True), _mlp(2 * pack, 1, False, mbd)
    wgan = variant in ("wgan-gp", "cond-wgan-gp")
    betas = (0.0, 0.9) if wgan else (0.5, 0.999)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=betas)
    bce = nn.BCEWithLogitsLoss()
    data = MixtureDataset(points, labels)
    if loader:
        batches = torch.utils.data.DataLoader(data, batch_size=BATCH * pack, shuffle=True, drop_last=pack > 1)
    else:
        batches = [None] * (len(data) // (BATCH * pack))
    steps = 0
    while steps < iters:
        for i, batch in enumerate(batches):
            if batch is None:
                idx = torch.randint(len(data), (BATCH * pack,))
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
                real, fake, n = real.view(-1, 2 * pack), fake.view(-1, 2 * pack), n // pack  # PacGAN's packs
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
