"""Import the Learning Curve Database (``lcdb`` package) into the KB schema.

LCDB (Mohr et al.) trained 20 scikit-learn learners at their default settings on ~250
OpenML datasets, at training sizes ("anchors") from 16 rows up, with 5 outer (train/test)
splits x up to 5 inner (train/validation) splits each. We read its CSVs directly (the
package's own import needs ``func_timeout`` and loads everything into memory):

* ``datasets.csv``: OpenML id, name and 64 OpenML data qualities -> the datasets table
  (qualities under their OpenML names, which are the names ``extract_metafeatures`` uses;
  group = ``metasel.data.group_key(name)``, so our own copies of a dataset share it).
  Only datasets with results are kept; results for ids missing from ``datasets.csv`` (51
  in lcdb 0.1.0) are kept too, under ``openml_<id>`` without meta-features;
* ``database-<metric>.csv``: one row per (dataset, learner, anchor, outer seed, inner seed)
  -> one evaluation per (dataset, learner, anchor): the *test-split* score averaged over inner
  seeds gives one value per outer seed; those per-outer-seed values are the ``*_folds`` lists
  (in LCDB rows a "fold" is an outer seed) and their mean is the metric.
  ``auc`` exists only for binary tasks (LCDB leaves multiclass AUC out), so ``roc_auc`` is
  NaN on multiclass datasets; LCDB has no balanced accuracy (NaN throughout).

Anchors kept: powers of two, the largest anchor of each (dataset, learner) and of each
dataset — the learning curve in about half the rows, so the stored KB stays compact.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from metasel.exceptions import KnowledgeBaseError, SourceNotFoundError
from metasel.kb._schema import EVALUATIONS_SCHEMA, METRICS, table_metadata
from metasel.kb._store import KBWriter, KnowledgeBase

logger = logging.getLogger(__name__)

ZOO_EQUIVALENTS: dict[str, str] = {
    "SVC_rbf": "rbf_svc",
    "sklearn.linear_model.LogisticRegression": "logistic_regression",
    "sklearn.ensemble.RandomForestClassifier": "random_forest",
    "sklearn.ensemble.ExtraTreesClassifier": "extra_trees",
    "sklearn.neighbors.KNeighborsClassifier": "knn",
    "sklearn.neural_network.MLPClassifier": "mlp",
    "sklearn.tree.DecisionTreeClassifier": "decision_tree",
}
"""LCDB learners that are the same estimator class, at the same defaults, as a zoo entry.

