"""Network architectures, by name. A variant says how it trains; an architecture says what the networks
look like for a kind of data. All networks take and return flat tensors [K, B, features] (images are
flattened C*H*W vectors), so losses, the gradient penalty and PacGAN's packing work the same for points
and for images; convolutional networks reshape inside.

- ``mlp``: the tutorial's 3 x 128 ReLU MLPs (2-D mixtures, Iris). Conditioning: the label embedding is
  concatenated to the input of G and of D (the tutorial's conditional WGAN-GP).
- ``veegan-mlp``: the VEEGAN 2-D notebook's sizes: G 2 x 128 ReLU, D 1 x 128 ReLU.
- ``pacgan-mlp``: PacGAN's 2-D networks: G 4 x 400 BatchNorm + ReLU, D 3 maxout layers (200 units, 5 pieces).
- ``mnist-mlp``: the tutorial's MNIST MLP GAN: G 128-256-512-1024 with BatchNorm, tanh out; D 512-256
  LeakyReLU 0.2.
- ``dcgan``: DCGAN-style convolutional G (transposed convs 7x7x64 -> 14x14x32 -> 28x28, BatchNorm) and D
  (strided convs 32-64, LeakyReLU 0.2, no BatchNorm).
- ``dcgan-small-d``: the Unrolled-GAN Stacked-MNIST setting (PROTOCOLS.md section 2): G linear -> 4x4x64,
  3x3 deconvs to 7x7x32, 14x14x16, 28x28x8, 3x3 conv to C, tanh; D with 2/4/8 channels (1/4 of G's).

Convolutional networks are evaluated member by member (``PerMember``): batching K conv nets gains
little on a CPU. Member k's weights come from a seed drawn from its own generator, so ensembles and
lone runs still agree.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

from ganbench.nets import EnsembleBatchNorm, EnsembleLinear, LabelConcat, Maxout, MemberwiseTanh, Plain, mlp


class PerMember(nn.Module):
    """K independent copies of a plain PyTorch module, built by ``make()`` under member k's seed, applied
    to x[k]: [K, B, ...] -> [K, B, ...]."""

    def __init__(self, gens: Sequence[torch.Generator], make: Callable[[], nn.Module]):
        super().__init__()
        members = []
        for g in gens:
            seed = int(torch.randint(2 ** 62, (1,), generator=g))
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                members.append(make())
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([m(x[k]) for k, m in enumerate(self.members)])


class Discriminator(nn.Module):
    """trunk (data -> features) [-> feature_layer] [-> concat label embedding] -> linear head -> score."""

    def __init__(self, gens, trunk: nn.Module, width: int, n_cond: int = 0,
                 feature_layer: Callable[[int], nn.Module] | None = None):
        super().__init__()
        self.trunk = trunk
        self.feature_layer = feature_layer(width) if feature_layer else None
        if self.feature_layer is not None:
            width += self.feature_layer.d_out_extra
        self.embedding = (nn.Parameter(torch.stack([torch.randn((n_cond, n_cond), generator=g) for g in gens]))
                          if n_cond else None)
        self.head = EnsembleLinear(gens, width + n_cond, 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        f = self.trunk(x)
        if self.feature_layer is not None:
            f = self.feature_layer(f)
        if self.embedding is not None:
            members = torch.arange(x.shape[0], device=x.device)[:, None]
            f = torch.cat([f, self.embedding[members, labels]], dim=-1)
        return self.head(f)


class _Unflatten(nn.Module):
    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)


# --- mlp: the 2-D mixtures and Iris ----------------------------------------------------------------

class MLPArch:
    """ReLU MLPs whose hidden layers are ``dims.hidden`` x ``dims.depth`` (G and D alike), or the fixed
    sizes ``g_hidden`` / ``d_hidden`` when given."""

    def __init__(self, name: str = "mlp", g_hidden: Sequence[int] | None = None,
                 d_hidden: Sequence[int] | None = None):
        self.name, self._g, self._d = name, g_hidden, d_hidden

    def generator(self, gens, dims, n_cond: int) -> nn.Module:
        net = mlp(gens, [dims.latent_dim + n_cond, *(self._g or dims.hidden_sizes()), dims.data_dim],
                  MemberwiseTanh() if dims.out_tanh else None)
        return LabelConcat(gens, n_cond, net) if n_cond else Plain(net)

    def discriminator(self, gens, dims, pack: int, n_cond: int, feature_layer=None) -> nn.Module:
        hidden = list(self._d or dims.hidden_sizes())
        if feature_layer is None:
            # Kept as one MLP with the label concatenated at the input: the tutorial's networks.
            net = mlp(gens, [dims.data_dim * pack + n_cond, *hidden, 1])
            return LabelConcat(gens, n_cond, net) if n_cond else Plain(net)
        trunk = nn.Sequential(mlp(gens, [dims.data_dim * pack, *hidden]), nn.ReLU())
        return Discriminator(gens, trunk, hidden[-1], n_cond, feature_layer)


# VEEGAN's 2-D notebook, as unofficial ports of it give it (the official file is not in our reference
# copy): G 2 hidden layers of 128 ReLU, D one hidden layer of 128 ReLU.
VEEGAN_MLP = MLPArch("veegan-mlp", g_hidden=[128, 128], d_hidden=[128])


class PacGANMLPArch:
    """PacGAN's 2-D networks (PROTOCOLS.md section 1, fjxmlzn/PacGAN): G 4 x 400 with BatchNorm and ReLU,
    linear output; D 3 maxout layers of 200 units with 5 pieces, then linear; with packing m the
    input is m samples concatenated (2m dims). Weights N(0, 0.02^2), biases 0."""

    name = "pacgan-mlp"
    g_hidden, g_depth = 400, 4
    d_units, d_depth, d_pieces = 200, 3, 5
    init_std = 0.02
    bn_momentum = 0.05  # Blocks population statistics: 0.05 new + 0.95 old (PacGAN evaluates in inference mode)

    def generator(self, gens, dims, n_cond: int) -> nn.Module:
        if n_cond:
            raise ValueError("the pacgan-mlp architecture has no conditional form")
        layers, width = [], dims.latent_dim
        for _ in range(self.g_depth):
            layers += [EnsembleLinear(gens, width, self.g_hidden, self.init_std),
                       EnsembleBatchNorm(len(gens), self.g_hidden, momentum=self.bn_momentum), nn.ReLU()]
            width = self.g_hidden
        return Plain(nn.Sequential(*layers, EnsembleLinear(gens, width, dims.data_dim, self.init_std)))

    def discriminator(self, gens, dims, pack: int, n_cond: int, feature_layer=None) -> nn.Module:
        if n_cond or feature_layer is not None:
            raise ValueError("the pacgan-mlp architecture has no conditional or minibatch form")
        layers, width = [], dims.data_dim * pack
        for _ in range(self.d_depth):
            layers += [EnsembleLinear(gens, width, self.d_units * self.d_pieces, self.init_std), Maxout(self.d_pieces)]
            width = self.d_units
        return Plain(nn.Sequential(*layers, EnsembleLinear(gens, width, 1, self.init_std)))


# --- image architectures -------------------------------------------------------------------------

class _ImageArch:
    """Shared plumbing: a per-member generator body z -> flat image, a per-member trunk image -> features."""

    name: str
    feature_width: int

    def g_body(self, dims, z_dim: int) -> nn.Module:
        raise NotImplementedError

    def d_trunk(self, dims, channels: int) -> nn.Module:
        raise NotImplementedError

    def generator(self, gens, dims, n_cond: int) -> nn.Module:
        body = PerMember(gens, lambda: self.g_body(dims, dims.latent_dim + n_cond))
        return LabelConcat(gens, n_cond, body) if n_cond else Plain(body)

    def discriminator(self, gens, dims, pack: int, n_cond: int, feature_layer=None) -> nn.Module:
        # PacGAN's m packed images arrive as one flat vector of m*C*H*W: that is m*C stacked channels.
        trunk = PerMember(gens, lambda: self.d_trunk(dims, dims.image[0] * pack))
        return Discriminator(gens, trunk, self.feature_width, n_cond, feature_layer)


class MNISTMLPArch(_ImageArch):
    name = "mnist-mlp"
    feature_width = 256

    def g_body(self, dims, z_dim):
        layers, width = [], z_dim
        for h in (128, 256, 512, 1024):
            # BatchNorm1d(h, 0.8): the tutorial's code passes 0.8 as eps (its momentum was meant, it seems)
            layers += [nn.Linear(width, h)] + ([nn.BatchNorm1d(h, 0.8)] if h != 128 else []) + [nn.LeakyReLU(0.2)]
            width = h
        return nn.Sequential(*layers, nn.Linear(width, dims.data_dim), nn.Tanh())

    def d_trunk(self, dims, channels):
        c, h, w = dims.image
        return nn.Sequential(nn.Flatten(), nn.Linear(channels * h * w, 512), nn.LeakyReLU(0.2),
                             nn.Linear(512, 256), nn.LeakyReLU(0.2))


class DCGANArch(_ImageArch):
    """Widths halved from the usual 128/64 so that a CPU trains it in minutes."""

    name = "dcgan"
    feature_width = 64 * 7 * 7

    def g_body(self, dims, z_dim):
        c = dims.image[0]
        return nn.Sequential(
            nn.Linear(z_dim, 64 * 7 * 7), nn.BatchNorm1d(64 * 7 * 7), nn.ReLU(), _Unflatten((64, 7, 7)),
            nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.BatchNorm2d(32), nn.ReLU(),      # 14 x 14
            nn.ConvTranspose2d(32, c, 4, 2, 1), nn.Tanh(), nn.Flatten())             # 28 x 28

    def d_trunk(self, dims, channels):
        _, h, w = dims.image
        return nn.Sequential(
            _Unflatten((channels, h, w)),
            # No BatchNorm: it would couple the samples of a batch, which breaks WGAN-GP's per-sample
            # gradient penalty and blurs what minibatch discrimination and PacGAN add.
            nn.Conv2d(channels, 32, 4, 2, 1), nn.LeakyReLU(0.2),                       # 14 x 14
            nn.Conv2d(32, 64, 4, 2, 1), nn.LeakyReLU(0.2),                             # 7 x 7
            nn.Flatten())


class DCGANSmallDArch(_ImageArch):
    """Unrolled GAN's Stacked-MNIST networks; ``d_fraction`` 1/4 (2/4/8 channels) or 1/2 (4/8/16)."""

    def __init__(self, d_fraction: float = 0.25):
        self.d_fraction = d_fraction
        self.name = "dcgan-small-d" if d_fraction == 0.25 else "dcgan-half-d"
        self.channels = [int(round(x * d_fraction * 4)) for x in (2, 4, 8)]
        self.feature_width = self.channels[-1] * 4 * 4

    def g_body(self, dims, z_dim):
        c = dims.image[0]
        return nn.Sequential(
            nn.Linear(z_dim, 4 * 4 * 64), nn.ReLU(), _Unflatten((64, 4, 4)),
            nn.ConvTranspose2d(64, 32, 3, 2, 1), nn.BatchNorm2d(32), nn.ReLU(),                      # 7 x 7
            nn.ConvTranspose2d(32, 16, 3, 2, 1, output_padding=1), nn.BatchNorm2d(16), nn.ReLU(),    # 14 x 14
            nn.ConvTranspose2d(16, 8, 3, 2, 1, output_padding=1), nn.BatchNorm2d(8), nn.ReLU(),      # 28 x 28
            nn.Conv2d(8, c, 3, 1, 1), nn.Tanh(), nn.Flatten())

    def d_trunk(self, dims, channels):
        _, h, w = dims.image
        a, b, c = self.channels
        return nn.Sequential(
            _Unflatten((channels, h, w)),
            nn.Conv2d(channels, a, 3, 2, 1), nn.BatchNorm2d(a), nn.LeakyReLU(0.3),   # 14 x 14
            nn.Conv2d(a, b, 3, 2, 1), nn.BatchNorm2d(b), nn.LeakyReLU(0.3),          # 7 x 7
            nn.Conv2d(b, c, 3, 2, 1), nn.BatchNorm2d(c), nn.LeakyReLU(0.3),          # 4 x 4
            nn.Flatten())


ARCHS = {a.name: a for a in (MLPArch(), PacGANMLPArch(), VEEGAN_MLP, MNISTMLPArch(), DCGANArch(),
                             DCGANSmallDArch(0.25), DCGANSmallDArch(0.5))}

IMAGE_ARCHS = [name for name, a in ARCHS.items() if isinstance(a, _ImageArch)]  # = ganbench.constants.IMAGE_ARCHS


def get_arch(name: str):
    try:
        return ARCHS[name]
    except KeyError:
        raise ValueError(f"unknown architecture {name!r}: choose from {', '.join(ARCHS)}") from None
