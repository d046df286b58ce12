"""One numeric view of a ``Dataset`` shared by every meta-feature group.

Converting the DataFrame once (a float matrix for numeric columns, integer codes for
categorical ones) keeps every group vectorised and bounds memory to about one extra copy
of the table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from metasel.data import Dataset
from metasel.exceptions import DataError


@dataclass(frozen=True)
class Table:
    """Arrays derived from a dataset; ``codes`` use -1 for a missing category."""

    numeric: np.ndarray  # (n, p_num) float64, NaN = missing
    codes: np.ndarray  # (n, p_cat) int32, -1 = missing
    n_levels: np.ndarray  # (p_cat,) declared categories per categorical column
    y: np.ndarray  # (n,) int codes of the class, 0..n_classes-1
    n_classes: int  # declared classes (``y`` categories)

    @property
    def n_rows(self) -> int:
        return int(self.y.shape[0])


def as_table(dataset: Dataset) -> Table:
    """Validate ``dataset`` and convert it once; raises ``DataError`` on a broken one."""
    if not isinstance(dataset, Dataset):
        raise DataError(
            "extract_metafeatures needs a metasel Dataset. "
            f"Got {type(dataset).__name__} instead; build one with metasel.data.from_frame(X, y)."
        )
    X, y = dataset.X, dataset.y
    if not isinstance(y.dtype, pd.CategoricalDtype):
        raise DataError(
            f"Dataset.y must be a categorical Series. Got dtype {y.dtype} for dataset "
            f"{dataset.name!r}; convert it with y.astype('category')."
        )
    y_codes = y.cat.codes.to_numpy()
    if len(y_codes) == 0 or (y_codes < 0).any():
        raise DataError(
            f"Dataset.y must have at least one row and no missing labels. Dataset {dataset.name!r} "
            f"has {len(y_codes)} rows and {int((y_codes < 0).sum())} missing labels; drop those rows."
        )
    num_cols, cat_cols = dataset.numeric_columns, dataset.categorical_columns
    odd = [c for c in num_cols if not pd.api.types.is_numeric_dtype(X[c].dtype)]
    if odd:
        raise DataError(
            "Dataset.X may hold only float and 'category' columns. Got "
            f"{', '.join(f'{c!r} ({X[c].dtype})' for c in odd[:5])} in {dataset.name!r}; "
            "build the dataset with metasel.data.from_frame, which converts them."
        )
    numeric = (
        X[num_cols].to_numpy(dtype=np.float64, na_value=np.nan)
        if num_cols
        else np.empty((len(X), 0), dtype=np.float64)
    )
    if cat_cols:
        codes = np.empty((len(X), len(cat_cols)), dtype=np.int32, order="F")
        for j, c in enumerate(cat_cols):
            codes[:, j] = X[c].cat.codes.to_numpy()
        n_levels = np.array([X[c].cat.categories.size for c in cat_cols], dtype=np.int64)
    else:
        codes = np.empty((len(X), 0), dtype=np.int32)
        n_levels = np.empty(0, dtype=np.int64)
    return Table(
        numeric=numeric,
        codes=codes,
        n_levels=n_levels,
        y=y_codes.astype(np.int64),
        n_classes=int(y.cat.categories.size),
    )


def subsample_rows(y: np.ndarray, max_rows: int, random_state: int) -> np.ndarray:
    """Sorted row indices of a stratified sample of about ``max_rows`` rows.

    Each class keeps its share, rounded down, but at least two rows where it has them (so
    it can appear on both sides of a cross-validation split): at most ``max_rows`` plus two
    rows per class.
    """
    n = y.shape[0]
    if n <= max_rows:
        return np.arange(n)
    rng = np.random.default_rng(random_state)
    classes, counts = np.unique(y, return_counts=True)
    quota = np.maximum(np.minimum(2, counts), np.floor(counts * max_rows / n).astype(int))
    order = np.argsort(y, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    picked = [
        rng.choice(order[s : s + c], size=q, replace=False)
        for s, c, q in zip(starts, counts, quota, strict=True)
    ]
    return np.sort(np.concatenate(picked))


def take_rows(table: Table, rows: np.ndarray) -> Table:
    """The same table restricted to ``rows`` (declared levels and classes kept)."""
    return Table(
        numeric=table.numeric[rows],
        codes=np.asfortranarray(table.codes[rows]),
        n_levels=table.n_levels,
        y=table.y[rows],
        n_classes=table.n_classes,
    )
