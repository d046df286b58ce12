"""``extract_metafeatures``: a Dataset in, one named float vector out."""

from __future__ import annotations

import numpy as np
import pandas as pd

from metasel.data import Dataset
from metasel.metafeatures._extra import extra_metafeatures
from metasel.metafeatures._information import information_metafeatures
from metasel.metafeatures._landmarkers import landmarker_metafeatures, landmarker_sample_size
from metasel.metafeatures._registry import METAFEATURES
from metasel.metafeatures._simple import simple_metafeatures
from metasel.metafeatures._statistical import statistical_metafeatures
from metasel.metafeatures._table import Table, as_table, subsample_rows, take_rows


def extract_metafeatures(dataset: Dataset, *, random_state: int = 0, landmarkers: bool = True) -> pd.Series:
    """OpenML data qualities plus metasel's ``ms_`` extras of ``dataset``.

    The index is ``METAFEATURES``' names in registry order; values are floats, NaN where a
    quality is undefined (e.g. numeric statistics of a table without numeric attributes).
    Exact statistics use every row; landmarkers and PCA features use a stratified sample
    drawn with ``random_state`` (its size is ``ms_LandmarkerSampleSize``), so the result is
    deterministic for a fixed ``random_state``. The landmarkers take nearly all the time
    (seconds on a 5,000-row sample of 200 columns, milliseconds for the rest):
    ``landmarkers=False`` leaves their scores NaN, which a meta-model imputes like any
    undefined quality, and :func:`extract_landmarkers` measures them on their own.
    """
    table, sample = _table_and_sample(dataset, random_state)
    values: dict[str, float] = {}
    values.update(simple_metafeatures(table))
    values.update(statistical_metafeatures(table))
    values.update(information_metafeatures(table))
    values.update(landmarker_metafeatures(sample, random_state=random_state, run=landmarkers))
    values.update(extra_metafeatures(table, sample))
    if values.keys() != METAFEATURES.keys():  # a registry/implementation mismatch is a bug
        missing = sorted(METAFEATURES.keys() - values.keys())
        unknown = sorted(values.keys() - METAFEATURES.keys())
        raise RuntimeError(f"meta-feature registry out of sync: missing {missing}, unregistered {unknown}")
    out = pd.Series([values[name] for name in METAFEATURES], index=list(METAFEATURES), dtype=np.float64)
    out.name = dataset.name
    return out.where(np.isfinite(out))


def extract_landmarkers(dataset: Dataset, *, random_state: int = 0) -> pd.Series:
    """Only the landmarker group of :func:`extract_metafeatures` (same values), so a caller
    on a deadline can add them to ``extract_metafeatures(dataset, landmarkers=False)``
    when time allows (``Series.update``)."""
    _, sample = _table_and_sample(dataset, random_state)
    out = pd.Series(landmarker_metafeatures(sample, random_state=random_state), dtype=np.float64)
    out.name = dataset.name
    return out.where(np.isfinite(out))


def _table_and_sample(dataset: Dataset, random_state: int) -> tuple[Table, Table]:
    table = as_table(dataset)
    rows = subsample_rows(table.y, landmarker_sample_size(table), random_state)
    return table, table if rows.size == table.n_rows else take_rows(table, rows)
