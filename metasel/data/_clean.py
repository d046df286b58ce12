"""Turn any table (DataFrame/numpy + target) into a clean `Dataset`, or say clearly why not."""

from __future__ import annotations

import contextlib
import logging
import re
import warnings
from typing import Literal

import numpy as np
import pandas as pd

from metasel.data._dataset import Dataset
from metasel.data._groups import group_key
from metasel.exceptions import DataError

logger = logging.getLogger(__name__)

#: a text column is read as numbers when at least this share of its non-missing values parse
NUMERIC_TEXT_SHARE = 0.95
#: at most this many distinct integer values make a numeric target a class label
MAX_NUMERIC_CLASSES = 30
_ID_NAME = re.compile(r"(?i)^(id|.*[_ ]id|index|idx|row|row_?(no|num|number)|key|unnamed: ?0)$")
MISSING_TOKENS = ("?", "", "NA", "N/A", "nan", "NaN", "null", "NULL", "None")


class DataWarning(UserWarning):
    """Data were changed on the way in (rows or columns dropped): the warning says which."""


def from_frame(
    X: pd.DataFrame | np.ndarray,
    y: pd.Series | np.ndarray | list | None = None,
    *,
    target: str | None = None,
    name: str = "frame",
    source: str = "frame",
    source_id: str | None = None,
    group: str | None = None,
    drop_uninformative: bool = True,
    numeric_target: Literal["error", "binarize"] = "error",
) -> Dataset:
    """Validate and clean a table into a `Dataset`; the caller's objects are never modified.

    Either ``y`` holds the labels, or ``target`` names a column of ``X``. Rows with a missing
    label are dropped with a warning; constant, all-missing and ID-like columns are dropped
    with a warning that names them (unless ``drop_uninformative=False``, which keeps the
    table's shape, as OpenML's data qualities count every column); text columns of numbers
    become numeric. A target that looks continuous (a regression task) is refused, or split
    at its mean with ``numeric_target="binarize"``.
    """
    frame = _as_frame(X)
    if y is None:
        if target is None:
            raise DataError("A target is required: pass y=..., or target='<column name>'.")
        if target not in frame.columns:
            raise DataError(
                f"The target column {target!r} is not in the table. "
                f"Columns are: {_preview(frame.columns)}. Pass target=<one of them>."
            )
        labels = frame[target]
        frame = frame.drop(columns=[target])
    else:
        labels = pd.Series(np.asarray(y, dtype=object) if not isinstance(y, pd.Series) else y)
        if len(labels) != len(frame):
            raise DataError(
                f"X and y must have the same number of rows. Got {len(frame)} rows in X "
                f"and {len(labels)} labels in y."
            )
        labels.index = frame.index
    if frame.shape[0] == 0:
        raise DataError(f"The table {name!r} has no rows: a dataset needs at least 2 labelled rows.")
    labels, keep = _clean_target(labels, name, numeric_target)
    if not keep.all():
        frame = frame.loc[keep.to_numpy()]
    features, dropped = clean_features(frame, name, drop_uninformative=drop_uninformative)
    return Dataset(
        X=features.reset_index(drop=True),
        y=labels.reset_index(drop=True),
        name=name,
        source=source,
        source_id=source_id if source_id is not None else name,
        group=group if group is not None else group_key(name),
        dropped_columns=dropped,
        target_column=target if y is None else _series_name(y),
    )


def _series_name(y: object) -> str | None:
    return str(y.name) if isinstance(y, pd.Series) and y.name is not None else None


def _as_frame(X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        frame = X.copy(deep=False)
    else:
        array = np.asarray(X)
        if array.ndim != 2:
            raise DataError(f"X must be 2-dimensional (rows x features). Got shape {array.shape}.")
        frame = pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])
    if frame.shape[1] == 0:
        raise DataError("The table has no columns: a dataset needs at least one feature.")
    frame.columns = [str(c) for c in frame.columns]
    if frame.columns.duplicated().any():
        dupes = sorted(set(frame.columns[frame.columns.duplicated()]))
        raise DataError(f"Column names must be unique. Got duplicates: {dupes}. Rename them.")
    return frame


