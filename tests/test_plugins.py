"""A variant from an installed package: `pip install mygan`, then `ganbench run --variants mygan`.
The package below is built and installed (pip --target, offline) into a folder of the test's own; its
one file is all it takes, and its new hyperparameter is in the run id and `--set` takes it."""
import json
import os
import subprocess
import sys
import textwrap

import pytest

PYPROJECT = """
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "ganbench-mygan"
version = "0.1"

[project.entry-points."ganbench.variants"]
mygan = "mygan:MyGAN"
broken = "no_such_module:Nothing"
"""

MYGAN = '''
from ganbench.variants.base import HParam
from ganbench.variants.vanilla import Vanilla


class MyGAN(Vanilla):
    """The vanilla GAN with its generator loss scaled by a temperature."""

    name = "mygan"
    temperature = 1.0
    hyperparameters = {"temperature": HParam("float", maximum=10.0)}

    def g_loss(self, D, fake, fake_labels):
        return super().g_loss(D, fake, fake_labels) * self.temperature
'''


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("setuptools")
    src, site = tmp_path_factory.mktemp("mygan_src"), tmp_path_factory.mktemp("site")
    (src / "pyproject.toml").write_text(PYPROJECT)
    (src / "mygan.py").write_text(textwrap.dedent(MYGAN))
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
                           "--no-build-isolation", "--target", str(site), str(src)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return site


def ganbench(site, *args):
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, "-m", "ganbench", *args], capture_output=True, text=True, env=env)


def test_an_installed_variant_runs_and_its_hyperparameter_is_in_the_run_id(site, tmp_path):
    base = ["run", "--variants", "mygan", "--modes", "4", "--seeds", "1", "--iters", "3", "--jobs", "1",
            "--no-progress", "--no-report", "--results", str(tmp_path)]
    for extra in ([], ["--set", "temperature=2"]):
        done = ganbench(site, *base, *extra)
        assert done.returncode == 0, done.stderr
        # the broken entry point of the same package is one line on stderr, and nothing else stops
        assert "variant plugin 'broken' (no_such_module:Nothing) left out: ModuleNotFoundError" in done.stderr
    records = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*.json")]
    assert sorted(r["variant_params"]["temperature"] for r in records) == [1.0, 2.0]
    assert len({r["id"] for r in records}) == 2 and all(r["status"] == "ok" for r in records)
    listed = " ".join(ganbench(site, "run", "--help").stdout.split())  # argparse wraps its lines
    assert "pacgan4, mygan" in listed and "default: vanilla, wgan-gp, cond-wgan-gp, minibatch, pacgan;" in listed
    assert "temperature" in listed  # --set's names
