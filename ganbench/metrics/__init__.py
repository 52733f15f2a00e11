"""ganbench's metrics: pure functions of arrays (numpy or torch). No files (but the explicit
``save_stats`` / ``load_stats``), no printing, no state. Bad input raises ValueError naming the
argument and the problem."""
from ganbench.metrics.c2st import c2st
from ganbench.metrics.classes import class_entropy, class_histogram, classifier_score
from ganbench.metrics.diversity import mean_pairwise_distance
from ganbench.metrics.fid import (
    FIDReference,
    feature_stats,
    fid,
    fid_infinity,
    frechet_distance,
    load_stats,
    save_stats,
)
from ganbench.metrics.kid import kid
from ganbench.metrics.manifold import density_coverage, prdc, precision_recall
from ganbench.metrics.modes import coverage_of, kmeans_centres, kmeans_coverage, mode_stats, modes_at_fair_share
from ganbench.metrics.suite import compare

__all__ = ["mode_stats", "modes_at_fair_share", "kmeans_coverage", "kmeans_centres", "coverage_of", "feature_stats",
           "frechet_distance", "fid", "fid_infinity", "FIDReference", "save_stats", "load_stats", "kid",
           "precision_recall", "density_coverage", "prdc", "c2st", "compare", "class_histogram", "class_entropy",
           "classifier_score", "mean_pairwise_distance"]