Not mapped: ``SVC_linear`` (``SVC(kernel="linear")``, whereas the zoo's ``linear_svm`` is
``LinearSVC``: another loss and solver) and ``GradientBoostingClassifier`` (not the zoo's
histogram booster). LCDB's preprocessing differs from the zoo's (no scaling), so the
mapped rows are close evidence about the zoo default, not a replay of it.
"""

LCDB_NAMES: dict[str, str] = {
    "SVC_linear": "lcdb_svc_linear",
    "SVC_poly": "lcdb_svc_poly",
    "SVC_sigmoid": "lcdb_svc_sigmoid",
    "sklearn.ensemble.GradientBoostingClassifier": "lcdb_gradient_boosting",
    "sklearn.linear_model.RidgeClassifier": "lcdb_ridge",
    "sklearn.linear_model.Perceptron": "lcdb_perceptron",
    "sklearn.linear_model.PassiveAggressiveClassifier": "lcdb_passive_aggressive",
    "sklearn.linear_model.SGDClassifier": "lcdb_sgd",
    "sklearn.naive_bayes.BernoulliNB": "lcdb_bernoulli_nb",
    "sklearn.naive_bayes.MultinomialNB": "lcdb_multinomial_nb",
    "sklearn.tree.ExtraTreeClassifier": "lcdb_extra_tree",
    "sklearn.discriminant_analysis.LinearDiscriminantAnalysis": "lcdb_lda",
    "sklearn.discriminant_analysis.QuadraticDiscriminantAnalysis": "lcdb_qda",
}
"""The other LCDB learners, kept under a ``lcdb_`` name (no zoo entry builds them)."""

METRIC_FILES = {"accuracy": "accuracy", "roc_auc": "auc", "log_loss": "logloss"}
"""Our metric -> LCDB file suffix (``database-<suffix>.csv``); accuracy is required."""

_KEYS = ["openmlid", "learner", "size_train"]
_DECIMALS = 6  # LCDB stores 4 decimals; means over inner seeds need no more than 6


def lcdb_folder() -> Path:
    """The installed ``lcdb`` package folder, found without importing the package."""
    spec = importlib.util.find_spec("lcdb")
    if spec is None or not spec.submodule_search_locations:
        raise SourceNotFoundError(
            "The LCDB import needs the 'lcdb' package, which is not installed. "
            "Install it with `pip install metasel[lcdb]` or pass the folder of its CSVs."
        )
    return Path(next(iter(spec.submodule_search_locations)))


def learner_name(lcdb_learner: str) -> str:
    """Our learner name for an LCDB learner (zoo name or ``lcdb_<short>``)."""
    if lcdb_learner in ZOO_EQUIVALENTS:
        return ZOO_EQUIVALENTS[lcdb_learner]
    if lcdb_learner in LCDB_NAMES:
        return LCDB_NAMES[lcdb_learner]
    short = lcdb_learner.rsplit(".", 1)[-1].removesuffix("Classifier").lower() or lcdb_learner
    return f"lcdb_{short}"


def _configuration(name: str) -> tuple[str, str]:
    """(params JSON, config_id) of the default configuration of learner ``name``."""
    from metasel.learners import config_id, default_config  # heavy: only when importing

    config = default_config(name) if name in ZOO_EQUIVALENTS.values() else {"learner": name, "params": {}}
    return json.dumps(config["params"], sort_keys=True), config_id(config)


def read_datasets(folder: Path) -> pd.DataFrame:
    """The datasets table from ``datasets.csv`` (OpenML qualities as meta-features)."""
    from metasel.data import group_key  # the same group keys as our own copies of the data

    path = folder / "datasets.csv"
    if not path.is_file():
        raise SourceNotFoundError(f"LCDB folder {folder} has no datasets.csv; pass the lcdb package folder.")
    raw = pd.read_csv(path)
    qualities = raw.drop(columns=["openmlid", "Name"]).astype("float64")
    n_classes = qualities["NumberOfClasses"].round().astype("Int64")
    fixed = pd.DataFrame({
        "dataset_id": "openml:" + raw["openmlid"].astype(str),
        "name": raw["Name"].astype(str),
        "source": "lcdb",
        "source_id": raw["openmlid"].astype(str),
        "group": raw["Name"].astype(str).map(group_key),
        "task": np.where(n_classes == 2, "binary", "multiclass"),
        "n_rows": qualities["NumberOfInstances"].round().astype("Int64"),
        "n_features": (qualities["NumberOfFeatures"] - 1).round().astype("Int64"),
        "n_classes": n_classes,
        "openml_id": raw["openmlid"].astype("Int64"),
    })
    return pd.concat([fixed, qualities], axis=1)


def read_metric(path: Path) -> pd.DataFrame:
    """One LCDB results CSV, only the columns we use, with compact dtypes."""
    columns = ["openmlid", "learner", "size_train", "outer_seed", "traintime", "score_test"]
    types = {"openmlid": pa.int32(), "learner": pa.dictionary(pa.int32(), pa.string()),
             "size_train": pa.int32(), "outer_seed": pa.int16(), "traintime": pa.float32(),
             "score_test": pa.float64()}
    table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(include_columns=columns, column_types=types))
    return table.to_pandas()


def kept_anchors(frame: pd.DataFrame) -> pd.Series:
    """Mask of rows at a kept anchor: a power of two, or the largest of its learner or dataset."""
    size = frame["size_train"].to_numpy()
    power_of_two = (size & (size - 1)) == 0
    largest_pair = size == frame.groupby(["openmlid", "learner"], observed=True)["size_train"].transform("max")
    largest_dataset = size == frame.groupby("openmlid")["size_train"].transform("max")
    return pd.Series(power_of_two | largest_pair.to_numpy() | largest_dataset.to_numpy(), index=frame.index)


def per_outer_seed(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Inner seeds averaged: one row per (dataset, learner, anchor, outer seed)."""
    out = frame.groupby([*_KEYS, "outer_seed"], observed=True, sort=True).agg(
        score=("score_test", "mean"), traintime=("traintime", "mean"))
    return out.rename(columns={"score": metric}).reset_index()


