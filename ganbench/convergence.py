"""How a 2-D run ended, judged from its own trajectory (the cheap mode metrics evaluated during training
at 10, 20, 50, 100, ... iterations and at the budget). Torch-free: the report, REPRODUCTION.md and
``ganbench run --iters auto`` all judge runs by this one rule.

- **diverged**: the run's status says so (a non-finite or runaway loss, or exploded samples).
- **untrained**: under ``UNTRAINED_HQ`` of its final samples are high quality (a line, a blob). This is
  an outcome of the method at that budget: the run stays in every table's population.
- **settled**: over a window spanning at least a doubling of iterations (from the last trajectory point
  at or below half the budget to the budget) and holding at least ``SETTLED_POINTS`` points, modes
  captured moved by at most ``SETTLED_MODES`` of K (at least one mode) and HQ by at most ``SETTLED_HQ``
  (max - min over the window; two points alone miss later moves).
- **changing**: otherwise; its numbers describe the budget, not the method.
"""
from __future__ import annotations

RUN_STATES = ("settled", "changing", "untrained", "diverged", "no trajectory")

UNTRAINED_HQ = 0.05   # final HQ fraction below this: the generator has not learnt the data
SETTLED_MODES = 0.10  # modes captured within 10 % of K (at least 1 mode) ...
SETTLED_HQ = 0.10     # ... and HQ within 10 points, over the window below
SETTLED_POINTS = 3    # the window holds at least this many trajectory points


def settle_window(steps: list[int]) -> int | None:
    """The index where the judging window starts: the last point at or below half the final step, moved
    back until the window holds ``SETTLED_POINTS`` points; None when the trajectory cannot show it (no
    point at or below half the budget, or too few points)."""
    if len(steps) < SETTLED_POINTS:
        return None
    half = steps[-1] / 2
    below = [i for i, s in enumerate(steps) if s <= half]
    if not below:
        return None
    return min(below[-1], len(steps) - SETTLED_POINTS)


def trajectory_state(traj: dict | None, modes: int, status: str | None = "ok", untrained: bool | None = None) -> str:
    """One of ``RUN_STATES`` for a trajectory of a run on K = ``modes``: a mixture's {"step", "modes",
    "hq_fraction", ...}, or an image run's {"step", "modes", "confident_fraction", ...}, whose share of
    confident digits stands for HQ and whose ``untrained`` is the sanity gate's (given by the caller)."""
    if status == "diverged":
        return "diverged"
    quality = "hq_fraction" if traj and "hq_fraction" in traj else "confident_fraction"
    if not traj or len(traj.get("step", [])) < 2 or traj.get(quality, [None])[-1] is None:
        return "no trajectory"
    if untrained if untrained is not None else traj[quality][-1] < UNTRAINED_HQ:
        return "untrained"
    start = settle_window(list(traj["step"]))
    if start is None:
        return "changing"
    m, h = traj["modes"][start:], traj[quality][start:]
    if any(v is None for v in (*m, *h)):
        return "changing"
    settled = max(m) - min(m) <= max(1.0, SETTLED_MODES * modes) and max(h) - min(h) <= SETTLED_HQ
    return "settled" if settled else "changing"


def run_state(rec: dict) -> str:
    """How one run (a record) ended: ``trajectory_state`` of its trajectory (an image run's untrained:
    its sanity gate)."""
    gate = (rec.get("metrics") or {}).get("untrained")
    return trajectory_state(rec.get("trajectory"), rec["config"]["modes"], rec.get("status"),
                            untrained=gate if isinstance(gate, bool) else None)
