"""ganbench: a benchmark suite for GAN mode collapse and GAN metrics."""
__version__ = "0.4.0"
