"""Ensemble building blocks: K independent networks evaluated as one batched network.

Every tensor that flows through a model has shape ``[K, B, features]``: K members (one per seed),
B samples each. Weights are stacked along a leading K axis and applied with ``torch.baddbmm``, so
training K seeds costs one set of batched matrix products instead of K small ones. A single model is
simply K = 1. Member k draws its initial weights from its own ``torch.Generator`` in the same order a
lone model would, so member k of an ensemble starts exactly where the same seed trained alone starts;
since the loss is a sum over members and Adam is element-wise, it also moves the same way.

Bitwise, not only nearly: a member's numbers must not depend on the ensemble's size or on who else is
in it (a record depends only on its config). Two things in ATen's CPU kernels break that and are
handled here. (1) Element-wise kernels run in vector chunks (2 x 16 floats on AVX-512, 2 x 8 on AVX2)
and finish a tensor's last partial chunk with scalar code that rounds transcendental functions
(exp, tanh, softplus) differently; where a member's values sit relative to that tail depends on K.
``memberwise`` pads each member's block to a multiple of ``_BLOCK`` floats so no member has a tail.
(2) Several threads split a tensor at points that depend on its total size: training therefore runs
with one intra-op thread (``one_thread``); the executors spread ensembles over processes instead.
Matrix products, reductions over a member's own axis, and +, -, *, / are exact per element and
need nothing (tests/test_training.py checks the whole property for every variant).
"""
from __future__ import annotations

import contextlib
import math
from typing import Callable, Iterator, Sequence

import torch
from torch import nn
from torch.autograd.function import once_differentiable

_BLOCK = 64  # floats: a multiple of every CPU kernel's vector chunk (32 on AVX-512, 16 on AVX2)


