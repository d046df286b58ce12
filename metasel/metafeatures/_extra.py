"""metasel's own meta-features (prefixed ``ms_``): scale-free sizes and numeric structure.

Log sizes put datasets of very different sizes on one scale for distance-based meta-models;
the PCA and correlation features describe redundancy among numeric attributes, which the
OpenML qualities do not. The PCA/correlation ones use the landmarkers' bounded sample.
"""

from __future__ import annotations

import numpy as np

from metasel.metafeatures._table import Table

_MAX_ROWS = 1000
_MAX_COLS = 300


def extra_metafeatures(table: Table, sample: Table) -> dict[str, float]:
    """Log sizes, class-imbalance ratio and PCA/correlation summaries of numeric attributes."""
    n, p = table.n_rows, table.numeric.shape[1] + table.codes.shape[1]
    counts = np.bincount(table.y, minlength=table.n_classes)
    counts = counts[counts > 0]
    values = {
        "ms_LogNumberOfInstances": float(np.log(n)),
        "ms_LogNumberOfPredictors": float(np.log(p)) if p else float("nan"),
        "ms_LogPredictorsPerInstance": float(np.log(p / n)) if p else float("nan"),
        "ms_ClassImbalanceRatio": float(counts.max() / counts.min()),
        "ms_NumberOfPredictors": float(p),
    }
    values.update(_numeric_structure(sample.numeric))
    return values


def _numeric_structure(x: np.ndarray) -> dict[str, float]:
    """PCA and correlation summaries of standardised numeric columns (mean-imputed, bounded)."""
    nan = float("nan")
    out = {
        "ms_PCAFractionOfComponentsFor95PercentVariance": nan,
        "ms_PCAFirstComponentVarianceFraction": nan,
        "ms_MeanAbsCorrelationOfNumericAtts": nan,
    }
    if x.shape[0] < 3 or x.shape[1] == 0:
        return out
    # bound the cost on wide tables: at most _MAX_ROWS rows and _MAX_COLS evenly spaced columns
    x = x[:: -(-x.shape[0] // _MAX_ROWS)]
    x = x[:, np.unique(np.linspace(0, x.shape[1] - 1, min(x.shape[1], _MAX_COLS)).astype(int))]
    missing = np.isnan(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(missing, 0.0, x).sum(axis=0) / (~missing).sum(axis=0)
        centred = np.where(missing, 0.0, x - mean)
        std = centred.std(axis=0)
    z = centred[:, np.isfinite(std) & (std > 0)]
    if z.shape[1] == 0:
        return out
    z = z / z.std(axis=0)
    corr = (z.T @ z) / z.shape[0]  # the correlation matrix; its eigenvalues are PCA's variances
    spectrum = np.clip(np.linalg.eigvalsh(corr)[::-1], 0.0, None)
    share = np.cumsum(spectrum) / spectrum.sum()
    k = int(np.searchsorted(share, 0.95 - 1e-12) + 1)
    out["ms_PCAFractionOfComponentsFor95PercentVariance"] = k / z.shape[1]
    out["ms_PCAFirstComponentVarianceFraction"] = float(share[0])
    if z.shape[1] > 1:
        upper = np.abs(corr[np.triu_indices_from(corr, k=1)])
        out["ms_MeanAbsCorrelationOfNumericAtts"] = float(upper.mean())
    return out
