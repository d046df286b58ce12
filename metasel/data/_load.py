"""`load_dataset`: one entry point for every kind of source."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from metasel.data._arff import load_arff, read_arff
from metasel.data._bundled import load_keel, load_sklearn
from metasel.data._clean import from_frame
from metasel.data._dataset import Dataset
from metasel.data._files import read_csv, read_parquet
from metasel.data._openml import load_openml
from metasel.exceptions import DataError, SourceNotFoundError

_PARQUET_SUFFIXES = {".parquet", ".pq"}
_TABLE_SUFFIXES = {".csv", ".tsv", ".txt", ".data", ".arff", *_PARQUET_SUFFIXES}


def load_dataset(source: Any, target: str | None = None, *,
                 numeric_target: Literal["error", "binarize"] = "error", **options: Any) -> Dataset:
    """Load a classification dataset from any supported source.

    ``source`` is a path (CSV/TSV, parquet, ARFF), ``"openml:<id>"``, ``"keel:<name>"``,
    ``"sklearn:<name>"``, a DataFrame (with ``target=`` naming its label column), a
    ``(X, y)`` pair, or an existing `Dataset` (returned as is). A numeric target (a
    regression task: a numeric ARFF attribute, or non-integer numbers elsewhere) is refused,
    or split at its mean into classes 'N'/'P' with ``numeric_target="binarize"`` (keel and
    scikit-learn sets always have class labels). ``options`` go to the source's loader
    (``sep``/``encoding`` for CSV, ``cache_dir`` for OpenML, ``name``/``group`` for frames).
    """
    if numeric_target not in ("error", "binarize"):
        raise ValueError(f"numeric_target must be 'error' or 'binarize'; got {numeric_target!r}.")
    if isinstance(source, Dataset):
        return source
    if isinstance(source, pd.DataFrame | np.ndarray):
        return from_frame(source, target=target, numeric_target=numeric_target, **options)
    if isinstance(source, tuple) and len(source) == 2:
        return from_frame(source[0], source[1], numeric_target=numeric_target, **options)
    if not isinstance(source, str | Path):
        raise DataError(
            "source must be a path, 'openml:<id>', 'keel:<name>', 'sklearn:<name>', a DataFrame "
            f"or an (X, y) pair. Got {type(source).__name__}."
        )
    text = str(source)
    scheme, _, rest = text.partition(":")
    if scheme == "openml" and rest:
        return load_openml(rest, target, numeric_target=numeric_target, **options)
    if scheme == "keel" and rest:
        return load_keel(rest, **options)
    if scheme == "sklearn" and rest:
        return load_sklearn(rest, **options)
    return _load_file(Path(text).expanduser(), target, numeric_target=numeric_target, **options)


def read_table(path: str | Path, **reader_options: Any) -> pd.DataFrame:
    """The raw table of a CSV/TSV, parquet or ARFF file, uncleaned: what `metasel predict`
    reads, so any file `metasel fit` trains on can also be predicted."""
    path = _table_file(Path(path).expanduser())
    suffix = path.suffix.lower()
    if suffix == ".arff":
        return read_arff(path)[0]
    if suffix in _PARQUET_SUFFIXES:
        return read_parquet(path)
    return read_csv(path, **reader_options)


def _table_file(path: Path) -> Path:
    if not path.exists():
        raise SourceNotFoundError(f"No such file: {path}.")
    if path.is_dir() or path.suffix.lower() not in _TABLE_SUFFIXES:
        raise DataError(
            f"{path} is not a table file metasel can read: use CSV/TSV (.csv, .tsv, .txt), "
            "parquet (.parquet, .pq) or ARFF (.arff)."
        )
    return path


def _load_file(path: Path, target: str | None, **options: Any) -> Dataset:
    suffix = _table_file(path).suffix.lower()
    if suffix == ".arff":
        return load_arff(path, target, **options)
    name = options.pop("name", path.stem)
    reader_options = {k: options.pop(k) for k in ("sep", "encoding") if k in options}
    frame = read_table(path, **reader_options)
    if target is None:
        raise DataError(
            f"Name the target column of {path} with target=... (--target on the command line). "
            f"Columns: {list(frame.columns)[:12]}."
        )
    source = "parquet" if suffix in _PARQUET_SUFFIXES else "csv"
    return from_frame(frame, target=target, name=name, source=source, source_id=str(path), **options)
