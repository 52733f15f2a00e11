"""Adding a piece touches only its own files: a toy metric is its module plus one row of each table in
ganbench/metric_spec.py, and `ganbench evaluate` then fills it into finished runs and the report shows
it, with no training. Run on a copy of the package, so that the change is exactly those files."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import ganbench

TOY = '''"""A toy metric: the mean of the generated samples' first feature."""
import numpy as np


def toy_values(real, fake, seed=0, kid_subsets=100):
    return {"toy": float(np.asarray(fake, dtype=np.float64)[:, 0].mean())}
'''
FAMILY_ROW = '    Family("toy", "ganbench.metrics.toy:toy_values", ("toy",)),\n'
METRIC_ROW = '    Metric("toy", "toy score", 3, image_title="toy score", image_decimals=3),\n'


def _add_row(text: str, table: str, row: str) -> str:
    """``text`` with ``row`` as the last row of the tuple ``table = (...)``."""
    start = text.index(f"\n{table} = (")
    end = text.index("\n)", start)
    return text[:end + 1] + row + text[end + 1:]


def test_a_toy_metric_is_its_module_plus_two_rows_and_evaluate_fills_it_in(tiny_runs, tmp_path):
    pkg = tmp_path / "pkg"
    shutil.copytree(Path(ganbench.__file__).parent, pkg / "ganbench",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (pkg / "ganbench" / "metrics" / "toy.py").write_text(TOY)
    spec = pkg / "ganbench" / "metric_spec.py"
    spec.write_text(_add_row(_add_row(spec.read_text(), "FAMILIES", FAMILY_ROW), "METRICS", METRIC_ROW))
    results = tmp_path / "results"
    shutil.copytree(tiny_runs[0], results)
    env = {**os.environ, "PYTHONPATH": str(pkg)}
    check = subprocess.run([sys.executable, "-c", "import ganbench; print(ganbench.__file__)"], env=env,
                           capture_output=True, text=True, check=True, cwd=tmp_path)
    assert check.stdout.startswith(str(pkg))  # the copy, not the installed package
    done = subprocess.run([sys.executable, "-m", "ganbench", "evaluate", "--metrics", "toy", "--results", str(results),
                           "--no-progress"], env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "toy computed for 3 run(s)" in done.stderr
    for run_id in tiny_runs[1].values():
        rec = json.loads((results / "runs" / f"{run_id}.json").read_text())
        assert isinstance(rec["metrics"]["toy"], float) and rec["evaluated"]["toy"]["source"] == "samples"
    report = (results / "REPORT.md").read_text()
    assert "#### toy score" in report  # the mixture tables
    assert "| toy score" in report  # the Iris table's column
