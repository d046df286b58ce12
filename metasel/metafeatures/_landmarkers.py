"""Landmarkers: cross-validated scores of three cheap models, named as OpenML names them.

OpenML runs Weka's NaiveBayes, DecisionStump and IBk (k=1) in 10-fold cross-validation on
the full table and reports the class-frequency-weighted one-vs-rest AUC, the error rate and
Cohen's kappa of the pooled out-of-fold predictions. We do the same on a stratified
subsample of at most ``LANDMARKER_MAX_ROWS`` rows (recorded as ``ms_LandmarkerSampleSize``)
so the cost does not grow with the table. NaiveBayes follows Weka's estimators (Laplace
counts for nominal values; a normal estimator whose precision is the mean gap between
distinct training values); the stump splits one attribute into two branches plus one for
missing values, by conditional entropy, as Weka's DecisionStump; 1-NN uses range-normalised
numeric values (ranges of the whole sample) and a 0/1 nominal mismatch.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from scipy.special import ndtr

from metasel._auc import one_vs_rest_auc
from metasel.metafeatures._stump import Stump
from metasel.metafeatures._table import Table

LANDMARKER_MAX_ROWS = 5000
N_FOLDS = 10
_MAX_DESIGN_CELLS = 4_000_000  # bounds the landmarkers' scratch memory (~32 MB per array)
_MIN_ROWS = 100
_NB_BLOCK_CELLS = 250_000  # test rows * columns * classes per naive Bayes block

Model = Callable[["_Fold"], np.ndarray]


class _Fold:
    """Row indices of one cross-validation fold and the sample's shared arrays."""

    def __init__(self, table: Table, design: _Design, train: np.ndarray, test: np.ndarray) -> None:
        self.table, self.design, self.train, self.test = table, design, train, test


class _Design:
    """The sample as one matrix (numeric values beside one-hot nominal values), built once.

    ``scaled`` holds range-normalised numeric values (missing at 0.5) beside one-hot values
    scaled by sqrt(1/2), so a nominal mismatch adds exactly 1 to the squared 1-NN distance;
    float32 halves its memory and matrix-product time. ``stump`` holds the sorted columns.
    """

    def __init__(self, t: Table) -> None:
        raw = _design(t)
        p = t.numeric.shape[1]
        num = raw[:, :p]
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-missing columns
            lo, hi = np.nanmin(num, axis=0), np.nanmax(num, axis=0)
        span = np.where(np.isfinite(hi - lo) & (hi > lo), hi - lo, 1.0)
        lo = np.where(np.isfinite(lo), lo, 0.0)
        scaled = np.empty(raw.shape, dtype=np.float32)
        scaled[:, :p] = np.nan_to_num((num - lo) / span, nan=0.5)
        scaled[:, p:] = raw[:, p:] * np.sqrt(0.5)
        self.scaled = scaled
        self.sq_norms = (scaled * scaled).sum(axis=1)
        self.stump = Stump(t)


