"""Adam for the training loop: ``torch.optim.Adam(params, lr, betas, foreach=True)``, bit for bit, without
``torch.optim.Optimizer``.

Why not torch.optim's own: constructing any ``torch.optim`` optimizer, and each ``step``, imports
``torch._dynamo`` (``Optimizer.add_param_group`` is wrapped in ``torch._disable_dynamo``, and ``step`` calls
``torch._dynamo.graph_break()``). That import adds over a second of CPU to every process that trains, a
worker's start-up in ``ganbench run`` (docs/perf_notes.md).

What it runs is the non-capturable branch of torch 2.14.1's ``torch.optim.adam._multi_tensor_adam``
with ``amsgrad``, ``weight_decay``, ``maximize`` and ``differentiable`` off. It uses the same ``_foreach``
kernels, in the same order, with the same Python-float bias corrections. The optimizer state has
torch's layout, ``state[param] = {"step": float32 0-d CPU tensor, "exp_avg": ..., "exp_avg_sq": ...}``,
so checkpoints are unchanged. tests/test_training.py checks it against torch.optim.Adam bit for bit.
Re-check that test when the pinned torch version changes. It has what the training loop uses and no
more: one parameter group, no ``state_dict`` (ganbench.train saves the state itself) and no checks
of lr and betas (the variants' fixed values).
"""
from __future__ import annotations

from typing import Iterable

import torch


class Adam:
    """Adam over ``params``; parameters whose ``grad`` is None are skipped at a step, as torch does."""

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8):
        self.params = list(params)
        self.lr, self.eps = float(lr), float(eps)
        self.beta1, self.beta2 = (float(b) for b in betas)
        self.state: dict[torch.nn.Parameter, dict[str, torch.Tensor]] = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        if not set_to_none:
            raise ValueError("only zero_grad(set_to_none=True) is supported")
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        params = [p for p in self.params if p.grad is not None]
        if not params:
            return
        for p in params:
            if p not in self.state:  # torch's _init_group: the step count lives on the CPU in float32
                self.state[p] = {"step": torch.tensor(0.0, dtype=torch.float32, device="cpu"),
                                 "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                                 "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format)}
        grads = [p.grad for p in params]
        exp_avgs = [self.state[p]["exp_avg"] for p in params]
        exp_avg_sqs = [self.state[p]["exp_avg_sq"] for p in params]
        steps = [self.state[p]["step"] for p in params]

        torch._foreach_add_(steps, torch.tensor(1.0, device="cpu"), alpha=1.0)
        torch._foreach_lerp_(exp_avgs, grads, 1 - self.beta1)
        torch._foreach_mul_(exp_avg_sqs, self.beta2)
        torch._foreach_addcmul_(exp_avg_sqs, grads, grads, 1 - self.beta2)
        bias_correction1 = [1 - self.beta1 ** s.item() for s in steps]
        bias_correction2 = [1 - self.beta2 ** s.item() for s in steps]
        step_size = [(self.lr / bc) * -1 for bc in bias_correction1]
        bias_correction2_sqrt = [bc ** 0.5 for bc in bias_correction2]
        exp_avg_sq_sqrt = torch._foreach_sqrt(exp_avg_sqs)
        torch._foreach_div_(exp_avg_sq_sqrt, bias_correction2_sqrt)
        torch._foreach_add_(exp_avg_sq_sqrt, self.eps)
        torch._foreach_addcdiv_(params, exp_avgs, exp_avg_sq_sqrt, step_size)
