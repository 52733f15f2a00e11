"""ganbench's metrics: pure functions of arrays (numpy or torch). No files, no printing, no state."""
from ganbench.metrics.modes import kmeans_coverage, mode_stats

__all__ = ["mode_stats", "kmeans_coverage"]
