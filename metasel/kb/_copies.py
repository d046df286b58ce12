"""Tables that look like one source under two names, from their stored statistics.

Group keys come from names and a table of aliases; a copy under a new name (a subsample,
the same rows with an ID or name column more, the same records described by other
columns) escapes them and leaks into every leave-one-group-out number. A subsample or a
column more keeps the columns' statistics; other columns of the same records keep the
labels. Two different tables rarely share either: this finds the pairs to alias or to
hold out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: OpenML data qualities that a subsample or one added column leaves nearly unchanged
COPY_STATISTICS = (
    "MeanMeansOfNumericAtts", "Quartile2MeansOfNumericAtts", "MaxMeansOfNumericAtts",
    "MeanStdDevOfNumericAtts", "Quartile2StdDevOfNumericAtts", "MaxStdDevOfNumericAtts",
    "MeanSkewnessOfNumericAtts", "MeanKurtosisOfNumericAtts", "MeanAttributeEntropy",
    "MajorityClassPercentage",
)
#: feature counts this close may be one source (a copy often drops or adds a column or two)
FEATURE_SLACK = 3
#: over the statistics both tables have (at least MIN_SHARED): a median relative
#: difference below MEDIAN_GAP, or an 80th percentile below Q80_GAP
MIN_SHARED, MEDIAN_GAP, Q80_GAP = 4, 0.05, 0.15
#: what two views of the same records share whatever their columns: rows and labels
LABEL_COUNTS = ("NumberOfInstances", "NumberOfClasses", "MajorityClassSize",
                "MinorityClassSize")
#: left rows compared at once: memory grows with BLOCK_ROWS x len(right) x the statistics
BLOCK_ROWS = 256


def copy_candidates(left: pd.DataFrame, right: pd.DataFrame) -> np.ndarray:
    """``[len(left), len(right)]`` mask of pairs that look like one source: the same class
    count, feature counts within FEATURE_SLACK, and nearly equal COPY_STATISTICS.

    Both frames need ``n_classes``, ``n_features`` and the statistics' columns (a KB's
    datasets table has them). Calibrated on the shipped KB (2026-12-07): adult-census in
    adult scored a median gap of 0.0006, gina_prior in mnist_784 0.010, heart.statlog in
    Cleveland's 0.049; the nearest different data, heart.c vs heart.h (two hospitals, the
    same attributes), 0.18 (80th percentile 0.25). A table without numeric columns has two
    of the statistics and is never a candidate here (tic-tac-toe): names and shapes are
    all that tell its copies.
    """
    blocks = [_candidates(left.iloc[start:start + BLOCK_ROWS], right)
              for start in range(0, len(left), BLOCK_ROWS)]
    return np.vstack(blocks) if blocks else np.zeros((0, len(right)), dtype=bool)


def _candidates(left: pd.DataFrame, right: pd.DataFrame) -> np.ndarray:
    a = left[list(COPY_STATISTICS)].to_numpy(float)[:, None, :]
    b = right[list(COPY_STATISTICS)].to_numpy(float)[None, :, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        gaps = np.abs(a - b) / np.fmax(np.fmax(np.abs(a), np.abs(b)), 1e-9)
    shared = np.isfinite(gaps).sum(axis=2) >= MIN_SHARED
    gaps[~shared] = 1.0  # too few statistics to compare: never a copy
    close = ((np.nanmedian(gaps, axis=2) < MEDIAN_GAP)
             | (np.nanquantile(gaps, 0.8, axis=2) < Q80_GAP))
    same_classes = left["n_classes"].to_numpy()[:, None] == right["n_classes"].to_numpy()[None]
    features = np.abs(left["n_features"].to_numpy(float)[:, None]
                      - right["n_features"].to_numpy(float)[None])
    return close & same_classes & (features <= FEATURE_SLACK)


def same_label_counts(left: pd.DataFrame, right: pd.DataFrame) -> np.ndarray:
    """``[len(left), len(right)]`` mask of pairs with equal LABEL_COUNTS: the same records
    under other columns (OpenML's six mfeat sets describe one set of 2,000 digits;
    cpu_small is 12 of cpu_act's 21 columns), which ``copy_candidates`` cannot see.

    Found on the shipped KB (2026-12-07): mfeat (5 sets, in their 10-class and binary
    versions), cpu_small / cpu_act, house_8L / house_16H, sylva_prior / sylva_agnostic;
    otherwise only Friedman draws of 1,000 rows whose class counts coincide.
    """
    mask = np.ones((len(left), len(right)), dtype=bool)
    for column in LABEL_COUNTS:  # one pass per count: memory stays one mask
        mask &= left[column].to_numpy(float)[:, None] == right[column].to_numpy(float)[None]
    return mask  # NaN (counts unknown) is never equal


def copies_across_groups(datasets: pd.DataFrame) -> list[tuple[str, str]]:
    """Pairs of ``dataset_id`` in different groups of one table that look like one source:
    close statistics or the same labels."""
    mask = np.triu(copy_candidates(datasets, datasets)
                   | same_label_counts(datasets, datasets), k=1)
    groups = datasets["group"].to_numpy()
    ids = datasets["dataset_id"].to_numpy()
    return [(ids[i], ids[j]) for i, j in zip(*np.nonzero(mask), strict=True)
            if groups[i] != groups[j]]
