"""A vectorised decision stump in the manner of Weka's ``DecisionStump``.

One split on one attribute with three branches: ``<= threshold`` / ``> threshold`` for a
numeric attribute or ``== value`` / ``!= value`` for a nominal one, plus a branch for
missing values. The split minimises the class entropy conditioned on the branches; a
branch predicts its training class distribution (the missing branch, when empty, the
whole training distribution). Numeric columns are sorted once per sample, so each
cross-validation fold costs only cumulative sums.
"""

from __future__ import annotations

import numpy as np
from scipy.special import xlogy

from metasel.metafeatures._table import Table

_CHUNK_CELLS = 250_000  # rows * columns * classes per block of cumulative counts


def _weighted_entropy(counts: np.ndarray, nlogn: np.ndarray) -> np.ndarray:
    """sum_b n_b * H(b) over the last axis of integer class counts, in nats.

    ``nlogn[i] = i log i`` is tabulated once, so each fold costs gathers instead of logs.
    """
    return nlogn[counts.sum(axis=-1)] - nlogn[counts].sum(axis=-1)


class Stump:
    """Sorted views of a sample, reused by every fold's ``fit_predict``."""

    def __init__(self, t: Table) -> None:
        self.t = t
        self.order = np.argsort(t.numeric, axis=0, kind="stable")  # NaN sort last
        self.sorted = np.take_along_axis(t.numeric, self.order, axis=0)

    def fit_predict(self, train: np.ndarray, test: np.ndarray) -> np.ndarray:
        """Class probabilities of ``test`` rows from the best stump on ``train`` rows."""
        t, k = self.t, self.t.n_classes
        weights = np.zeros((t.n_rows, k), dtype=np.int64)
        weights[train, t.y[train]] = 1
        prior = weights.sum(axis=0)
        nlogn = xlogy(np.arange(t.n_rows + 1.0), np.arange(t.n_rows + 1.0))
        best = (np.inf, None)
        best = self._numeric(weights, prior, nlogn, best)
        best = self._nominal(weights, prior, nlogn, best)
        _, rule = best
        proba = np.tile(prior / prior.sum(), (test.size, 1)).astype(np.float64)
        if rule is None:
            return proba
        kind, j, cut, dists = rule
        if kind == "numeric":
            x = t.numeric[test, j]
            branch = np.where(np.isnan(x), 2, np.where(x <= cut, 0, 1))
        else:
            c = t.codes[test, j]
            branch = np.where(c < 0, 2, np.where(c == cut, 0, 1))
        if dists[2].sum() == 0:
            dists = np.vstack([dists[:2], prior])
        dists = dists / np.maximum(dists.sum(axis=1, keepdims=True), 1)
        return dists[branch]

    def _numeric(self, weights: np.ndarray, prior: np.ndarray, nlogn: np.ndarray, best: tuple) -> tuple:
        t, k = self.t, self.t.n_classes
        n, p = t.numeric.shape
        step = max(1, _CHUNK_CELLS // max(n * k, 1))
        for start in range(0, p, step):
            cols = np.arange(start, min(p, start + step))
            w = weights[self.order[:, cols]]  # (n, c, k), sorted per column
            values = self.sorted[:, cols]
            present = ~np.isnan(values)
            left = np.cumsum(w * present[:, :, None], axis=0, dtype=np.int64)
            total = left[-1]  # non-missing class counts per column
            missing = prior - total
            # a cut after row i is valid when rows i and i+1 both have values and they differ
            valid = present[:-1] & present[1:] & (values[1:] > values[:-1])
            left = left[:-1]
            score = (
                _weighted_entropy(left, nlogn)
                + _weighted_entropy(total - left, nlogn)
                + _weighted_entropy(missing, nlogn)[None, :]
            )
            score = np.where(valid, score, np.inf)
            i, c = np.unravel_index(np.argmin(score), score.shape)
            if score[i, c] < best[0] - 1e-12:
                cut = self._midpoint(weights, int(cols[c]), values[i, c])
                dists = np.stack([left[i, c], total[c] - left[i, c], missing[c]])
                best = (score[i, c], ("numeric", int(cols[c]), cut, dists))
        return best

    def _midpoint(self, weights: np.ndarray, j: int, value: float) -> float:
        """Halfway between the training values either side of a cut just after ``value``."""
        x = self.t.numeric[weights.sum(axis=1) > 0, j]
        below, above = x[x <= value], x[x > value]
        return (below.max() + above.min()) / 2 if below.size and above.size else float(value)

    def _nominal(self, weights: np.ndarray, prior: np.ndarray, nlogn: np.ndarray, best: tuple) -> tuple:
        t, k = self.t, self.t.n_classes
        y_train = weights.argmax(axis=1)
        in_train = weights.sum(axis=1) > 0
        for j, (col, levels) in enumerate(zip(t.codes.T, t.n_levels, strict=True)):
            seen = in_train & (col >= 0)
            counts = np.bincount(col[seen] * k + y_train[seen], minlength=int(levels) * k).reshape(-1, k)
            total = counts.sum(axis=0)
            missing = prior - total
            score = (
                _weighted_entropy(counts, nlogn)
                + _weighted_entropy(total - counts, nlogn)
                + _weighted_entropy(missing, nlogn)
            )
            score = np.where(counts.sum(axis=1) > 0, score, np.inf)
            v = int(np.argmin(score)) if score.size else 0
            if score.size and score[v] < best[0] - 1e-12:
                dists = np.stack([counts[v], total - counts[v], missing])
                best = (score[v], ("nominal", j, v, dists))
        return best
