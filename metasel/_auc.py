"""One-vs-rest ROC AUC of every class at once, from ranks.

AUC is the Mann-Whitney statistic: the share of (positive, negative) pairs ordered right,
ties counting one half, which is what scikit-learn's trapezoidal ``roc_auc_score`` computes.
One ``rankdata`` over the whole probability matrix replaces ``k`` calls of
``roc_auc_score`` and their input validation, which dominated greedy ensemble selection
(100 scorings of a multi-class candidate bag: 1.5 s on vowel, 11 classes).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def one_vs_rest_auc(y: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """AUC of column ``c`` of ``scores`` (``n x k``) for ``y == c``, for every class ``c``.

    ``y`` holds integer codes ``0..k-1``; a class with no positive or no negative row gets
    NaN (its AUC is undefined).
    """
    y = np.asarray(y, dtype=np.int64)
    n, k = scores.shape
    counts = np.bincount(y, minlength=k)[:k].astype(np.float64)
    ranks = rankdata(scores, axis=0)
    positive_rank_sums = np.bincount(y, weights=ranks[np.arange(n), y], minlength=k)[:k]
    pairs = counts * (n - counts)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (positive_rank_sums - counts * (counts + 1) / 2) / pairs
    return np.where(pairs > 0, auc, np.nan)
