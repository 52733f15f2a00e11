import os

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    # Unit tests run on 2 cores next to other work; one thread keeps them quick and repeatable.
    torch.set_num_threads(1)


# Tests never download: MNIST comes from files the tests write.
os.environ["GANBENCH_OFFLINE"] = "1"


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory):
    """A results folder with three finished tiny runs (a few iterations: the machinery is under test,
    not the GANs): {"mixture": vanilla on a 4-mode ring, "conditional": cond-wgan-gp on it, "iris"}
    -> run id, and the folder."""
    from ganbench.config import RunConfig, dataset_config
    from ganbench.driver import run_grid

    tiny = dict(iters=3, n_train=300, n_eval=200, hidden=16, depth=1)
    configs = {"mixture": RunConfig(variant="vanilla", layout="ring", modes=4, seed=0, **tiny),
               "conditional": RunConfig(variant="cond-wgan-gp", layout="ring", modes=4, seed=0, **tiny),
               "iris": dataset_config("vanilla", "iris", 0, iters=3, n_eval=50)}
    out = tmp_path_factory.mktemp("tiny_runs")
    run_grid(list(configs.values()), out, progress=False)
    return out, {name: cfg.run_id for name, cfg in configs.items()}


# --- hypothesis: the same generated cases on every run, so CI cannot flake ---------------------------
from hypothesis import settings  # noqa: E402

settings.register_profile("ganbench", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("ganbench")


# --- results/reliability.md: what the fault and bad-input suites tried, and how it went ------------
# Written only when GANBENCH_RELIABILITY names the file (scripts/reliability.sh sets it).
RELIABILITY_TESTS = ("tests/test_fuzz.py", "tests/test_faults.py", "tests/test_hostile.py", "tests/test_ray.py",
                     "tests/test_runner.py::test_a_killed_cli_run", "tests/test_runner.py::test_corrupt")
_outcomes: dict[str, str] = {}


def pytest_runtest_logreport(report):
    if report.nodeid.startswith(RELIABILITY_TESTS) and (report.when == "call" or report.outcome != "passed"):
        _outcomes[report.nodeid] = report.outcome


def _hostile_line() -> str:
    cases = {k: v for k, v in _outcomes.items() if k.startswith("tests/test_hostile.py")}
    skipped = sum(v == "skipped" for v in cases.values())
    return (f"Hostile-environment cases: {sum(v == 'passed' for v in cases.values())} of {len(cases)} passed"
            + (f" ({skipped} skipped: no tmpfs without root)" if skipped else "") + ".") if cases else ""


def pytest_sessionfinish(session, exitstatus):
    import sys
    from datetime import date
    from pathlib import Path

    path = os.environ.get("GANBENCH_RELIABILITY")
    if not path or not _outcomes:
        return
    fuzz = sys.modules.get("test_fuzz")
    tried = dict(sorted(fuzz.TRIED.items())) if fuzz else {}
    passed = sum(o == "passed" for o in _outcomes.values())
    lines = ["# Reliability", "",
             f"Made by `scripts/reliability.sh` on {date.today().isoformat()}: the fault tests (each injects a fault "
             "and checks that every job ends with exactly one valid record, or a failed record saying why) and the "
             "property-based bad-input tests (hypothesis, derandomized: the same cases every run), and the "
             "hostile-environment catalogue (tests/test_hostile.py: a full or read-only disk on a real tmpfs, "
             "/dev/full, a closed pipe, paths the system refuses, no Ray, files and records whose sizes lie, grids "
             "past the machine's memory or the run cap, misleading messages): each case one line on stderr with exit "
             "code 1 (the environment) or 2 (the input), nothing half-written.", "",
             f"**{passed} of {len(_outcomes)} tests passed.** {_hostile_line()}", "",
             "## Bad input: generated cases tried", "",
             "| kind | cases | expected |", "|---|---:|---|"]
    expect = {"bad feature arrays": "one-line ValueError",
              "out-of-range parameters": "one-line ValueError",
              "bad labels": "one-line ValueError",
              "extreme valid arrays": "finite numbers in range, FID scales as the square",
              "command lines": "exit code 2, one line on stderr",
              "metric files": "exit code 2, one line on stderr",
              "records of the wrong kind": "skipped with a warning naming the file, the report written"}
    lines += [f"| {k} | {v:,} | {expect.get(k, '')} |" for k, v in tried.items()]
    lines += [f"| all | {sum(tried.values()):,} | |", "", "## Tests", "", "| test | outcome |", "|---|---|"]
    lines += [f"| `{nodeid}` | {outcome} |" for nodeid, outcome in sorted(_outcomes.items())]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\n".join(lines) + "\n")
