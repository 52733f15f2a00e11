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
clash = "badplugins:Clash"
conflict = "badplugins:Conflict"
unmakeable = "badplugins:Unmakeable"
badkind = "badkind:BadKind"

[tool.setuptools]
py-modules = ["mygan", "badplugins", "badkind"]
"""

# Plugins that must each be left out with one line, and take nothing else down with them.
BADPLUGINS = '''
from ganbench.variants.base import HParam
from ganbench.variants.vanilla import Vanilla


class Clash(Vanilla):
    name = "vanilla"  # a built-in's name


class Conflict(Vanilla):
    name = "conflict"
    pack = 2
    hyperparameters = {"pack": HParam("int", maximum=8)}  # the base declares pack not settable


class Unmakeable(Vanilla):
    name = "unmakeable"

    def __init__(self):
        raise RuntimeError("cannot be made")
'''

BADKIND = '''
from ganbench.variants.base import HParam
from ganbench.variants.vanilla import Vanilla


class BadKind(Vanilla):
    name = "badkind"
    verbose = False
    hyperparameters = {"verbose": HParam("bool")}  # settable by default, and --set cannot read a bool
'''


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
    (src / "badplugins.py").write_text(BADPLUGINS)
    (src / "badkind.py").write_text(BADKIND)
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
        # the package's broken entry points are one line each on stderr, and nothing else stops
        for line in ("'broken' (no_such_module:Nothing) left out: ModuleNotFoundError",
                     "'clash' (badplugins:Clash) left out: the name 'vanilla' is taken",
                     "'conflict' (badplugins:Conflict) left out: it declares pack unlike another variant",
                     "'unmakeable' (badplugins:Unmakeable) left out: RuntimeError: cannot be made",
                     "'badkind' (badkind:BadKind) left out: TypeError: a bool hyperparameter cannot be set"):
            assert line in done.stderr, done.stderr
    records = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*.json")]
    assert sorted(r["variant_params"]["temperature"] for r in records) == [1.0, 2.0]
    assert len({r["id"] for r in records}) == 2 and all(r["status"] == "ok" for r in records)
    listed = " ".join(ganbench(site, "run", "--help").stdout.split())  # argparse wraps its lines
    assert "pacgan4, mygan" in listed and "default: vanilla, wgan-gp, cond-wgan-gp, minibatch, pacgan;" in listed
    assert "temperature" in listed and "conflict" not in listed and "badkind" not in listed  # --set's names
    # without the package, its records are left out of the report by name, not as stale ones
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    report = subprocess.run([sys.executable, "-m", "ganbench", "report", "--results", str(tmp_path)],
                            capture_output=True, text=True, env=env)
    assert report.returncode == 0 and "2 record(s) of variant 'mygan', which is not installed here" in report.stderr
    vanilla = ganbench(site, "run", "--variants", "vanilla", "--set", "pack=3", "--results", str(tmp_path))
    assert vanilla.returncode == 2 and "pack" in vanilla.stderr.splitlines()[-1]  # not settable: no plugin made it