def binarize_at_mean(values: pd.Series, name: str) -> pd.Series:
    """A numeric target as classes 'P' (above its mean) and 'N' (otherwise; missing stays
    missing): how OpenML made binary versions of regression sets. Warns with the threshold,
    since the classes a model predicts then mean 'above/below' it."""
    mean = float(values.mean())
    labels = pd.Series(pd.Categorical(np.where(values > mean, "P", "N"), categories=["N", "P"]),
                       index=values.index, name=values.name)
    labels = labels.mask(values.isna())
    counts = labels.value_counts()
    warnings.warn(
        f"Binarised the numeric target of {name!r} at its mean {mean:.6g}: class 'P' above it "
        f"({counts['P']} rows), 'N' at or below ({counts['N']} rows).",
        DataWarning,
        stacklevel=3,
    )
    return labels


def _clean_target(labels: pd.Series, name: str,
                  numeric_target: str = "error") -> tuple[pd.Series, pd.Series]:
    """Categorical labels without missing values; the mask of rows kept."""
    if isinstance(labels.dtype, pd.CategoricalDtype):
        values = labels
    elif labels.dtype == object or pd.api.types.is_string_dtype(labels):
        values = labels.map(lambda v: v.strip() if isinstance(v, str) else v)
        values = values.mask(values.isin(MISSING_TOKENS))
    else:
        values = labels
    keep = values.notna()
    n_missing = int((~keep).sum())
    if n_missing == len(values):
        raise DataError(f"The target of {name!r} has only missing values: there is nothing to learn.")
    if n_missing:
        warnings.warn(
            f"Dropped {n_missing} row(s) of {name!r} whose target is missing.",
            DataWarning,
            stacklevel=3,
        )
    values = values[keep]
    if _looks_continuous(values):
        if numeric_target != "binarize":
            raise DataError(
                f"The target of {name!r} looks continuous ({values.nunique()} distinct numbers): "
                "metasel does classification only. Bin it into classes first, or split it at "
                "its mean with load_dataset(..., numeric_target='binarize') (--numeric-target "
                "binarize on the command line)."
            )
        values = binarize_at_mean(values, name)
    elif pd.api.types.is_float_dtype(values) and not isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(np.int64)
    categories = pd.Index(pd.unique(values.to_numpy())).dropna()
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.cat.remove_unused_categories()
    else:
        with contextlib.suppress(TypeError):  # mixed label types keep first-seen order
            categories = categories.sort_values()
        values = pd.Series(pd.Categorical(values, categories=categories), index=values.index)
    if values.cat.categories.size < 2:
        only = values.cat.categories[0] if values.cat.categories.size else None
        raise DataError(
            f"The target of {name!r} must have at least 2 classes. Got only {only!r}: "
            "there is nothing to learn."
        )
    return values.rename("target"), keep


def _looks_continuous(values: pd.Series) -> bool:
    """Floats that are not class codes: some are not whole numbers, or there are too many
    (integer dtypes are class codes, as in scikit-learn's ``type_of_target``)."""
    if isinstance(values.dtype, pd.CategoricalDtype) or not pd.api.types.is_float_dtype(values):
        return False
    integral = np.all(np.mod(values.to_numpy(dtype=float), 1) == 0)
    return not integral or values.nunique() > MAX_NUMERIC_CLASSES


