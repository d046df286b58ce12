"""Robust scaling of meta-features, stored as plain JSON.

Meta-features mix counts spanning six orders of magnitude with ratios in [0, 1]; distances
on raw values would be decided by the number of rows alone. Heavy-tailed non-negative
columns (counts, sizes) get ``log1p``; every column is then centred on its median, divided by
its inter-quartile range, clipped, and missing values become the median (0 after scaling).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

#: Columns with fewer non-missing values than this share of the datasets are not used.
MIN_PRESENT = 0.5
#: Scaled values are clipped to +-CLIP so a single outlier cannot dominate a distance.
CLIP = 5.0
_COUNT_PREFIXES = ("NumberOf", "MajorityClassSize", "MinorityClassSize",
                   "MaxNominalAttDistinctValues", "MeanNominalAttDistinctValues",
                   "MinNominalAttDistinctValues", "EquivalentNumberOfAtts")


def _is_heavy_tailed(values: pd.Series) -> bool:
    present = values.dropna()
    if present.empty or (present < 0).any():
        return False
    if values.name is not None and str(values.name).startswith(_COUNT_PREFIXES):
        return True
    q50, q99 = np.quantile(present, [0.5, 0.99])
    return bool(q99 > 20 * max(q50, 1e-9) and q99 > 10)


@dataclass(frozen=True)
class FeatureScaler:
    """Which meta-features are used and how each is transformed (all JSON-serialisable)."""

    columns: list[str]
    log: list[bool]
    center: list[float]
    scale: list[float]

    @classmethod
    def fit(cls, features: pd.DataFrame, *, min_present: float = MIN_PRESENT) -> FeatureScaler:
        """Learn the transformation from the KB's meta-features (rows = datasets)."""
        present = features.notna().mean()
        usable = [c for c in features.columns
                  if present[c] >= min_present and features[c].nunique(dropna=True) > 1]
        log = [_is_heavy_tailed(features[c]) for c in usable]
        raw = features[usable].to_numpy(dtype=float)
        raw = np.where(np.asarray(log)[None, :], np.log1p(np.clip(raw, 0, None)), raw)
        center = np.nanmedian(raw, axis=0)
        q75, q25 = np.nanpercentile(raw, [75, 25], axis=0)
        spread = q75 - q25
        fallback = np.nanstd(raw, axis=0)
        scale = np.where(spread > 1e-12, spread, np.where(fallback > 1e-12, fallback, 1.0))
        return cls(columns=usable, log=log, center=center.tolist(), scale=scale.tolist())

    def transform(self, features: pd.DataFrame | pd.Series) -> np.ndarray:
        """Scaled matrix (rows = datasets); absent or missing meta-features become 0."""
        frame = features.to_frame().T if isinstance(features, pd.Series) else features
        raw = frame.reindex(columns=self.columns).to_numpy(dtype=float)
        raw = np.where(np.asarray(self.log)[None, :], np.log1p(np.clip(raw, 0, None)), raw)
        scaled = (raw - np.asarray(self.center)) / np.asarray(self.scale)
        return np.clip(np.nan_to_num(scaled, nan=0.0, posinf=CLIP, neginf=-CLIP), -CLIP, CLIP)

    def to_dict(self) -> dict[str, Any]:
        return {"columns": self.columns, "log": self.log, "center": self.center,
                "scale": self.scale}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureScaler:
        return cls(columns=list(data["columns"]), log=[bool(v) for v in data["log"]],
                   center=[float(v) for v in data["center"]],
                   scale=[float(v) for v in data["scale"]])