def memberwise(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """``fn(x)`` for an element-wise ``fn`` and x [K, ...], computed so that member k's values are
    bitwise the same whatever K is: each member's block is padded to a multiple of ``_BLOCK`` floats,
    so every element goes through the kernel's vector path (see the module docstring). Differentiable."""
    if x.device.type != "cpu":
        return fn(x)  # GPU kernels have no scalar tail that rounds differently
    flat = x.reshape(x.shape[0], -1)
    n = flat.shape[1]
    if n % _BLOCK:
        flat = nn.functional.pad(flat, (0, _BLOCK - n % _BLOCK))
    return fn(flat)[:, :n].reshape(x.shape)


@contextlib.contextmanager
def one_thread(device: torch.device | str = "cpu") -> Iterator[None]:
    """One torch intra-op thread within the block, on the CPU (see the module docstring)."""
    if torch.device(device).type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class MemberwiseTanh(nn.Module):
    """``nn.Tanh`` over [K, B, F], bitwise independent of K (``memberwise``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return memberwise(torch.tanh, x)


def _uniform(gens: Sequence[torch.Generator], shape: tuple[int, ...], bound: float) -> torch.Tensor:
    """One uniform(-bound, bound) tensor per member, each from its own generator, stacked on dim 0."""
    return torch.stack([(torch.rand(shape, generator=g) * 2 - 1) * bound for g in gens])


_NARROW = 1  # output widths at or below this avoid CPU bmm (see EnsembleLinear.forward)


class EnsembleLinear(nn.Module):
    """K linear layers y_k = x_k W_k + b_k, initialised like ``nn.Linear`` (U(+-1/sqrt(fan_in))), or,
    with ``init_std``, weights N(0, init_std^2) and zero biases (the DCGAN / PacGAN convention)."""

    def __init__(self, gens: Sequence[torch.Generator], d_in: int, d_out: int, init_std: float | None = None):
        super().__init__()
        if init_std is None:
            bound = 1 / math.sqrt(d_in)
            self.weight = nn.Parameter(_uniform(gens, (d_in, d_out), bound))
            self.bias = nn.Parameter(_uniform(gens, (1, d_out), bound))
        else:
            self.weight = nn.Parameter(torch.stack([init_std * torch.randn((d_in, d_out), generator=g) for g in gens]))
            self.bias = nn.Parameter(torch.zeros(len(gens), 1, d_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [K, B, d_in] -> [K, B, d_out]
        if self.weight.shape[-1] <= _NARROW and x.device.type == "cpu":
            # A discriminator's one output: the multiply-and-sum beats CPU batched GEMM; from two outputs
            # on, baddbmm wins (docs/perf_notes.md).
            return (x.unsqueeze(-1) * self.weight.unsqueeze(1)).sum(-2) + self.bias
        return torch.baddbmm(self.bias, x, self.weight)


def mlp(gens: Sequence[torch.Generator], sizes: Sequence[int], out_act: nn.Module | None = None) -> nn.Sequential:
    """Linear layers of the given sizes with ReLU between them (and ``out_act`` after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(EnsembleLinear(gens, a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    if out_act is not None:
        layers.append(out_act)
    return nn.Sequential(*layers)


class LabelConcat(nn.Module):
    """Conditional input: a learned n_classes x n_classes label embedding concatenated to x.

    This is how the tutorial's conditional WGAN-GP conditions both networks; ``net`` must take
    ``d + n_classes`` inputs.
    """

    def __init__(self, gens: Sequence[torch.Generator], n_classes: int, net: nn.Module):
        super().__init__()
        # nn.Embedding initialises N(0, 1).
        self.embedding = nn.Parameter(torch.stack([torch.randn((n_classes, n_classes), generator=g)
                                                   for g in gens]))
        self.net = net

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        members = torch.arange(x.shape[0], device=x.device)[:, None]
        return self.net(torch.cat([x, self.embedding[members, labels]], dim=-1))


class MinibatchDiscrimination(nn.Module):
    """Minibatch discrimination (Salimans et al. 2016, "Improved Techniques for Training GANs", 3.2).

    M_i = f(x_i) T reshaped to (n_kernels, kernel_dim); c_b(i, j) = exp(-||M_i,b - M_j,b||_1);
    o(x_i)_b = sum_{j != i} c_b(i, j). Output: f(x_i) concatenated with o(x_i), so the next layer can
    see whether a sample is unusually close to the others in its batch (a collapsed generator's are).
    """

    def __init__(self, gens: Sequence[torch.Generator], d_in: int, n_kernels: int = 16, kernel_dim: int = 8):
        super().__init__()
        self.n_kernels, self.kernel_dim = n_kernels, kernel_dim
        # The reference code draws T from N(0, 0.05^2).
        self.T = nn.Parameter(torch.stack([0.05 * torch.randn((d_in, n_kernels * kernel_dim), generator=g)
                                           for g in gens]))

    @property
    def d_out_extra(self) -> int:
        return self.n_kernels

    def forward(self, f: torch.Tensor) -> torch.Tensor:  # [K, B, d] -> [K, B, d + n_kernels]
        k, b, _ = f.shape
        m = torch.bmm(f, self.T).view(k, b, self.n_kernels, self.kernel_dim)
        m = m.permute(0, 2, 1, 3).reshape(k * self.n_kernels, b, self.kernel_dim)
        o = _L1Affinity.apply(m, k)                           # [K * n_kernels, B]
        return torch.cat([f, o.view(k, self.n_kernels, b).transpose(1, 2)], dim=-1)


def pairwise_l1(mt: torch.Tensor) -> torch.Tensor:
    """||m_i - m_j||_1 for every pair of rows of each m [B, D], given as ``mt`` = m transposed, [N, D, B];
    returns [N, B, B]. On the CPU it equals ``torch.cdist(m, m, p=1)`` bit for bit (tests/test_training.py):
    ATen's kernel sums |m_ic - m_jc| over c = 0, 1, ... one pair at a time in scalar code, and this
    makes the same sums in the same order, one dimension at a time over all pairs in vector code."""
    row = mt[:, 0]
    l1 = torch.sub(row.unsqueeze(2), row.unsqueeze(1)).abs_()
    term = torch.empty_like(l1)
    for c in range(1, mt.shape[1]):
        row = mt[:, c]
        l1.add_(torch.sub(row.unsqueeze(2), row.unsqueeze(1), out=term).abs_())
    return l1


class _L1Affinity(torch.autograd.Function):
    """o_i = sum_{j != i} exp(-||m_i - m_j||_1) for m [N, B, D] (N = K members x kernels), with a
    hand-written backward: torch.cdist's p=1 backward is generic and slow (benchmarks/test_bench_training.py).
    With e_ij = exp(-l1_ij) symmetric,
    dL/dm_i = -sum_j (g_i + g_j) e_ij sign(m_i - m_j), g = dL/do; +, *, sign and a sum along a member's
    own row are exact per member, so the result stays independent of K (``memberwise`` covers exp)."""

    @staticmethod
    def forward(ctx, m: torch.Tensor, k: int) -> torch.Tensor:
        mt = m.transpose(1, 2).contiguous()                   # [N, D, B]: each dimension's row contiguous
        l1 = pairwise_l1(mt)                                  # [N, B, B]
        e = memberwise(torch.exp, l1.neg_().reshape(k, -1)).reshape(l1.shape)
        ctx.save_for_backward(mt, e)
        return e.sum(2) - 1.0                                 # drop the j = i term, exp(0) = 1

    @staticmethod
    @once_differentiable  # nothing differentiates the layer twice; if something did, it would be told
    def backward(ctx, grad_o: torch.Tensor):
        mt, e = ctx.saved_tensors
        weight = (grad_o.unsqueeze(2) + grad_o.unsqueeze(1)).mul_(e).neg_()  # [N, B, B]
        grad = torch.empty_like(mt)
        for c in range(mt.shape[1]):
            mc = mt[:, c]
            grad[:, c] = torch.sub(mc.unsqueeze(2), mc.unsqueeze(1)).sign_().mul_(weight).sum(2)
        return grad.transpose(1, 2), None


class _FirstOrderActivation(torch.autograd.Function):
    """ReLU (``slope`` None) or LeakyReLU(``slope``) whose backward treats the activation pattern as a
    constant: it passes the same values as PyTorch's own backward (the same ATen kernel), but that
    backward is differentiable only in the incoming gradient, not in the activation's input.

    That is the whole difference, and it is exact: a piecewise-linear activation's second derivative is
    zero, and PyTorch's double backward of ReLU / LeakyReLU says so by sending a tensor of zeros back
    through the whole forward pass (``threshold_backward``'s gradient for ``self`` is ``zeros_like``).
    For the gradient penalty that is a second full backward of the critic's forward on the
    interpolates (6 of a WGAN-GP critic step's 25 batched matrix products) that only ever adds 0 to
    the parameters' gradients. Without it the gradients are the same, bit for bit (a zero gradient may
    keep the sign -0 that adding +0 would have turned into +0, which no Adam update can see;
    tests/test_training.py)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, slope: float | None) -> torch.Tensor:
        out = torch.relu(x) if slope is None else nn.functional.leaky_relu(x, slope)
        ctx.slope = slope
        ctx.save_for_backward(out if slope is None else x)  # what ReLU's / LeakyReLU's backward saves
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (saved,) = ctx.saved_tensors
        if ctx.slope is None:
            return torch.ops.aten.threshold_backward(grad, saved.detach(), 0), None
        return torch.ops.aten.leaky_relu_backward(grad, saved.detach(), ctx.slope, False), None


class FirstOrderActivation(nn.Module):
    """``nn.ReLU`` / ``nn.LeakyReLU`` for networks differentiated twice (see _FirstOrderActivation)."""

    def __init__(self, slope: float | None = None):
        super().__init__()
        self.slope = slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _FirstOrderActivation.apply(x, self.slope)

    def extra_repr(self) -> str:
        return "relu" if self.slope is None else f"leaky_relu, negative_slope={self.slope}"


def first_order_activations(net: nn.Module) -> nn.Module:
    """``net`` with every ``nn.ReLU`` and ``nn.LeakyReLU`` replaced by a ``FirstOrderActivation``, in
    place: the same values and first derivatives, and a second derivative that skips the zeros. For
    critics whose loss has an input gradient in it (the gradient penalty). Returns ``net``."""
    for parent in list(net.modules()):
        for name, child in parent.named_children():
            if type(child) is nn.ReLU:
                setattr(parent, name, FirstOrderActivation())
            elif type(child) is nn.LeakyReLU:
                setattr(parent, name, FirstOrderActivation(child.negative_slope))
    return net


def member_generators(seeds: Sequence[int], stream: int, device: torch.device | str = "cpu") -> list[torch.Generator]:
    """One generator per ensemble member, on ``device``; ``stream`` separates the independent random
    streams of one seed (initial weights, training batches, evaluation samples)."""
    return [torch.Generator(device=device).manual_seed(int(s) * 1_000_003 + stream) for s in seeds]


class EnsembleBatchNorm(nn.Module):
    """BatchNorm over each member's own batch: [K, B, F], statistics over B per member and feature,
    affine weight 1 and bias 0 at the start, running statistics (momentum 0.1) for eval mode, as
    ``nn.BatchNorm1d`` per member. Parameters and buffers are [K, 1, F], so member k's slice is a
    one-member model's."""

    def __init__(self, k: int, width: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(k, 1, width))
        self.bias = nn.Parameter(torch.zeros(k, 1, width))
        self.register_buffer("running_mean", torch.zeros(k, 1, width))
        self.register_buffer("running_var", torch.ones(k, 1, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            var, mean = torch.var_mean(x, dim=1, keepdim=True, correction=0)
            with torch.no_grad():
                n = x.shape[1]
                # (1 - m) old + m new, as separate products: lerp_ and add_(alpha=) fuse a multiply-add
                # in their vector path only, which would make the result depend on K.
                m = self.momentum
                self.running_mean.mul_(1 - m).add_(mean * m)
                self.running_var.mul_(1 - m).add_(var * (n / max(n - 1, 1)) * m)
        else:
            mean, var = self.running_mean, self.running_var
        return (x - mean) * torch.rsqrt(var + self.eps) * self.weight + self.bias


class Maxout(nn.Module):
    """[K, B, units * pieces] -> [K, B, units]: the largest of each unit's ``pieces`` linear pieces
    (Goodfellow et al. 2013)."""

    def __init__(self, pieces: int):
        super().__init__()
        self.pieces = pieces

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unflatten(-1, (-1, self.pieces)).amax(-1)


class Plain(nn.Module):
    """An unconditional network with the conditional call signature ``net(x, labels)``."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(x)