def landmarker_sample_size(table: Table) -> int:
    """Rows the landmarkers use: at most LANDMARKER_MAX_ROWS, fewer for very wide tables."""
    width = table.numeric.shape[1] + int(table.n_levels.sum()) + 1
    return int(max(_MIN_ROWS, min(LANDMARKER_MAX_ROWS, _MAX_DESIGN_CELLS // width)))


def landmarker_metafeatures(sample: Table, *, random_state: int, run: bool = True) -> dict[str, float]:
    """AUC, ErrRate and Kappa of each landmarker on ``sample`` (already subsampled); all NaN
    (unmeasured) when not ``run``."""
    folds = _stratified_folds(sample.y, N_FOLDS, random_state) if run else None
    values: dict[str, float] = {"ms_LandmarkerSampleSize": float(sample.n_rows)}
    design = _Design(sample) if run else None
    models: dict[str, Model] = {"NaiveBayes": _naive_bayes, "DecisionStump": _stump, "kNN1N": _one_nn}
    for name, model in models.items():
        if folds is None:
            scores = (float("nan"),) * 3
        else:
            proba = np.zeros((sample.n_rows, sample.n_classes))
            for f in range(int(folds.max()) + 1):
                train, test = np.flatnonzero(folds != f), np.flatnonzero(folds == f)
                proba[test] = model(_Fold(sample, design, train, test))
            scores = _scores(sample.y, proba, sample.n_classes)
        values.update(dict(zip((f"{name}AUC", f"{name}ErrRate", f"{name}Kappa"), scores, strict=True)))
    return values


def _stratified_folds(y: np.ndarray, n_folds: int, random_state: int) -> np.ndarray | None:
    """Fold number of each row, classes spread evenly; None when fewer than 2 folds are possible."""
    n_folds = min(n_folds, y.size)
    if n_folds < 2:
        return None
    rng = np.random.default_rng(random_state)
    order = np.lexsort((rng.random(y.size), y))  # shuffled within each class
    folds = np.empty(y.size, dtype=np.int64)
    folds[order] = np.arange(y.size) % n_folds
    return folds


def _scores(y: np.ndarray, proba: np.ndarray, k: int) -> tuple[float, float, float]:
    """Weka's weighted AUC, error rate and kappa of pooled out-of-fold predictions."""
    pred = proba.argmax(axis=1)
    n = y.size
    confusion = np.bincount(y * k + pred, minlength=k * k).reshape(k, k)
    err = 1.0 - np.trace(confusion) / n
    expected = float((confusion.sum(axis=1) * confusion.sum(axis=0)).sum()) / (n * n)
    kappa = (1.0 - err - expected) / (1.0 - expected) if expected < 1.0 else float("nan")
    counts = np.bincount(y, minlength=k)
    aucs = one_vs_rest_auc(y, proba)
    ok = np.isfinite(aucs)
    auc = float((aucs[ok] * counts[ok]).sum() / counts[ok].sum()) if ok.any() else float("nan")
    return auc, float(err), float(kappa)


def _naive_bayes(fold: _Fold) -> np.ndarray:
    """Weka-style naive Bayes class probabilities for the test rows."""
    t, k = fold.table, fold.table.n_classes
    y = t.y[fold.train]
    class_counts = np.bincount(y, minlength=k).astype(np.float64)
    log_post = np.tile(np.log((class_counts + 1) / (y.size + k)), (fold.test.size, 1))
    p = t.numeric.shape[1]
    step = max(1, _NB_BLOCK_CELLS // max(fold.test.size * k, 1))
    for start in range(0, p, step):
        cols = slice(start, min(p, start + step))
        log_post += _normal_log_likelihood(t.numeric[fold.train, cols], y, k, t.numeric[fold.test, cols])
    for col, levels in zip(t.codes.T, t.n_levels, strict=True):
        tr, te = col[fold.train], col[fold.test]
        keep = tr >= 0
        table = np.bincount(tr[keep] * k + y[keep], minlength=int(levels) * k).reshape(-1, k) + 1.0
        table = np.log(table / table.sum(axis=0))
        log_post += np.where((te >= 0)[:, None], table[np.maximum(te, 0)], 0.0)
    log_post -= log_post.max(axis=1, keepdims=True)
    proba = np.exp(log_post)
    return proba / proba.sum(axis=1, keepdims=True)


def _normal_log_likelihood(x: np.ndarray, y: np.ndarray, k: int, xt: np.ndarray) -> np.ndarray:
    """Sum over columns of log P(x_test | class) under Weka's NormalEstimator, (n_test, k).

    Weka rounds values to the column's precision and takes the normal probability of the
    interval value +- precision/2; std = max(population std, precision/6). Where the interval
    is narrow (precision <= std/10) density * precision equals it to ~1e-3 relative and
    costs far less. Missing values contribute nothing.
    """
    onehot = np.eye(k)[y]  # (n_train, k)
    present = ~np.isnan(x)
    x0 = np.where(present, x, 0.0)
    w = present.T.astype(np.float64) @ onehot  # (p, k) value counts per class
    s1 = x0.T @ onehot
    s2 = (x0 * x0).T @ onehot
    precision = _weka_precision(x)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(w > 0, s1 / w, 0.0)
        std = np.sqrt(np.abs(s2 - mean * s1) / w)
    std = np.where((w > 0) & (std > 1e-10), np.maximum(std, precision / 6), precision / 6)
    xr = (np.rint(xt / precision.T) * precision.T)[:, :, None]
    z = (xr - mean) / std
    logp = -0.5 * z * z + np.log(precision / (std * np.sqrt(2 * np.pi)))  # density * precision
    # where the interval is wide against std, use the exact interval probability
    coarse = np.broadcast_to(precision > 0.1 * std, logp.shape)
    if coarse.any():
        half = np.broadcast_to(precision / 2 / std, logp.shape)[coarse]
        prob = ndtr(z[coarse] + half) - ndtr(z[coarse] - half)
        with np.errstate(divide="ignore"):
            # far in a tail the interval probability underflows: keep density * precision there
            logp[coarse] = np.where(prob > 1e-300, np.log(np.maximum(prob, 1e-300)), logp[coarse])
    logp[np.broadcast_to(np.isnan(xt)[:, :, None], logp.shape)] = 0.0
    return logp.sum(axis=1)


def _weka_precision(x: np.ndarray) -> np.ndarray:
    """Per column: mean gap between successive distinct values (0.01 with < 2 distinct)."""
    ordered = np.sort(x, axis=0)  # NaN last; a gap that touches NaN is not > 0
    with np.errstate(invalid="ignore"):
        gaps = (np.diff(ordered, axis=0) > 0).sum(axis=0)
        low, high = np.nanmin(ordered, axis=0, initial=np.inf), np.nanmax(ordered, axis=0, initial=-np.inf)
    return np.where(gaps > 0, (high - low) / np.maximum(gaps, 1), 0.01)


def _design(t: Table) -> np.ndarray:
    """Numeric values (NaN kept) beside one-hot nominal values of every row of ``t``."""
    width = t.numeric.shape[1] + int(t.n_levels.sum())
    out = np.zeros((t.n_rows, width))
    out[:, : t.numeric.shape[1]] = t.numeric
    start = t.numeric.shape[1]
    for col, levels in zip(t.codes.T, t.n_levels, strict=True):
        seen = np.flatnonzero(col >= 0)
        out[seen, start + col[seen]] = 1.0
        start += int(levels)
    return out


def _stump(fold: _Fold) -> np.ndarray:
    """Probabilities of a Weka-style decision stump (three branches: two sides, missing)."""
    return fold.design.stump.fit_predict(fold.train, fold.test)


def _one_nn(fold: _Fold) -> np.ndarray:
    """One-hot class of the nearest training row (squared Euclidean on the scaled design)."""
    d = fold.design
    a, b = d.scaled[fold.train], d.scaled[fold.test]
    dist = b @ a.T
    dist *= -2.0
    dist += d.sq_norms[fold.train][None, :]  # the test rows' own norms do not change the argmin
    nearest = dist.argmin(axis=1)
    return np.eye(fold.table.n_classes)[fold.table.y[fold.train][nearest]]
