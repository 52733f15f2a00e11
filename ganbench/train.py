"""The training loop: one function that trains K seeds of one variant at once as a batched ensemble.

Member k sees exactly what the same seed would see trained alone: its own initial weights, its own
training batches, noise and labels, each from its own random stream (see ``ganbench.nets``). A lone
run is K = 1.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from ganbench.adam import Adam
from ganbench.constants import RUNAWAY_LOSS
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
    state: TrainState | None = None  # everything to continue training: see ``member_train_state``


# The critic's / discriminator's loss is runaway, and its run diverged, once its average over a logged
# interval passes this in magnitude (times sqrt(data_dim / 2) beyond 2-D, so 1,980 on MNIST).
# Non-saturating GAN losses are softplus of logits, O(1) to O(10) while training works; a WGAN critic's
# loss is bounded by its Lipschitz constant (1, by the penalty) times the data's diameter. The generator's
# loss is not judged: a WGAN generator's loss carries the critic's free offset and drifts while training
# is healthy; a NaN or inf in either loss still diverges. (RUNAWAY_LOSS lives in ganbench.constants.)
def runaway_threshold(data_dim: int) -> float:
    return RUNAWAY_LOSS * max(1.0, (data_dim / 2) ** 0.5)


class LossWatch:
    """The loss log and the divergence watch of an ensemble, per member: D's and G's losses summed over
    each logging window (on the device: no host sync but at log points) and logged as window means,
    the first step whose loss is non-finite, and the first log point where D's averaged loss ran away
    (past ``runaway_threshold``)."""

    def __init__(self, k: int, device, limit: float, log_every: int, resume: Sequence[dict] | None = None):
        self.limit, self.log_every = limit, log_every
        self.first_bad = torch.full((k,), -1, dtype=torch.long, device=device)
        self.d_sum = torch.zeros(k, device=device)
        self.g_sum = torch.zeros(k, device=device)
        self.runaway: list[int | None] = [None] * k
        self.loss_steps: list[int] = []
        self.d_losses: list[list[float]] = []  # [log point][member]
        self.g_losses: list[list[float]] = []
        if resume:
            self.first_bad = torch.tensor([r["first_bad"] for r in resume], dtype=torch.long, device=device)
            self.d_sum = torch.tensor([r["d_sum"] for r in resume], device=device)
            self.g_sum = torch.tensor([r["g_sum"] for r in resume], device=device)
            self.runaway = [r["runaway"] for r in resume]
            self.loss_steps = list(resume[0]["loss_steps"])
            self.d_losses = [list(row) for row in zip(*[r["d_losses"] for r in resume], strict=False)]
            self.g_losses = [list(row) for row in zip(*[r["g_losses"] for r in resume], strict=False)]

    def add(self, step: int, d_loss: torch.Tensor, g_loss: torch.Tensor) -> None:
        """One iteration's losses (0-based ``step``); a full window is logged and restarted."""
        d_det, g_det = d_loss.detach(), g_loss.detach()
        bad = ~(torch.isfinite(d_det) & torch.isfinite(g_det))
        self.first_bad = torch.where(bad & (self.first_bad < 0), torch.full_like(self.first_bad, step), self.first_bad)
        self.d_sum += d_det
        self.g_sum += g_det
        if (step + 1) % self.log_every == 0:
            self.log(step, self.log_every)
            self.d_sum.zero_(), self.g_sum.zero_()

    def log(self, step: int, count: int) -> None:
        """Log the window ending at ``step`` (0-based) over ``count`` iterations."""
        self.loss_steps.append(step + 1)
        self.d_losses.append((self.d_sum / count).tolist())
        self.g_losses.append((self.g_sum / count).tolist())
        for m, d in enumerate(self.d_losses[-1]):  # D's loss only: G's has a free offset (see above)
            if self.runaway[m] is None and abs(d) > self.limit:  # NaN compares False: caught by first_bad
                self.runaway[m] = step + 1

    def state(self) -> dict:
        """What continuing needs (copies): the open window's sums, the watch, the log so far."""
        return {"d_sum": self.d_sum.tolist(), "g_sum": self.g_sum.tolist(), "first_bad": self.first_bad.tolist(),
                "runaway": list(self.runaway), "loss_steps": list(self.loss_steps),
                "d_losses": [list(r) for r in self.d_losses], "g_losses": [list(r) for r in self.g_losses]}

    def verdicts(self) -> tuple[list[int | None], list[str | None]]:
        """Per member, where it diverged and why (a non-finite loss first, else a runaway), or None."""
        steps: list[int | None] = []
        reasons: list[str | None] = []
        for bad_at, runaway_at in zip(self.first_bad.tolist(), self.runaway, strict=True):
            if bad_at >= 0 and (runaway_at is None or bad_at < runaway_at):
                steps.append(int(bad_at)), reasons.append("non-finite loss")
            elif runaway_at is not None:
                steps.append(runaway_at), reasons.append(f"runaway loss (|averaged D loss| > {self.limit:g})")
            else:
                steps.append(None), reasons.append(None)
        return steps, reasons


