"""A vectorised decision stump in the manner of Weka's ``DecisionStump``.

One split on one attribute with three branches: ``<= threshold`` / ``> threshold`` for a
numeric attribute or ``== value`` / ``!= value`` for a nominal one, plus a branch for
missing values. The split minimises the class entropy conditioned on the branches; a
branch predicts its training class distribution (the missing branch, when empty, the
whole training distribution). Numeric columns are sorted once per sample, so each
cross-validation fold costs one class count per group of equal values and cumulative sums.
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
    """Sorted views of a sample, reused by every fold's ``fit_predict``.

    Rows of equal value in a column form a group; a cut can only follow a group, so each
    fold counts classes per group (one ``bincount``) rather than per row: columns of few
    distinct values (pixels, counts, ratings) cost a fraction of their rows.
    """

    def __init__(self, t: Table) -> None:
        self.t = t
        self.order = np.argsort(t.numeric, axis=0, kind="stable")  # NaN sort last
        self.sorted = np.take_along_axis(t.numeric, self.order, axis=0)
        self.present = ~np.isnan(self.sorted)
        # a cut after sorted row i is valid when rows i and i+1 both have values and they
        # differ (a comparison with NaN is False); such a cut ends a group
        valid = self.sorted[1:] > self.sorted[:-1]
        group = np.zeros(self.order.shape, dtype=np.int64)
        np.cumsum(valid, axis=0, out=group[1:])
        # groups are numbered across columns: column j's are group_start[j] onwards
        self.group_start = np.concatenate([[0], np.cumsum(group[-1] + 1)])
        self.group_class = (group + self.group_start[:-1]) * t.n_classes + t.y[self.order]
        self.ends_cut = np.ones(self.group_start[-1], dtype=bool)  # all but a column's last
        self.ends_cut[self.group_start[1:] - 1] = False
        self.cut_column, self.cut_row = np.nonzero(valid.T)  # by column, then row
        self.nlogn = xlogy(np.arange(t.n_rows + 1.0), np.arange(t.n_rows + 1.0))

    def fit_predict(self, train: np.ndarray, test: np.ndarray) -> np.ndarray:
        """Class probabilities of ``test`` rows from the best stump on ``train`` rows."""
        t = self.t
        in_train = np.zeros(t.n_rows, dtype=bool)
        in_train[train] = True
        prior = np.bincount(t.y[train], minlength=t.n_classes)
        best = (np.inf, None)
        best = self._numeric(in_train, prior, best)
        best = self._nominal(in_train, prior, best)
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

    def _numeric(self, in_train: np.ndarray, prior: np.ndarray, best: tuple) -> tuple:
        """Best cut over the numeric columns, by blocks of columns; ties go to the lowest
        sorted row, then the first column."""
        t, k, nlogn = self.t, self.t.n_classes, self.nlogn
        n, p = t.numeric.shape
        counted = in_train[self.order] & self.present  # sorted training rows with a value
        step = max(1, _CHUNK_CELLS // max(n * k, 1))
        for start in range(0, p, step):
            stop = min(p, start + step)
            first, last = np.searchsorted(self.cut_column, [start, stop])
            if first == last:
                continue  # no column of this block can be cut
            g0, g1 = self.group_start[start], self.group_start[stop]
            keys = self.group_class[:, start:stop][counted[:, start:stop]] - g0 * k
            counts = np.bincount(keys, minlength=(g1 - g0) * k).reshape(-1, k)
            starts = self.group_start[start:stop] - g0
            total = np.add.reduceat(counts, starts, axis=0)  # non-missing class counts per column
            missing = prior - total
            counts[starts[1:]] -= total[:-1]  # so that the running count restarts at each column
            left = np.cumsum(counts, axis=0)[self.ends_cut[g0:g1]]
            column = self.cut_column[first:last] - start
            score = (
                _weighted_entropy(left, nlogn)
                + _weighted_entropy(total[column] - left, nlogn)
                + _weighted_entropy(missing, nlogn)[column]
            )
            lowest = np.flatnonzero(score == score.min())
            at = lowest[np.argmin(self.cut_row[first:last][lowest] * (stop - start) + column[lowest])]
            if score[at] < best[0] - 1e-12:
                j, i = start + int(column[at]), int(self.cut_row[first + at])
                cut = self._midpoint(in_train, j, self.sorted[i, j])
                dists = np.stack([left[at], total[column[at]] - left[at], missing[column[at]]])
                best = (score[at], ("numeric", j, cut, dists))
        return best

    def _midpoint(self, in_train: np.ndarray, j: int, value: float) -> float:
        """Halfway between the training values either side of a cut just after ``value``."""
        x = self.t.numeric[in_train, j]
        below, above = x[x <= value], x[x > value]
        return (below.max() + above.min()) / 2 if below.size and above.size else float(value)

    def _nominal(self, in_train: np.ndarray, prior: np.ndarray, best: tuple) -> tuple:
        t, k, nlogn = self.t, self.t.n_classes, self.nlogn
        for j, (col, levels) in enumerate(zip(t.codes.T, t.n_levels, strict=True)):
            seen = in_train & (col >= 0)
            counts = np.bincount(col[seen] * k + t.y[seen], minlength=int(levels) * k).reshape(-1, k)
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
