"""Variants declare their hyperparameters; params() and the run id are derived from the declarations,
so that no setting can be left out of a run's identity (two settings sharing one id would make the
second one's runs be skipped as done)."""
import pytest

import ganbench.variants as variants
from ganbench.config import RunConfig
from ganbench.hparams import HPARAMS
from ganbench.variants import REGISTRY, HParam, Variant, get_variant


def _changed(spec: HParam, value):
    """Another value of the same kind."""
    if spec.kind == "adam":
        base = value or {"lr": 2e-4, "betas": (0.5, 0.999)}
        return {"lr": base["lr"] * 2, "betas": tuple(base["betas"])}
    if spec.kind == "bool":
        return not value
    if spec.kind == "choice":
        return "real" if value != "real" else "uniform"
    return value + 1 if spec.kind == "int" else value * 2 + 1


CASES = [(name, key) for name, v in REGISTRY.items() for key in v.all_hyperparameters()]


@pytest.mark.parametrize("name,key", CASES, ids=[f"{n}.{k}" for n, k in CASES])
def test_changing_any_hyperparameter_of_any_variant_changes_its_run_id(name, key, monkeypatch):
    variant = get_variant(name)
    spec = variant.all_hyperparameters()[key]
    if spec.applies and not getattr(variant, spec.applies):
        pytest.skip(f"{key} is not in play for {name} ({spec.applies} is false): training never reads it")
    # MNIST: on mixtures a variant's mixture_overrides (WGAN-GP's gan_toy.py settings) replace some
    cfg = RunConfig(variant=name, layout="mnist", modes=10, seed=0, iters=10)
    before = cfg.run_id
    changed = variant.with_overrides(**{key: _changed(spec, getattr(variant, key))})
    assert changed.params() != variant.params()
    monkeypatch.setitem(variants.REGISTRY, name, changed)
    assert cfg.run_id != before


def test_a_class_attribute_that_is_not_declared_is_refused_when_the_class_is_made():
    with pytest.raises(TypeError, match="declare it in Sloppy.hyperparameters"):
        type("Sloppy", (Variant,), {"name": "sloppy", "temperature": 0.5})

    class Tidy(Variant):
        name = "tidy"
        temperature = 0.5
        hyperparameters = {"temperature": HParam("float", maximum=10.0)}

    assert Tidy().params()["temperature"] == 0.5
    assert Tidy().with_overrides(temperature=1.0).params()["temperature"] == 1.0
    with pytest.raises(ValueError, match="has no hyperparameter critic_step_cost"):
        Tidy().with_overrides(critic_step_cost=2.0)  # not a hyperparameter: it would not change the id


def test_the_registry_is_the_one_list_of_variants_and_of_settable_hyperparameters():
    assert tuple(REGISTRY) == variants.VARIANTS
    assert variants.VARIANTS[:5] == variants.DEFAULT_VARIANTS == ("vanilla", "wgan-gp", "cond-wgan-gp",
                                                                   "minibatch", "pacgan")
    assert set(HPARAMS) == {"adam", "adam_d", "n_critic", "gp_lambda", "n_kernels", "kernel_dim"}
    assert HPARAMS["adam"] == "adam" and HPARAMS["gp_lambda"] == "float" and HPARAMS["n_critic"] == "int"