@dataclass
class TrainState:
    """Everything an ensemble continues training from: after ``iters`` iterations, its networks' and
    Adam's state dicts, each member's random stream, and the loss watch (``LossWatch.state``)."""

    iters: int
    G: dict
    D: dict
    opt_g: dict
    opt_d: dict
    rng: list
    watch: dict


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


LOG_EVERY = 100  # iterations per logged loss average: fixed, so that a run extended later logs as one trained at once


def train_ensemble(variant: Variant, points: Sequence[np.ndarray], labels: Sequence[np.ndarray],
                   seeds: Sequence[int], dims: Dims, iters: int, batch_size: int = 128,
                   log_every: int = LOG_EVERY, device: torch.device | str | None = None,
                   eval_at: Sequence[int] = (), on_eval: Callable[[int, nn.Module], None] | None = None,
                   resume: list[dict] | None = None, precision: str | None = None) -> TrainedEnsemble:
    """Train ``len(seeds)`` models of ``variant``; member k trains on ``points[k]`` (labels[k]).

    One iteration is one generator update, preceded by ``variant.n_critic`` discriminator updates,
    each on a fresh batch (the WGAN-GP paper's counting). Losses are averaged over each
    ``log_every`` iterations. A member diverges at the first iteration whose D or G loss is NaN or inf,
    or at the first log point whose averaged D loss passes ``runaway_threshold`` in magnitude (a
    runaway loss; the generator's is not judged, see above); ``diverged_reason`` says which. The others
    are unaffected (members share no parameters and no gradients). After each iteration count in
    ``eval_at``, ``on_eval(count, G)`` is called (to evaluate the generator mid-training); what it does
    with G (``generate``: eval mode, its own random stream) must leave training as it was.
    On the CPU it runs on one torch thread, so that a member's result is bitwise independent of the
    ensemble it trains in (``ganbench.nets``).

    ``precision="bf16"``: the training steps run under ``torch.autocast`` in bfloat16 (matrix products
    in bf16, accumulated and stored in fp32: opt-in, faster where the CPU has AVX512-BF16 or AMX;
    results/perf.md measures its speed and its effect on the results). Sampling stays in fp32.

    ``resume``: one ``member_train_state`` per member, all saved after the same number of iterations
    (by runs of this config with a smaller budget): training continues from there and ends exactly
    where training from scratch to ``iters`` ends (tests/test_runner.py checks it).
    """
    device = pick_device(device)
    with one_thread(device):
        return _train(variant, points, labels, seeds, dims, iters, batch_size, log_every, device,
                      set(eval_at), on_eval, resume, precision)


def _lone_name(name: str) -> tuple[str, int | None]:
    """A tensor's name in a one-member ensemble and, for a ``PerMember`` module's own tensor
    (``members.<k>.rest`` -> ``members.0.rest``), its member k; None for a stacked tensor."""
    parts = name.split(".")
    if "members" not in parts:
        return name, None
    i = parts.index("members")
    return ".".join(parts[:i + 1] + ["0"] + parts[i + 2:]), int(parts[i + 1])


def _slice_member(name: str, t: torch.Tensor, k: int) -> tuple[str, torch.Tensor] | None:
    """Member k's part of one ensemble tensor, named as in a one-member ensemble: a [k:k+1] slice of a
    stacked tensor, or the k-th ``PerMember`` module's own tensor; None for another member's. 0-d
    tensors (Adam's step count) are shared."""
    lone, owner = _lone_name(name)
    if owner is not None:
        return (lone, t.detach().cpu().clone()) if owner == k else None
    return name, (t[k:k + 1] if t.dim() > 0 else t).detach().cpu().clone()