def clean_features(
    frame: pd.DataFrame, name: str, *, drop_uninformative: bool = True
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Numeric columns as float64, everything else as `category` with string levels.

    Drops (and names in the warning) columns that carry no usable information.
    """
    columns: dict[str, pd.Series] = {}
    dropped: dict[str, str] = {}
    n_rows = len(frame)
    for column in frame.columns:
        converted = _convert_column(frame[column])
        reason = _unusable(converted, n_rows) if drop_uninformative else None
        if reason:
            dropped[column] = reason
        else:
            columns[column] = converted
    if dropped:
        detail = ", ".join(f"{c!r} ({why})" for c, why in dropped.items())
        warnings.warn(f"Dropped column(s) of {name!r}: {detail}.", DataWarning, stacklevel=3)
    if not dropped and not columns:
        raise DataError(f"{name!r} has no column besides its target: a dataset needs at least "
                        "one feature.")
    if not columns:
        raise DataError(
            f"No usable feature is left in {name!r} after dropping {len(dropped)} column(s) "
            f"({', '.join(f'{c}: {w}' for c, w in dropped.items())})."
        )
    return pd.DataFrame(columns, index=frame.index), dropped


def _convert_column(column: pd.Series) -> pd.Series:
    if isinstance(column.dtype, pd.CategoricalDtype):
        # declared levels are kept (OpenML counts them: a 'binary' attribute declares two)
        return column.cat.rename_categories(lambda c: str(c))
    if pd.api.types.is_bool_dtype(column):
        return column.astype("string").astype("category")
    if pd.api.types.is_numeric_dtype(column):
        return column.astype(np.float64)
    seconds = temporal_seconds(column)
    if seconds is not None:
        return seconds
    text = column.astype("string").str.strip()
    text = text.mask(text.isin(MISSING_TOKENS))
    numbers = pd.to_numeric(text, errors="coerce")
    present = int(text.notna().sum())
    if present and numbers.notna().sum() >= NUMERIC_TEXT_SHARE * present:
        return numbers.astype(np.float64)
    dates = iso_date_seconds(text)
    if dates is not None:
        return dates
    return text.astype("category")


def temporal_seconds(column: pd.Series) -> pd.Series | None:
    """Datetimes as seconds since 1970-01-01 UTC, durations as seconds (missing stays NaN);
    None for any other column. Fit and predict both convert through here, in any unit
    (``datetime64[s]`` as well as ``[ns]``) and time zone."""
    if pd.api.types.is_datetime64_any_dtype(column):
        if getattr(column.dt, "tz", None) is not None:
            column = column.dt.tz_convert("UTC").dt.tz_localize(None)
        column = column - pd.Timestamp(0)
    elif not pd.api.types.is_timedelta64_dtype(column):
        return None
    return (column / pd.Timedelta(seconds=1)).astype(np.float64)


def iso_date_seconds(text: pd.Series) -> pd.Series | None:
    """A text column of ISO 8601 dates ('2024-03-01', '2024-03-01T10:00+02:00') as seconds
    since 1970 UTC (unparsed values missing); None unless most of its values are such dates.
    As text, a date column of a CSV would be a category with a level per day, or be dropped
    as an identifier."""
    present = text.dropna()
    if present.empty or iso_dates(present.head(20)).notna().mean() < NUMERIC_TEXT_SHARE:
        return None  # the cheap look at 20 values spares a category column the full parse
    dates = iso_dates(text)
    if dates.notna().sum() < NUMERIC_TEXT_SHARE * len(present):
        return None
    return temporal_seconds(dates)


def iso_dates(values: pd.Series) -> pd.Series:
    """ISO 8601 text as UTC datetimes (a value without offset is UTC; unparsed: NaT).

    Values with and without an offset are parsed apart: in one call pandas (2.3) reads a
    plain value that follows an offset one with that offset."""
    has_offset = values.astype("string").str.strip().str.contains(
        r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True, na=False).to_numpy(dtype=bool)
    dates = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    for part in (has_offset, ~has_offset):
        if part.any():
            dates[part] = pd.to_datetime(values[part], format="ISO8601", errors="coerce", utc=True)
    return dates


def _unusable(column: pd.Series, n_rows: int) -> str | None:
    """Why a column is dropped: all missing, constant, or an identifier."""
    present = column.dropna()
    if present.empty:
        return "all values missing"
    n_unique = present.nunique()
    if n_unique == 1:
        return "constant"
    if n_rows >= 20 and n_unique == n_rows:
        if isinstance(column.dtype, pd.CategoricalDtype):
            return "identifier: every value unique"
        values = present.to_numpy()
        if _ID_NAME.match(str(column.name)) and np.all(np.mod(values, 1) == 0):
            return "identifier: unique integers in a column named like an id"
    return None


def _preview(columns: pd.Index, limit: int = 12) -> str:
    names = [repr(c) for c in columns[:limit]]
    return ", ".join(names) + (f", … ({len(columns)} in all)" if len(columns) > limit else "")
