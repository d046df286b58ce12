"""The training table's schema, and aligning a new table to it at prediction time.

Columns are matched by name (another order is fine), columns the model never saw are
dropped with a warning, missing ones are an error that lists them, and categories unseen
in training become missing values (every learner's preprocessing imputes them).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from metasel.data._clean import MISSING_TOKENS, iso_date_seconds, temporal_seconds
from metasel.exceptions import DataError


class ColumnWarning(UserWarning):
    """A prediction table differs from the training schema in a way that was repaired."""


@dataclass(frozen=True)
class TableSchema:
    """Input column names in fit order, and for each kept column its categories (or None)."""

    input_columns: tuple[str, ...]
    categories: dict[str, tuple[str, ...] | None]
    named: bool

    @classmethod
    def from_training(cls, input_columns: Sequence[str], X: pd.DataFrame, *,
                      named: bool) -> TableSchema:
        cats = {c: (tuple(X[c].cat.categories) if isinstance(X[c].dtype, pd.CategoricalDtype)
                    else None) for c in X.columns}
        return cls(tuple(input_columns), cats, named)

    def align(self, X: pd.DataFrame, owner: str) -> pd.DataFrame:
        """``X`` (string column names) as the model's input: kept columns, training dtypes."""
        self._check_columns(X, owner)
        columns = {}
        unseen: dict[str, int] = {}
        for name, categories in self.categories.items():
            column = X[name]
            if categories is None:
                columns[name] = _as_numeric(column, name)
            else:
                text = _as_text(column)
                coded = pd.Categorical(text, categories=list(categories))
                n_unseen = int((pd.isna(coded) & text.notna().to_numpy()).sum())
                if n_unseen:
                    unseen[name] = n_unseen
                columns[name] = coded
        if unseen:
            detail = ", ".join(f"{c!r}: {n}" for c, n in unseen.items())
            warnings.warn(f"Categories not seen in training were treated as missing values "
                          f"(column: count) {detail}.", ColumnWarning, stacklevel=4)
        return pd.DataFrame(columns, index=X.index)

    def _check_columns(self, X: pd.DataFrame, owner: str) -> None:
        expected = list(self.input_columns)
        present = set(X.columns)
        missing = [c for c in expected if c not in present]
        if missing:
            unseen = [c for c in X.columns if c not in set(expected)]
            message = "The feature names should match those that were passed during fit.\n"
            if unseen:
                message += "Feature names unseen at fit time:\n" + _bullets(unseen)
            message += "Feature names seen at fit time, yet now missing:\n" + _bullets(missing)
            raise DataError(message + f"Pass a table with every column {owner} was fitted "
                            "on (any order; extra columns are dropped).")
        extra = [c for c in X.columns if c not in set(expected)]
        if extra:
            warnings.warn(f"Dropped column(s) {extra} that {owner} was not fitted on.",
                          ColumnWarning, stacklevel=4)


def _bullets(names: Sequence[str]) -> str:
    return "".join(f"- {n}\n" for n in names)


def _as_numeric(column: pd.Series, name: str) -> np.ndarray:
    seconds = temporal_seconds(column)
    if seconds is not None:
        return seconds.to_numpy()
    if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
        text = _as_text(column)
        numbers = pd.to_numeric(text, errors="coerce")
        if numbers.isna().all() and (dates := iso_date_seconds(text)) is not None:
            numbers = dates  # a date column (seconds, as fit made it from the same text)
        bad = numbers.isna() & text.notna()
        if bad.any():
            example = text[bad].iloc[0]
            raise DataError(f"Column {name!r} was numeric in training; got non-numeric value "
                            f"{example!r} ({int(bad.sum())} such rows). Pass numbers or "
                            "leave the cell empty for a missing value.")
        return numbers.to_numpy(dtype=np.float64)
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


def _as_text(column: pd.Series) -> pd.Series:
    """Values as stripped strings (as the training cleaner made them), missing tokens as NA."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype(object)
    text = column.astype("string").str.strip()
    return text.mask(text.isin(MISSING_TOKENS))
