"""`load_dataset`: one entry point for every kind of source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metasel.data._arff import load_arff
from metasel.data._bundled import load_keel, load_sklearn
from metasel.data._clean import from_frame
from metasel.data._dataset import Dataset
from metasel.data._files import read_csv, read_parquet
from metasel.data._openml import load_openml
from metasel.exceptions import DataError, SourceNotFoundError

_TABLE_SUFFIXES = {".csv", ".tsv", ".txt", ".data", ".parquet", ".pq", ".arff"}


def load_dataset(source: Any, target: str | None = None, **options: Any) -> Dataset:
    """Load a classification dataset from any supported source.

    ``source`` is a path (CSV/TSV, parquet, ARFF), ``"openml:<id>"``, ``"keel:<name>"``,
    ``"sklearn:<name>"``, a DataFrame (with ``target=`` naming its label column), a
    ``(X, y)`` pair, or an existing `Dataset` (returned as is). ``options`` go to the
    source's loader (``sep``/``encoding`` for CSV, ``cache_dir`` for OpenML,
    ``numeric_target`` for ARFF, ``name``/``group`` for frames).
    """
    if isinstance(source, Dataset):
        return source
    if isinstance(source, pd.DataFrame | np.ndarray):
        return from_frame(source, target=target, **options)
    if isinstance(source, tuple) and len(source) == 2:
        return from_frame(source[0], source[1], **options)
    if not isinstance(source, str | Path):
        raise DataError(
            "source must be a path, 'openml:<id>', 'keel:<name>', 'sklearn:<name>', a DataFrame "
            f"or an (X, y) pair. Got {type(source).__name__}."
        )
    text = str(source)
    scheme, _, rest = text.partition(":")
    if scheme == "openml" and rest:
        return load_openml(rest, target, **options)
    if scheme == "keel" and rest:
        return load_keel(rest, **options)
    if scheme == "sklearn" and rest:
        return load_sklearn(rest, **options)
    return _load_file(Path(text).expanduser(), target, **options)


def _load_file(path: Path, target: str | None, **options: Any) -> Dataset:
    if not path.exists():
        raise SourceNotFoundError(f"No such file: {path}.")
    suffix = path.suffix.lower()
    if path.is_dir() or suffix not in _TABLE_SUFFIXES:
        raise DataError(
            f"{path} is not a table file metasel can read: use CSV/TSV (.csv, .tsv, .txt), "
            "parquet (.parquet, .pq) or ARFF (.arff)."
        )
    if suffix == ".arff":
        return load_arff(path, target, **options)
    name = options.pop("name", path.stem)
    if suffix in {".parquet", ".pq"}:
        frame, source = read_parquet(path), "parquet"
    else:
        reader_options = {k: options.pop(k) for k in ("sep", "encoding") if k in options}
        frame, source = read_csv(path, **reader_options), "csv"
    if target is None:
        raise DataError(
            f"Name the target column of {path} with target=... (--target on the command line). "
            f"Columns: {list(frame.columns)[:12]}."
        )
    return from_frame(frame, target=target, name=name, source=source, source_id=str(path), **options)
