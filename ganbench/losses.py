"""GAN losses, kept apart from architectures. Each takes discriminator outputs of shape [K, B, 1]
(K ensemble members) and returns one loss per member, shape [K]."""
from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from ganbench.nets import memberwise


def _per_member_mean(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(1).mean(1)


def ns_d_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """Discriminator BCE on logits: -log sigmoid(D(x)) - log(1 - sigmoid(D(G(z)))) (Goodfellow 2014)."""
    return _per_member_mean(memberwise(F.softplus, -d_real)) + _per_member_mean(memberwise(F.softplus, d_fake))


def ns_g_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss -log sigmoid(D(G(z))) (Goodfellow 2014, section 3)."""
    return _per_member_mean(memberwise(F.softplus, -d_fake))


def wgan_d_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """Critic loss E[D(G(z))] - E[D(x)] (Arjovsky et al. 2017)."""
    return _per_member_mean(d_fake) - _per_member_mean(d_real)


def wgan_g_loss(d_fake: torch.Tensor) -> torch.Tensor:
    return -_per_member_mean(d_fake)


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor,
                     gens: Sequence[torch.Generator]) -> torch.Tensor:
    """WGAN-GP penalty E[(||grad_x D(x_hat)||_2 - 1)^2] at x_hat = a real + (1 - a) fake, a ~ U(0, 1)
    per sample (Gulrajani et al. 2017, Algorithm 1). ``gens``: one generator per member for ``a``."""
    k, b = real.shape[:2]
    a = torch.stack([torch.rand((b, 1), generator=g, device=real.device) for g in gens])
    x_hat = (a * real + (1 - a) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.flatten(2).norm(dim=2) - 1) ** 2).mean(1)
