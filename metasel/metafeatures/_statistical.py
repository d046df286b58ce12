"""OpenML's statistical qualities: summaries of per-attribute moments of numeric attributes.

Per numeric attribute (missing values ignored) OpenML takes the mean, the sample standard
deviation (n-1), and Apache Commons Math's bias-corrected skewness and excess kurtosis;
an attribute whose statistic is undefined (constant column, too few values) is left out of
that statistic's Mean/Min/Max/Quartile summary. Computed exactly on all rows, in column
blocks so that the extra memory stays a fraction of the table.
"""

from __future__ import annotations

import numpy as np

from metasel.metafeatures._stats import summary
from metasel.metafeatures._table import Table

_BLOCK_CELLS = 250_000  # float64 cells per block: ~2 MB per scratch array


def column_moments(numeric: np.ndarray) -> dict[str, np.ndarray]:
    """Per-column mean, std (ddof=1), skewness and kurtosis as Commons Math defines them."""
    n_rows, p = numeric.shape
    out = {k: np.full(p, np.nan) for k in ("mean", "std", "skew", "kurt")}
    step = max(1, _BLOCK_CELLS // max(n_rows, 1))
    for start in range(0, p, step):
        cols = slice(start, min(p, start + step))
        _block_moments(numeric[:, cols], {k: v[cols] for k, v in out.items()})
    return out


def _block_moments(block: np.ndarray, out: dict[str, np.ndarray]) -> None:
    mask = np.isnan(block)
    n = (~mask).sum(axis=0).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(mask, 0.0, block).sum(axis=0) / n
        d = np.where(mask, 0.0, block - mean)
        d2 = d * d
        m2 = d2.sum(axis=0)
        m3 = np.einsum("ij,ij->j", d2, d)  # no temporary for the products
        m4 = np.einsum("ij,ij->j", d2, d2)
        var = m2 / (n - 1)
        std = np.where(n == 1, 0.0, np.sqrt(var))
        skew = n / ((n - 1) * (n - 2)) * m3 / (var * np.sqrt(var))
        kurt = (n * (n + 1) / ((n - 1) * (n - 2) * (n - 3))) * m4 / (var * var) - 3 * (n - 1) ** 2 / (
            (n - 2) * (n - 3)
        )
    out["mean"][:] = np.where(n > 0, mean, np.nan)
    out["std"][:] = np.where(n > 0, std, np.nan)
    out["skew"][:] = np.where((n > 2) & (var > 0), skew, np.nan)
    out["kurt"][:] = np.where((n > 3) & (var > 0), kurt, np.nan)


def statistical_metafeatures(table: Table) -> dict[str, float]:
    """Mean/Min/Max/Quartile1-3 of the per-attribute Means, StdDev, Kurtosis and Skewness."""
    moments = column_moments(table.numeric)
    values: dict[str, float] = {}
    for key, stem in (("mean", "Means"), ("std", "StdDev"), ("kurt", "Kurtosis"), ("skew", "Skewness")):
        values.update(summary(moments[key], stem, "OfNumericAtts"))
    return values