def member_state(named: dict, k: int) -> dict:
    """Member k's entries of a name -> tensor mapping (a state dict), as a one-member model's."""
    return dict(filter(None, (_slice_member(n, t, k) for n, t in named.items())))


def stack_members(states: Sequence[dict], names: Sequence[str]) -> dict:
    """The inverse of ``member_state`` over all members: the ensemble's tensor for each of ``names``."""
    out = {}
    for name in names:
        lone, owner = _lone_name(name)
        if owner is not None:
            out[name] = states[owner][lone]
        elif states[0][name].dim() == 0:
            out[name] = states[0][name]
        else:
            out[name] = torch.cat([st[name] for st in states])
    return out


def _opt_state(opt: Adam, module: nn.Module) -> dict:
    """Adam's per-parameter state keyed '<param name>.<exp_avg|exp_avg_sq|step>'."""
    out = {}
    for name, p in module.named_parameters():
        for key, t in opt.state.get(p, {}).items():
            out[f"{name}.{key}"] = t
    return out


def _names(module: nn.Module, opt_state: dict) -> list[str]:
    """The ensemble's names of Adam state entries, from a one-member state's (PerMember members expand)."""
    return [f"{name}.{key}" for name, _ in module.named_parameters() for key in ("step", "exp_avg", "exp_avg_sq")
            if _lone_name(f"{name}.{key}")[0] in opt_state]


def _load_opt_state(opt: Adam, module: nn.Module, state: dict, device) -> None:
    for name, p in module.named_parameters():
        keys = [k for k in ("step", "exp_avg", "exp_avg_sq") if f"{name}.{k}" in state]
        if keys:
            opt.state[p] = {k: state[f"{name}.{k}"].to(device if k != "step" else "cpu").clone() for k in keys}


def member_train_state(trained: TrainedEnsemble, k: int) -> dict:
    """Member k's training state at the end of ``trained``: its weights and BatchNorm statistics,
    Adam's moments, its random stream, the loss log and the current (unfinished) logging window."""
    st, w = trained.state, trained.state.watch
    return {"iters": st.iters, "G": member_state(st.G, k), "D": member_state(st.D, k),
            "opt_g": member_state(st.opt_g, k), "opt_d": member_state(st.opt_d, k),
            "rng": st.rng[k], "d_sum": float(w["d_sum"][k]), "g_sum": float(w["g_sum"][k]),
            "first_bad": int(w["first_bad"][k]), "runaway": w["runaway"][k], "loss_steps": list(w["loss_steps"]),
            "d_losses": [row[k] for row in w["d_losses"]], "g_losses": [row[k] for row in w["g_losses"]]}


def _autocast(device: torch.device, precision: str | None) -> Callable[[], contextlib.AbstractContextManager]:
    """What each training step runs in: nothing (fp32) or ``torch.autocast`` in bfloat16."""
    if precision is None:
        return contextlib.nullcontext
    if precision != "bf16":
        raise ValueError(f"precision must be None (fp32) or 'bf16', got {precision!r}")
    return lambda: torch.autocast(device.type, dtype=torch.bfloat16)