def fold_lists(seeds: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per (dataset, learner, anchor): the mean over outer seeds and the per-seed list (seed order)."""
    seeds = seeds.sort_values([*_KEYS, "outer_seed"], kind="stable")
    grouped = seeds.groupby(_KEYS, observed=True, sort=False)
    sizes = grouped.size().to_numpy()
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int32)
    lists = pa.ListArray.from_arrays(pa.array(offsets), pa.array(seeds[metric].to_numpy(dtype=float).round(_DECIMALS)))
    out = grouped.agg(**{metric: (metric, "mean")}).reset_index()
    out[metric] = out[metric].round(_DECIMALS)
    out[f"{metric}_folds"] = pd.Series(lists.to_pylist(), index=out.index, dtype=object)
    if metric == "accuracy":
        out["n_folds"] = sizes
        out["fit_time"] = grouped["traintime"].mean().to_numpy()
    return out


def _metric_table(path: Path, metric: str) -> pd.DataFrame:
    started = time.perf_counter()
    raw = read_metric(path)
    table = fold_lists(per_outer_seed(raw[kept_anchors(raw).to_numpy()], metric), metric)
    logger.info("read %s in %.1f s", path.name, time.perf_counter() - started)
    return table


def read_evaluations(folder: Path) -> pd.DataFrame:
    """LCDB results as one row per dataset, learner and kept anchor, a column pair per metric."""
    accuracy_path = folder / "database-accuracy.csv"
    if not accuracy_path.is_file():
        raise SourceNotFoundError(f"LCDB folder {folder} has no database-accuracy.csv; pass the lcdb package folder.")
    merged = _metric_table(accuracy_path, "accuracy")
    for metric, suffix in METRIC_FILES.items():
        path = folder / f"database-{suffix}.csv"
        if metric == "accuracy":
            continue
        if not path.is_file():
            logger.warning("LCDB file %s is absent: %s stays NaN", path, metric)
            continue
        merged = merged.merge(_metric_table(path, metric), on=_KEYS, how="left")
    return merged


def to_kb_rows(merged: pd.DataFrame, datasets: pd.DataFrame, lcdb_version: str) -> pd.DataFrame:
    """Shape merged LCDB metrics into the evaluations schema."""
    names = merged["learner"].astype(str).map(learner_name)
    configs = {n: _configuration(n) for n in names.unique()}
    dataset_id = "openml:" + merged["openmlid"].astype(str)
    groups = datasets.set_index("dataset_id")["group"]
    rows = pd.DataFrame({
        "dataset_id": dataset_id,
        "group": dataset_id.map(groups).fillna(dataset_id.str.replace("openml:", "openml", regex=False)),
        "learner": names,
        "config_id": names.map(lambda n: configs[n][1]),
        "params": names.map(lambda n: configs[n][0]),
        "origin": "lcdb",
        "train_size": merged["size_train"].astype("int64"),
        "n_folds": merged["n_folds"].astype("int64"),
        "fit_time": merged["fit_time"].astype("float64"),
        "predict_time": np.nan,
        "status": "ok",
        "error": None,
        "seed": pd.array([None] * len(merged), dtype="Int64"),
        "versions": json.dumps({"lcdb": lcdb_version}),
        "created_at": datetime.now(UTC),
    })
    for metric in METRICS:
        if metric in merged.columns:
            rows[metric] = merged[metric].astype("float64").to_numpy()
            rows[f"{metric}_folds"] = merged[f"{metric}_folds"].to_numpy()
        else:
            rows[metric] = np.nan
            rows[f"{metric}_folds"] = None
    return rows


def _arrow_rows(rows: pd.DataFrame) -> pa.Table:
    """Evaluation rows as an arrow table, lists converted column-wise (fast for ~10^5 rows)."""
    arrays = []
    for field in EVALUATIONS_SCHEMA:
        col = rows[field.name]
        if pa.types.is_list(field.type):
            values = [None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in col]
            arrays.append(pa.array(values, type=field.type))
        else:
            arrays.append(pa.array(col, type=field.type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=EVALUATIONS_SCHEMA.with_metadata(table_metadata("evaluations")))


def import_lcdb(out: str | Path, *, source: str | Path | None = None) -> KnowledgeBase:
    """Import LCDB into the KB folder ``out`` (compacted: one file per table); returns it.

    ``source`` is a folder holding LCDB's CSVs (default: the installed ``lcdb`` package).
    Re-running replaces nothing and duplicates nothing: rows are keyed like any evaluation.
    """
    folder = Path(source) if source is not None else lcdb_folder()
    try:
        version = metadata.version("lcdb")
    except metadata.PackageNotFoundError:
        version = "unknown"
    started = time.perf_counter()
    datasets = read_datasets(folder)
    merged = read_evaluations(folder)
    evaluated = set(merged["openmlid"].astype(int))
    datasets = datasets[datasets["openml_id"].isin(evaluated).to_numpy()].reset_index(drop=True)
    unknown = sorted(evaluated - set(datasets["openml_id"].astype(int)))
    if unknown:
        logger.info("%d LCDB datasets have no qualities in datasets.csv: kept without meta-features",
                    len(unknown))
        extra = pd.DataFrame({
            "dataset_id": [f"openml:{i}" for i in unknown], "name": [f"openml_{i}" for i in unknown],
            "source": "lcdb", "source_id": [str(i) for i in unknown],
            "group": [f"openml{i}" for i in unknown], "openml_id": unknown,
        })
        datasets = pd.concat([datasets, extra], ignore_index=True)
    rows = to_kb_rows(merged, datasets, version)
    if rows.empty:
        raise KnowledgeBaseError(f"LCDB folder {folder} holds no results; nothing was imported.")
    writer = KBWriter(out, notes={"lcdb": {
        "lcdb_version": version, "source": str(folder),
        "folds": "outer seeds (test-split score averaged over inner seeds)",
        "anchors": "powers of two plus the largest per dataset and per learner",
    }})
    writer.write_datasets(datasets)
    writer.write_evaluations(_arrow_rows(rows), partition=False)
    writer.compact()
    logger.info("LCDB import: %d evaluations in %.1f s", len(rows), time.perf_counter() - started)
    return KnowledgeBase.open(out)
