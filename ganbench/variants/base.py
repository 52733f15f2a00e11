"""What every GAN variant says about itself, and the default networks most of them share.

A variant is one small class in its own file in this folder. It says how its networks are built and
what its two losses are; the training loop in ``ganbench.train`` owns everything else (optimisers,
batches, the critic schedule, logging). All tensors are [K, B, features]: see ``ganbench.nets``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Sequence

# torch is imported where a variant builds or trains networks, not where a config or a report only asks
# for its hyperparameters (its params(), a run's identity)
if TYPE_CHECKING:
    import torch
    from torch import nn


@dataclass(frozen=True)
class Dims:
    """Network sizes for one dataset: the tutorial's 3 x 128 ReLU MLPs by default."""

    data_dim: int = 2                       # features per sample (C*H*W for images, which travel flat)
    latent_dim: int = 2
    hidden: int = 128
    depth: int = 3
    n_classes: int = 0
    out_tanh: bool = False                  # bound G's output to [-1, 1] (for data scaled into that box)
    arch: str = "mlp"                       # see ganbench.archs
    image: tuple[int, int, int] | None = None  # (C, H, W) for image data

    def hidden_sizes(self) -> list[int]:
        return [self.hidden] * self.depth


def _adam(cfg: dict) -> dict:
    return {"lr": cfg["lr"], "betas": list(cfg["betas"])}


@dataclass(frozen=True)
class HParam:
    """A hyperparameter of a variant: how ``--set`` reads it and a run's identity holds it."""

    kind: str                      # "int", "float", "adam" ({lr, betas}), "bool" or "choice"
    maximum: float | None = None   # the largest value --set accepts (beyond it a run takes days or the memory)
    settable: bool = True          # --set NAME=VALUE may change it (structural ones, pack say, stay fixed)
    applies: str | None = None     # in the identity only while this boolean hyperparameter is true

    def __post_init__(self):
        if self.kind not in HPARAM_KINDS:
            raise TypeError(f"HParam kind must be one of {', '.join(HPARAM_KINDS)}, got {self.kind!r}")
        if self.settable and self.kind not in SETTABLE_KINDS:
            raise TypeError(f"a {self.kind} hyperparameter cannot be set with --set: declare it settable=False")


HPARAM_KINDS = ("int", "float", "adam", "bool", "choice")
SETTABLE_KINDS = ("int", "float", "adam")  # what --set NAME=VALUE can read


# Class attributes of a variant that are not hyperparameters. Every other public, non-method class
# attribute must be declared in ``hyperparameters`` (checked when the class is made), so that whatever
# changes training is in ``params()`` and the run id by construction, never by a hand-kept list.
NOT_HYPERPARAMETERS = frozenset({"name", "hyperparameters", "mixture_overrides", "critic_step_cost",
                                 "generator_step_cost", "default_grid", "rank"})