def _train(variant, points, labels, seeds, dims, iters, batch_size, log_every, device, eval_at,
           on_eval, resume, precision=None) -> TrainedEnsemble:
    seeds = [int(s) for s in seeds]
    k = len(seeds)
    amp = _autocast(device, precision)
    G, D = variant.build(member_generators(seeds, STREAM_INIT), dims)
    if resume:
        if len(resume) != k or len({r["iters"] for r in resume}) != 1 or resume[0]["iters"] > iters:
            raise ValueError("resume needs one state per member, all from the same budget, at most iters")
        G.load_state_dict(stack_members([r["G"] for r in resume], list(G.state_dict())))
        D.load_state_dict(stack_members([r["D"] for r in resume], list(D.state_dict())))
    G.to(device), D.to(device)
    # torch.optim.Adam(foreach=True), bit for bit, without importing torch._dynamo (ganbench.adam).
    # foreach, not fused: the CPU's fused kernel finishes each tensor's last partial vector chunk
    # with scalar code that rounds differently, so a member's update would depend on the ensemble's
    # size.
    opt_g = Adam(G.parameters(), **variant.adam)
    opt_d = Adam(D.parameters(), **(variant.adam_d or variant.adam))
    gens = member_generators(seeds, STREAM_TRAIN, device)
    start = 0
    if resume:
        start = resume[0]["iters"]
        _load_opt_state(opt_g, G, stack_members([r["opt_g"] for r in resume], list(_names(G, resume[0]["opt_g"]))),
                        device)
        _load_opt_state(opt_d, D, stack_members([r["opt_d"] for r in resume], list(_names(D, resume[0]["opt_d"]))),
                        device)
        for g, r in zip(gens, resume, strict=True):
            g.set_state(r["rng"])
    draws = _Draws(torch.as_tensor(np.stack(points), device=device),
                   torch.as_tensor(np.stack(labels), device=device), gens, dims.latent_dim, dims.n_classes)
    n = batch_size * variant.pack
    if variant.conditional and variant.fake_labels not in ("real", "uniform"):
        raise ValueError(f"fake_labels must be 'real' or 'uniform', not {variant.fake_labels!r}")
    same_labels = variant.conditional and variant.fake_labels == "real"
    uniform_labels = variant.conditional and not same_labels

    watch = LossWatch(k, device, runaway_threshold(dims.data_dim), log_every, resume)
    out = TrainedEnsemble(G=G, D=D, seeds=seeds)

    def snapshot() -> TrainState:
        """The state to continue from (before the last, unfinished logging window is closed)."""
        return TrainState(iters=iters, G=G.state_dict(), D=D.state_dict(), opt_g=_opt_state(opt_g, G),
                          opt_d=_opt_state(opt_d, D), rng=[g.get_state() for g in gens], watch=watch.state())

    t0 = time.perf_counter()
    if start == iters:
        out.state = snapshot()
    for step in range(start, iters):
        D.requires_grad_(True)
        for _ in range(variant.n_critic):
            real, real_labels = draws.real(n)
            z, fake_labels = draws.noise(n, uniform_labels)
            if same_labels:
                fake_labels = real_labels
            with amp():
                with torch.no_grad():
                    fake = G(z, fake_labels)
                d_loss = variant.d_loss(D, real, fake, real_labels, fake_labels, gens).float()
            opt_d.zero_grad(set_to_none=True)
            d_loss.sum().backward()
            opt_d.step()
        D.requires_grad_(False)  # the generator step needs gradients through D, not for it
        z, fake_labels = draws.noise(n, uniform_labels)
        if same_labels:
            fake_labels = real_labels  # the last critic batch's
        with amp():
            g_loss = variant.g_loss(D, G(z, fake_labels), fake_labels).float()
        opt_g.zero_grad(set_to_none=True)
        g_loss.sum().backward()
        opt_g.step()

        watch.add(step, d_loss, g_loss)
        if step == iters - 1:
            out.state = snapshot()
            if (step + 1) % log_every:  # the last window is short: log it, but continue from before it
                watch.log(step, (step % log_every) + 1)
        if on_eval is not None and step + 1 in eval_at:
            on_eval(step + 1, G)
    D.requires_grad_(True)
    out.train_seconds = time.perf_counter() - t0
    if start == iters and iters % log_every:  # resumed at its own budget: close the short window again
        watch.log(iters - 1, iters % log_every)
    out.loss_steps, out.d_losses, out.g_losses = watch.loss_steps, watch.d_losses, watch.g_losses
    out.diverged_step, out.diverged_reason = watch.verdicts()
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
    with one_thread(device):  # in chunks: memory stays bounded for any --n-eval
        x = torch.cat([G(z[:, i:i + GENERATE_CHUNK], None if y is None else y[:, i:i + GENERATE_CHUNK])
                       for i in range(0, n, GENERATE_CHUNK)], dim=1) if n > GENERATE_CHUNK else G(z, y)
    G.train(was_training)
    return x.cpu().numpy(), (None if y is None else y.cpu().numpy())


GENERATE_CHUNK = 50_000  # samples per member through G at once (every committed run is below: one pass)
