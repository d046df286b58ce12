"""Landmarkers: cross-validated scores of three cheap models, named as OpenML names them.

OpenML runs Weka's NaiveBayes, DecisionStump and IBk (k=1) in 10-fold cross-validation on
the full table and reports the class-frequency-weighted one-vs-rest AUC, the error rate and
Cohen's kappa of the pooled out-of-fold predictions. We do the same on a stratified
subsample of at most ``LANDMARKER_MAX_ROWS`` rows (recorded as ``ms_LandmarkerSampleSize``)
so the cost does not grow with the table. NaiveBayes follows Weka's estimators (Laplace
counts for nominal values; a normal estimator whose precision is the mean gap between
distinct training values); the stump is scikit-learn's depth-1 tree on numeric values plus
one-hot nominal values; 1-NN uses range-normalised numeric values and a 0/1 nominal mismatch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import ndtr
from scipy.stats import rankdata
from sklearn.tree import DecisionTreeClassifier

from metasel.metafeatures._table import Table

LANDMARKER_MAX_ROWS = 3000
N_FOLDS = 10
_MAX_DESIGN_CELLS = 4_000_000  # bounds the landmarkers' scratch memory (~32 MB per array)
_MIN_ROWS = 100
LANDMARKERS = ("NaiveBayes", "DecisionStump", "kNN1N")

Model = Callable[["_Fold"], np.ndarray]


class _Fold:
    """Training and test arrays of one cross-validation fold."""

    def __init__(self, table: Table, train: np.ndarray, test: np.ndarray) -> None:
        self.table, self.train, self.test = table, train, test


def landmarker_sample_size(table: Table) -> int:
    """Rows the landmarkers use: at most LANDMARKER_MAX_ROWS, fewer for very wide tables."""
    width = table.numeric.shape[1] + int(table.n_levels.sum()) + 1
    by_width = _MAX_DESIGN_CELLS // width
    by_classes = _MAX_DESIGN_CELLS * N_FOLDS // ((table.numeric.shape[1] + 1) * table.n_classes)
    return int(max(_MIN_ROWS, min(LANDMARKER_MAX_ROWS, by_width, by_classes)))


def landmarker_metafeatures(sample: Table, *, random_state: int) -> dict[str, float]:
    """AUC, ErrRate and Kappa of each landmarker on ``sample`` (already subsampled)."""
    folds = _stratified_folds(sample.y, N_FOLDS, random_state)
    values: dict[str, float] = {"ms_LandmarkerSampleSize": float(sample.n_rows)}
    models: dict[str, Model] = {"NaiveBayes": _naive_bayes, "DecisionStump": _stump, "kNN1N": _one_nn}
    for name, model in models.items():
        if folds is None:
            scores = (float("nan"),) * 3
        else:
            proba = np.zeros((sample.n_rows, sample.n_classes))
            for f in range(int(folds.max()) + 1):
                train, test = np.flatnonzero(folds != f), np.flatnonzero(folds == f)
                proba[test] = model(_Fold(sample, train, test))
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
    aucs = np.full(k, np.nan)
    for c in np.flatnonzero((counts > 0) & (counts < n)):
        ranks = rankdata(proba[:, c])
        pos = y == c
        aucs[c] = (ranks[pos].sum() - counts[c] * (counts[c] + 1) / 2) / (counts[c] * (n - counts[c]))
    ok = np.isfinite(aucs)
    auc = float((aucs[ok] * counts[ok]).sum() / counts[ok].sum()) if ok.any() else float("nan")
    return auc, float(err), float(kappa)


def _naive_bayes(fold: _Fold) -> np.ndarray:
    """Weka-style naive Bayes class probabilities for the test rows."""
    t, k = fold.table, fold.table.n_classes
    y = t.y[fold.train]
    class_counts = np.bincount(y, minlength=k).astype(np.float64)
    log_post = np.tile(np.log((class_counts + 1) / (y.size + k)), (fold.test.size, 1))
    onehot = np.eye(k)[y]  # (n_train, k)
    if t.numeric.shape[1]:
        x = t.numeric[fold.train]
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
        xt = t.numeric[fold.test]
        xr = np.rint(xt / precision.T) * precision.T  # Weka rounds values to the precision
        z_hi = (xr[:, :, None] + precision / 2 - mean) / std
        z_lo = (xr[:, :, None] - precision / 2 - mean) / std
        prob = ndtr(z_hi) - ndtr(z_lo)
        dens = -0.5 * ((xr[:, :, None] - mean) / std) ** 2 - np.log(std) + np.log(precision / np.sqrt(2 * np.pi))
        with np.errstate(divide="ignore"):
            logp = np.where(prob > 1e-300, np.log(np.maximum(prob, 1e-300)), dens)
        logp = np.where(np.isnan(xt)[:, :, None], 0.0, logp)
        log_post += logp.sum(axis=1)
    for col, levels in zip(t.codes.T, t.n_levels, strict=True):
        tr, te = col[fold.train], col[fold.test]
        keep = tr >= 0
        table = np.bincount(tr[keep] * k + y[keep], minlength=int(levels) * k).reshape(-1, k) + 1.0
        table = np.log(table / table.sum(axis=0))
        log_post += np.where((te >= 0)[:, None], table[np.maximum(te, 0)], 0.0)
    log_post -= log_post.max(axis=1, keepdims=True)
    proba = np.exp(log_post)
    return proba / proba.sum(axis=1, keepdims=True)


def _weka_precision(x: np.ndarray) -> np.ndarray:
    """Per column: mean gap between successive distinct values (0.01 with < 2 distinct)."""
    out = np.full(x.shape[1], 0.01)
    for j in range(x.shape[1]):
        distinct = np.unique(x[:, j][~np.isnan(x[:, j])])
        if distinct.size > 1:
            out[j] = (distinct[-1] - distinct[0]) / (distinct.size - 1)
    return out


def _design(t: Table, rows: np.ndarray) -> np.ndarray:
    """Numeric values (NaN kept) beside one-hot nominal values for the given rows."""
    parts = [t.numeric[rows]]
    for col, levels in zip(t.codes.T, t.n_levels, strict=True):
        c = col[rows]
        hot = np.zeros((rows.size, int(levels)))
        seen = c >= 0
        hot[np.flatnonzero(seen), c[seen]] = 1.0
        parts.append(hot)
    return np.hstack(parts) if parts else np.empty((rows.size, 0))


def _expand(proba: np.ndarray, classes: np.ndarray, k: int) -> np.ndarray:
    full = np.zeros((proba.shape[0], k))
    full[:, classes] = proba
    return full


def _stump(fold: _Fold) -> np.ndarray:
    """Probabilities of a depth-1 decision tree (missing values routed by the tree)."""
    t = fold.table
    tree = DecisionTreeClassifier(max_depth=1, random_state=0)
    tree.fit(_design(t, fold.train), t.y[fold.train])
    return _expand(tree.predict_proba(_design(t, fold.test)), tree.classes_, t.n_classes)


def _one_nn(fold: _Fold) -> np.ndarray:
    """One-hot class of the nearest training row (range-normalised Euclidean distance)."""
    t = fold.table
    train, test = t.numeric[fold.train], t.numeric[fold.test]
    with np.errstate(invalid="ignore"):
        lo, hi = np.nanmin(train, axis=0) if train.size else 0.0, np.nanmax(train, axis=0) if train.size else 1.0
    span = np.where(np.isfinite(hi - lo) & (hi > lo), hi - lo, 1.0)
    lo = np.where(np.isfinite(lo), lo, 0.0)
    a = np.nan_to_num(np.clip((train - lo) / span, 0, 1), nan=0.5)
    b = np.nan_to_num(np.clip((test - lo) / span, 0, 1), nan=0.5)
    if t.codes.shape[1]:
        nominal = Table(t.numeric[:, :0], t.codes, t.n_levels, t.y, t.n_classes)
        scale = np.sqrt(0.5)  # a mismatch of two one-hot vectors then adds exactly 1
        a = np.hstack([a, scale * _design(nominal, fold.train)])
        b = np.hstack([b, scale * _design(nominal, fold.test)])
    d = (b * b).sum(axis=1)[:, None] - 2.0 * b @ a.T + (a * a).sum(axis=1)[None, :]
    nearest = d.argmin(axis=1)
    return np.eye(t.n_classes)[t.y[fold.train][nearest]]
