"""Shared preprocessing: one builder per encoding family, used by every zoo entry.

Three families cover the zoo:

- ``native``: gradient-boosting libraries that split on missing values and on pandas
  categoricals themselves. Categories are re-coded as strings against the categories seen
  in ``fit`` (rare ones pooled so the cardinality stays under HistGradientBoosting's 255
  bins) and columns are renamed ``f0..fn`` because LightGBM refuses JSON characters in
  feature names.
- ``ordinal``: scikit-learn trees; categories become integer codes, missing values stay
  NaN (the trees route them natively).
- ``onehot``: distance, linear and neural models; one-hot with a cap on categories per
  column, median imputation with missing indicators, standard scaling.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
)
from sklearn.utils.validation import check_is_fitted

Encoding = Literal["native", "ordinal", "onehot"]
ENCODINGS: tuple[Encoding, ...] = ("native", "ordinal", "onehot")
MAX_ONEHOT_CATEGORIES = 20
MAX_NATIVE_CATEGORIES = 250
OTHER = "__other__"


def _is_categorical(dtype) -> bool:
    return (isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype)
            or pd.api.types.is_bool_dtype(dtype))


def categorical_columns(X) -> list:  # noqa: N803 - scikit-learn naming
    """Names of the categorical (category, object, string, bool) columns of a frame."""
    if not isinstance(X, pd.DataFrame):
        return []
    return [c for c in X.columns if _is_categorical(X[c].dtype)]


def numeric_columns(X) -> list:  # noqa: N803
    """Names of the numeric columns of a frame; every column index of an array."""
    if not isinstance(X, pd.DataFrame):
        return list(range(np.asarray(X).shape[1]))
    return [c for c in X.columns if not _is_categorical(X[c].dtype)]


class NativeCategoricalFrame(TransformerMixin, BaseEstimator):
    """Frame for libraries with native categorical support: fixed string categories.

    Categories never seen in ``fit`` and those beyond the ``max_categories - 1`` most
    frequent become ``"__other__"``; missing values stay missing.
    """

    def __init__(self, max_categories: int = MAX_NATIVE_CATEGORIES) -> None:
        self.max_categories = max_categories

    def fit(self, X, y=None) -> NativeCategoricalFrame:  # noqa: N803
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X, dtype=float))
        self.n_features_in_ = frame.shape[1]
        self.categories_: dict[int, list[str]] = {}
        for position, column in enumerate(frame.columns):
            if _is_categorical(frame[column].dtype):
                counts = frame[column].astype(str).where(frame[column].notna()).value_counts()
                kept = counts.index[: self.max_categories - 1].tolist()
                self.categories_[position] = [*kept, OTHER]
        return self

    def transform(self, X) -> pd.DataFrame:  # noqa: N803
        check_is_fitted(self, "categories_")
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X, dtype=float))
        columns: dict[str, pd.Series] = {}
        for position in range(frame.shape[1]):
            values = frame.iloc[:, position]
            name = f"f{position}"
            if position in self.categories_:
                kept = self.categories_[position]
                text = values.astype(str).where(values.notna())
                text = text.where(text.isin(kept) | text.isna(), OTHER)
                columns[name] = pd.Categorical(text, categories=kept)
            else:
                columns[name] = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
        return pd.DataFrame(columns, index=range(len(frame)))


def as_text(X) -> np.ndarray:  # noqa: N803
    """Categorical values as an object array of strings, missing as NaN.

    Encoders sort categories; mixed types (``1`` and ``"a"``) would not sort.
    """
    frame = pd.DataFrame(X)
    text = frame.astype(str).where(frame.notna())
    return text.to_numpy(dtype=object, na_value=np.nan)


def as_text_filled(X) -> np.ndarray:  # noqa: N803
    """Like :func:`as_text`, with missing values as their own ``"__missing__"`` category."""
    text = as_text(X)
    text[pd.isna(text)] = "__missing__"
    return text


def _text(fill_missing: bool) -> FunctionTransformer:
    func = as_text_filled if fill_missing else as_text
    return FunctionTransformer(func, feature_names_out="one-to-one")


def _ordinal() -> ColumnTransformer:
    encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                             encoded_missing_value=np.nan)
    categorical = Pipeline([("text", _text(fill_missing=False)), ("encode", encoder)])
    return ColumnTransformer(
        [("categorical", categorical, categorical_columns),
         ("numeric", "passthrough", numeric_columns)],
        sparse_threshold=0.0,
    )


def _onehot() -> ColumnTransformer:
    encoder = OneHotEncoder(handle_unknown="infrequent_if_exist",
                            max_categories=MAX_ONEHOT_CATEGORIES, sparse_output=False)
    numeric = Pipeline([
        ("impute", SimpleImputer(strategy="median", add_indicator=True)),
        ("scale", StandardScaler()),
    ])
    categorical = Pipeline([("text", _text(fill_missing=True)), ("encode", encoder)])
    return ColumnTransformer(
        [("categorical", categorical, categorical_columns), ("numeric", numeric, numeric_columns)],
        sparse_threshold=0.0,
    )


def make_preprocessor(encoding: Encoding) -> BaseEstimator:
    """A fresh, unfitted preprocessing step for ``encoding``."""
    if encoding == "native":
        return NativeCategoricalFrame()
    if encoding == "ordinal":
        return _ordinal()
    if encoding == "onehot":
        return _onehot()
    raise ValueError(f"encoding must be one of {ENCODINGS}; got {encoding!r}")
