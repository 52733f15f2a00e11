"""ganbench: a benchmark suite for GAN mode collapse and GAN metrics."""
__version__ = "0.4.0"


def score(samples, benchmark: str, **options) -> dict:
    """A benchmark's protocol on your own samples: ``ganbench.scoring.score`` (imported when called, so
    that ``import ganbench`` stays light)."""
    from ganbench.scoring import score as _score

    return _score(samples, benchmark, **options)
