"""The one dataset type every part of metasel speaks."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd

TaskType = Literal["binary", "multiclass"]


@dataclass(frozen=True)
class Dataset:
    """A cleaned classification table.

    ``X`` holds only numeric (float) and ``category`` columns; ``y`` is a categorical Series
    without missing values and with at least two classes. ``group`` identifies every variant
    of the same underlying data (binarised, subsampled, re-encoded copies share it), so
    leave-one-dataset-out evaluations can hold them out together.
    """

    X: pd.DataFrame
    y: pd.Series
    name: str
    source: str
    source_id: str
    group: str
    dropped_columns: dict[str, str] = field(default_factory=dict)
    #: the label's column in the source table (None when labels came separately), so a
    #: table with that column can be predicted: ``y`` itself is always named "target"
    target_column: str | None = None

    @property
    def task(self) -> TaskType:
        return "binary" if self.n_classes == 2 else "multiclass"

    @property
    def n_classes(self) -> int:
        return int(self.y.cat.categories.size)

    @property
    def categorical_columns(self) -> list[str]:
        return [c for c in self.X.columns if isinstance(self.X[c].dtype, pd.CategoricalDtype)]

    @property
    def numeric_columns(self) -> list[str]:
        return [c for c in self.X.columns if not isinstance(self.X[c].dtype, pd.CategoricalDtype)]

    @property
    def shape(self) -> tuple[int, int]:
        return self.X.shape

    def subsample(self, n_rows: int, random_state: int | np.random.Generator | None = 0) -> Dataset:
        """A stratified subsample of at most ``n_rows`` rows (every class kept)."""
        if len(self.y) <= n_rows:
            return self
        rng = np.random.default_rng(random_state)
        codes = self.y.cat.codes.to_numpy()
        keep = stratified_indices(codes, n_rows, rng)
        return replace(
            self,
            X=self.X.iloc[keep].reset_index(drop=True),
            y=self.y.iloc[keep].reset_index(drop=True),
            dropped_columns=dict(self.dropped_columns),
        )


def stratified_indices(codes: np.ndarray, n_rows: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted row indices of a stratified sample of ``n_rows``; every class keeps >= 1 row."""
    classes, counts = np.unique(codes, return_counts=True)
    quota = np.maximum(1, np.floor(counts * n_rows / counts.sum()).astype(int))
    quota = np.minimum(quota, counts)
    picked = [
        rng.choice(np.flatnonzero(codes == c), size=q, replace=False)
        for c, q in zip(classes, quota, strict=True)
    ]
    return np.sort(np.concatenate(picked))
