"""The versioned schema of a knowledge base: two parquet tables and a manifest.

A KB is a folder::

    <kb>/manifest.json                 schema version, library versions, free-form notes
    <kb>/datasets/*.parquet            one row per dataset (ids, source, group, meta-features)
    <kb>/evaluations/<dataset>/<learner>/*.parquet   one row per evaluation

Every parquet file carries the schema version and the table name in its key-value metadata,
so a file copied out of its folder still says what it is. Bump :data:`SCHEMA_VERSION` on
any change that old readers cannot interpret (a renamed or retyped column); adding a
meta-feature column is not such a change (meta-features are open-ended floats).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import metadata

import numpy as np
import pandas as pd
import pyarrow as pa

from metasel.exceptions import KnowledgeBaseError

SCHEMA_VERSION = 1
"""Version of the on-disk layout and both tables' columns."""

METADATA_KEY = b"metasel.kb"
"""Parquet key-value metadata key holding ``{"schema_version", "table"}`` as JSON."""

METRICS = ("roc_auc", "balanced_accuracy", "accuracy", "log_loss")
"""Metrics stored per evaluation: fold mean in ``<metric>``, per-fold values in ``<metric>_folds``."""

STATUSES = ("ok", "failed", "timeout")
ORIGINS = ("default", "sampled", "lcdb")

EVALUATION_KEY = ("dataset_id", "learner", "config_id", "train_size")
"""Columns that identify one evaluation; a KB never holds two rows with the same key."""

DATASET_KEY = ("dataset_id",)

EVALUATIONS_SCHEMA = pa.schema(
    [
        ("dataset_id", pa.string()),
        ("group", pa.string()),
        ("learner", pa.string()),
        ("config_id", pa.string()),
        ("params", pa.string()),
        ("origin", pa.string()),
        ("train_size", pa.int64()),
        ("n_folds", pa.int64()),
        *[(m, pa.float64()) for m in METRICS],
        *[(f"{m}_folds", pa.list_(pa.float64())) for m in METRICS],
        ("fit_time", pa.float64()),
        ("predict_time", pa.float64()),
        ("status", pa.string()),
        ("error", pa.string()),
        ("seed", pa.int64()),
        ("versions", pa.string()),
        ("created_at", pa.timestamp("us", tz="UTC")),
    ]
)
"""Columns of the evaluations table, in order (see docs/ARCHITECTURE.md)."""

DATASET_FIXED_SCHEMA = pa.schema(
    [
        ("dataset_id", pa.string()),
        ("name", pa.string()),
        ("source", pa.string()),
        ("source_id", pa.string()),
        ("group", pa.string()),
        ("task", pa.string()),
        ("n_rows", pa.int64()),
        ("n_features", pa.int64()),
        ("n_classes", pa.int64()),
        ("openml_id", pa.int64()),
    ]
)
"""Fixed leading columns of the datasets table; every further column is a float meta-feature."""

_REQUIRED_EVALUATION = ("dataset_id", "group", "learner", "config_id", "train_size", "status")
_REQUIRED_DATASET = ("dataset_id", "source", "group")


