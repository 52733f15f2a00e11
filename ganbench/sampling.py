"""Drawing from a trained run (``ganbench sample``): its generator rebuilt from its checkpoint."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ganbench.config import validate
from ganbench.constants import MAX_SAMPLES
from ganbench.data import make_mixture
from ganbench.files import write_atomic
from ganbench.store import _read_record, check_output_file, record_config, runs_dir

MAX_GRID = 10_000  # images in one sample grid: 100 x 100 of them, 2,800 pixels a side


def find_record(results: Path, run: str) -> Path:
    """The record file of ``run``: a path to it, or a run id (``<id>`` or ``<id>.json``) in ``<results>/runs``."""
    path = Path(run)
    if path.is_file():
        return path
    if path.parent != Path("."):
        raise ValueError(f"no record file {run}")
    path = runs_dir(results) / f"{path.name.removesuffix('.json')}.json"
    if not path.is_file():
        raise ValueError(f"no run {run} in {runs_dir(results)} (give a run id or the path to its record)")
    return path


def sample_run(results: Path, run: str, n: int, path: Path, label: int | None = None, seed: int = 0) -> Path:
    """Rebuild a run's generator from its checkpoint and write ``n`` new samples to ``path``: an image
    grid (.png) for image datasets; for mixtures the points (.csv) or a scatter plot of them over the
    true centres (.png); for Iris the flowers in centimetres (.csv). ``run``: see ``find_record``."""
    import torch

    from ganbench.train import generate

    if not 1 <= n <= MAX_SAMPLES:
        raise ValueError(f"n must be between 1 and {MAX_SAMPLES:,}, got {n:,}")
    check_output_file(path)
    rec_path = find_record(results, run)
    rec, problem = _read_record(rec_path)
    if problem:
        raise ValueError(f"{rec_path}: {problem}")
    ckpt = rec_path.with_suffix(".pt")
    if not ckpt.is_file():
        raise ValueError(f"run {rec['id']} has no checkpoint ({ckpt} is missing)")
    cfg = record_config(rec)
    if cfg.run_id != rec["id"]:  # the report leaves such a record out too (store.current_records)
        raise ValueError(f"{rec_path}: its id is not its config's (edited by hand, or made under earlier "
                         f"hyperparameters of {cfg.variant}): re-run it with ganbench run")
    validate(cfg)
    variant, dims = cfg.variant_obj(), cfg.dims()
    if label is not None and not variant.conditional:
        raise ValueError(f"--class needs a conditional model; {cfg.variant} is not one")
    if label is not None and not 0 <= label < cfg.modes:
        raise ValueError(f"--class must be between 0 and {cfg.modes - 1}, got {label}")
    image = not cfg.is_mixture and dims.image is not None
    suffixes = (".png",) if image else (".csv", ".png") if cfg.is_mixture else (".csv",)
    if path.suffix not in suffixes:
        raise ValueError(f"--out must end in {' or '.join(suffixes)} for {cfg.layout} runs")
    if image and n > MAX_GRID:
        raise ValueError(f"n must be at most {MAX_GRID:,} for a grid of images, got {n:,}")
    G, _ = variant.build(member_generators_for(cfg.seed), dims)
    try:
        G.load_state_dict(torch.load(ckpt, map_location="cpu", weights_only=True)["G"])
    except Exception as e:  # noqa: BLE001 - torn, foreign or another network's
        raise ValueError(f"{ckpt} is not a checkpoint of run {rec['id']} ({e.__class__.__name__})") from None
    labels = None if label is None else np.full(n, label)
    x, _ = generate(G, [seed], n, dims, variant.conditional, labels=labels, stream=1000 + seed)
    x = x[0]
    if image:
        from torchvision.utils import save_image

        imgs = torch.from_numpy(x.reshape(-1, *dims.image))
        write_atomic(path, lambda f: save_image((imgs + 1) / 2, f, nrow=int(np.ceil(np.sqrt(n))), format="png"),
                     binary=True)
    elif path.suffix == ".png":
        from ganbench.report_figures import fig_sample_scatter

        centres = make_mixture(cfg.layout, cfg.modes, cfg.seed, cfg.n_train, cfg.std, cfg.scale).centers
        title = f"{cfg.variant}, {cfg.layout} of {cfg.modes} modes, seed {cfg.seed}: {n:,} new samples"
        write_atomic(path, lambda f: fig_sample_scatter(x, centres, title, f), binary=True)
    else:
        from ganbench.datasets import DATASETS
        from ganbench.images import iris_units

        columns = DATASETS[cfg.layout].columns if cfg.layout in DATASETS else None
        header = columns or [f"x{i}" for i in range(x.shape[1])]
        write_atomic(path, lambda f: np.savetxt(f, iris_units(x) if columns else x, delimiter=",", comments="",
                                                header=",".join(header)))
    return path


def member_generators_for(seed: int):
    from ganbench.nets import member_generators
    from ganbench.train import STREAM_INIT

    return member_generators([seed], STREAM_INIT)