class Variant:
    """Base class. Subclasses set ``name`` and override the loss methods (and ``build`` if needed); a
    new hyperparameter is a class attribute declared in the subclass's own ``hyperparameters``."""

    name: ClassVar[str]
    rank: ClassVar[int] = 100             # where it sorts in tables and --help (ties: by name); not inherited
    default_grid: ClassVar[bool] = False  # in `ganbench run`'s default grid (the tutorial's five); not inherited
    conditional: ClassVar[bool] = False   # G and D see labels
    # A conditional variant's fake labels: "real" (the real batch's labels, for the critic's fakes and,
    # in the generator step, the last critic batch's: the tutorial's scheme, which keeps a fake and
    # the real sample it is interpolated with in one class) or "uniform" (drawn over the classes).
    fake_labels: ClassVar[str] = "uniform"
    n_critic: ClassVar[int] = 1           # discriminator steps per generator step
    pack: ClassVar[int] = 1               # samples drawn per discriminator input (PacGAN's m)
    adam: ClassVar[dict] = {"lr": 2e-4, "betas": (0.5, 0.999)}
    adam_d: ClassVar[dict | None] = None  # the discriminator's Adam when it differs from the generator's
    # This class's own hyperparameters (a subclass lists only the ones it adds; ``all_hyperparameters``
    # merges them). Beyond the maxima a run would take days (n_critic).
    hyperparameters: ClassVar[dict[str, HParam]] = {
        "adam": HParam("adam"),
        "adam_d": HParam("adam"),  # None (and absent from the identity) unless set
        "n_critic": HParam("int", maximum=100),
        "conditional": HParam("bool", settable=False),
        "fake_labels": HParam("choice", settable=False, applies="conditional"),
        "pack": HParam("int", settable=False),
    }
    # Hyperparameters that replace the above on 2-D mixtures outside presets (the default grid): a
    # variant whose paper gives separate settings for its 2-D toys says so here (WGAN-GP: gan_toy.py's).
    mixture_overrides: ClassVar[dict] = {}
    # What one training iteration of one member costs, relative to the vanilla GAN's (= 1), measured on
    # a CPU (2-D rings, 1 thread; `ganbench run` records' timings): the planner starts the costliest
    # ensembles first and splits ensembles so that the workers finish together (ganbench.planner).
    critic_step_cost: ClassVar[float] = 0.6      # one discriminator step
    generator_step_cost: ClassVar[float] = 0.4   # one generator step

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # where it sorts and whether it is in the default grid are the class's own, never inherited:
        # a variant made from vanilla's class is not vanilla's place in the tables
        cls.rank = vars(cls).get("rank", 100)
        cls.default_grid = vars(cls).get("default_grid", False)
        declared = cls.all_hyperparameters()
        for key, value in vars(cls).items():
            if (key.startswith("_") or key in NOT_HYPERPARAMETERS or key in declared or callable(value)
                    or isinstance(value, (property, classmethod, staticmethod))):
                continue
            raise TypeError(f"{cls.__name__}.{key}: declare it in {cls.__name__}.hyperparameters (it changes "
                            "training, so it belongs in the run id) or add it to NOT_HYPERPARAMETERS")

    @classmethod
    def all_hyperparameters(cls) -> dict[str, HParam]:
        """Every hyperparameter of this variant: its own and its bases', the nearest declaration first."""
        out: dict[str, HParam] = {}
        for klass in reversed(cls.__mro__):
            out.update(vars(klass).get("hyperparameters", {}))
        return out

    def step_cost(self) -> float:
        """One iteration's relative cost (vanilla = 1); packing m samples adds ~30 % per extra sample."""
        return (self.critic_step_cost * self.n_critic + self.generator_step_cost) * (1 + 0.3 * (self.pack - 1))

    def params(self) -> dict:
        """Every hyperparameter that changes training: part of a run's identity (its record hash). Unset
        ones (None) and ones not in play (``HParam.applies``) are absent, so that the ids of records made
        before they existed hold."""
        out: dict = {"name": self.name}
        for key, spec in self.all_hyperparameters().items():
            value = getattr(self, key)
            if value is None or (spec.applies and not getattr(self, spec.applies)):
                continue
            out[key] = _adam(value) if spec.kind == "adam" else value
        return out

    def with_overrides(self, **overrides) -> "Variant":
        """A copy with some hyperparameters replaced (a published protocol's optimiser, say); each
        name must be one of its declared hyperparameters, so that the change is in its run id."""
        have = self.all_hyperparameters()
        unknown = [k for k in overrides if k not in have]
        if unknown:
            raise ValueError(f"{self.name} has no hyperparameter {', '.join(unknown)}: it has {', '.join(have)}")
        copy = type(self)()
        copy.__dict__.update({**self.__dict__, **overrides})  # on top of this instance's own overrides
        return copy

    # --- networks -------------------------------------------------------------------------------
    def build(self, gens: Sequence[torch.Generator], dims: Dims) -> tuple[nn.Module, nn.Module]:
        """Generator then discriminator, member k's weights drawn from ``gens[k]``."""
        return self.generator(gens, dims), self.discriminator(gens, dims)

    def generator(self, gens, dims: Dims) -> nn.Module:
        from ganbench.archs import get_arch

        return get_arch(dims.arch).generator(gens, dims, dims.n_classes if self.conditional else 0)

    def discriminator(self, gens, dims: Dims, feature_layer=None) -> nn.Module:
        """The architecture's discriminator for this variant's packing and conditioning;
        ``feature_layer(width)`` makes a layer inserted before the output (minibatch discrimination)."""
        from ganbench.archs import get_arch

        return get_arch(dims.arch).discriminator(gens, dims, self.pack, dims.n_classes if self.conditional else 0,
                                                 feature_layer)

    # --- losses: one value per member, shape [K] ---------------------------------------------------
    def d_loss(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor, real_labels, fake_labels,
               gens: Sequence[torch.Generator]) -> torch.Tensor:
        raise NotImplementedError

    def g_loss(self, D: nn.Module, fake: torch.Tensor, fake_labels) -> torch.Tensor:
        raise NotImplementedError