def library_versions() -> dict[str, str]:
    """Versions of the libraries whose behaviour shapes stored results."""
    out = {}
    for pkg in ("metasel", "scikit-learn", "lightgbm", "numpy", "pandas", "pyarrow", "optuna"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


def table_metadata(table: str) -> dict[bytes, bytes]:
    """Parquet key-value metadata stamped on every file of ``table``."""
    return {METADATA_KEY: json.dumps({"schema_version": SCHEMA_VERSION, "table": table}).encode()}


def _missing(df: pd.DataFrame, required: tuple[str, ...], table: str) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise KnowledgeBaseError(
            f"Rows for the {table} table must have the columns {list(required)}; "
            f"missing {missing}. Add them before writing."
        )


def _float_list(values: object) -> list[float] | None:
    if values is None or (np.ndim(values) == 0 and pd.isna(values)):
        return None
    return [float(v) for v in np.asarray(values, dtype=float).ravel()]


def _evaluation_columns(df: pd.DataFrame) -> dict[str, object]:
    """Column values in schema order; absent optional columns filled with their defaults."""
    n = len(df)
    cols: dict[str, object] = {}
    for field in EVALUATIONS_SCHEMA:
        name = field.name
        if name in df.columns:
            col = df[name]
            if pa.types.is_list(field.type):
                cols[name] = [_float_list(v) for v in col]
            elif name == "created_at":
                cols[name] = pd.to_datetime(col, utc=True)
            elif pa.types.is_string(field.type):
                cols[name] = [None if np.ndim(v) == 0 and pd.isna(v) else str(v) for v in col]
            else:
                cols[name] = col.to_numpy()
        elif name == "created_at":
            cols[name] = pd.Series([datetime.now(UTC)] * n)
        elif name == "params":
            cols[name] = ["{}"] * n
        elif name == "versions":
            cols[name] = [json.dumps(library_versions(), sort_keys=True)] * n
        else:
            cols[name] = [None] * n
    if "n_folds" not in df.columns:
        lengths = [None] * n
        for m in METRICS:
            if f"{m}_folds" in df.columns:
                lengths = [None if v is None else len(v) for v in cols[f"{m}_folds"]]
                break
        cols["n_folds"] = lengths
    return cols


def evaluations_to_arrow(df: pd.DataFrame) -> pa.Table:
    """Validate evaluation rows and cast them to :data:`EVALUATIONS_SCHEMA`.

    Optional columns may be absent (filled with nulls; ``created_at`` with now, ``params``
    with ``"{}"``, ``n_folds`` with the length of the first ``*_folds`` list present).
    The caller's frame is not modified.
    """
    _missing(df, _REQUIRED_EVALUATION, "evaluations")
    bad = sorted({str(v) for v in df["status"].unique()} - set(STATUSES))
    if bad:
        raise KnowledgeBaseError(
            f"Evaluation status must be one of {list(STATUSES)}; got {bad}. Fix the rows' status."
        )
    nulls = [c for c in _REQUIRED_EVALUATION if df[c].isna().any()]
    if nulls:
        raise KnowledgeBaseError(
            f"Evaluation columns {list(_REQUIRED_EVALUATION)} must have no missing values; "
            f"{nulls} do. Fill them before writing."
        )
    try:
        cols = _evaluation_columns(df)
        arrays = [pa.array(cols[f.name], type=f.type, from_pandas=True) for f in EVALUATIONS_SCHEMA]
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
        raise KnowledgeBaseError(
            f"Evaluation rows do not fit the KB schema v{SCHEMA_VERSION}: {exc}. "
            "Check the column types against metasel.kb.EVALUATIONS_SCHEMA."
        ) from exc
    return pa.Table.from_arrays(arrays, schema=EVALUATIONS_SCHEMA.with_metadata(table_metadata("evaluations")))


def datasets_to_arrow(df: pd.DataFrame) -> pa.Table:
    """Validate dataset rows: fixed columns first, then every other column as float64 meta-features."""
    _missing(df, _REQUIRED_DATASET, "datasets")
    if df["dataset_id"].duplicated().any():
        dup = df.loc[df["dataset_id"].duplicated(), "dataset_id"].tolist()[:5]
        raise KnowledgeBaseError(
            f"dataset_id must be unique within one write; got duplicates {dup}. De-duplicate first."
        )
    fixed_names = DATASET_FIXED_SCHEMA.names
    arrays, fields = [], []
    try:
        for field in DATASET_FIXED_SCHEMA:
            if field.name in df.columns:
                col = df[field.name]
                if pa.types.is_string(field.type):
                    values = [None if pd.isna(v) else str(v) for v in col]
                else:
                    values = pd.to_numeric(col, errors="raise").astype("Int64")
                arrays.append(pa.array(values, type=field.type, from_pandas=True))
            else:
                arrays.append(pa.nulls(len(df), type=field.type))
            fields.append(field)
        for name in df.columns:
            if name in fixed_names:
                continue
            values = pd.to_numeric(df[name], errors="raise").astype("float64")
            arrays.append(pa.array(values.to_numpy(), type=pa.float64(), from_pandas=True))
            fields.append(pa.field(str(name), pa.float64()))
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
        raise KnowledgeBaseError(
            f"Dataset rows do not fit the KB schema v{SCHEMA_VERSION}: {exc}. Fixed columns are "
            f"{fixed_names}; every other column must be a numeric meta-feature."
        ) from exc
    schema = pa.schema(fields, metadata=table_metadata("datasets"))
    return pa.Table.from_arrays(arrays, schema=schema)
