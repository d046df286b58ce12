"""Evaluate one configuration on one dataset: fixed CV splits, several metrics, timings.

Everything an evaluation depends on is in an :class:`EvaluationTask` plus the dataset, so
the same task gives the same record in the build loop, in a sandboxed child process and on
a Dask worker. :func:`evaluate` never raises for a learner's fault: a crash becomes a
``failed`` record carrying the error text (time limits are enforced one level up, by
:mod:`metasel.kb._sandbox`).
"""

from __future__ import annotations

import json
import math
import time
import traceback
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, balanced_accuracy_score, log_loss
from sklearn.model_selection import StratifiedKFold

from metasel._auc import one_vs_rest_auc
from metasel.data import Dataset
from metasel.data._dataset import stratified_indices
from metasel.kb._schema import EVALUATIONS_SCHEMA, METRICS, library_versions
from metasel.learners import canonical_json, config_id, get_learner

DEFAULT_FOLDS = 3
DEFAULT_MAX_ROWS = 5000


@dataclass(frozen=True)
class EvaluationTask:
    """One evaluation to run: which configuration, on which dataset, at which training size.

    ``train_size=None`` trains on each whole training fold; an integer trains on a
    stratified subset of that many rows of every training fold (a learning-curve point),
    always scored on the same full test folds.
    """

    dataset_id: str
    group: str
    learner: str
    params: dict[str, Any] = field(default_factory=dict)
    origin: str = "default"
    seed: int = 0
    n_folds: int = DEFAULT_FOLDS
    train_size: int | None = None

    @property
    def config_id(self) -> str:
        return config_id({"learner": self.learner, "params": self.params})


@lru_cache(maxsize=1)
def versions_json() -> str:
    """Library versions as the JSON stored with every evaluation (computed once per process)."""
    return json.dumps(library_versions(), sort_keys=True)


def prepare_dataset(dataset: Dataset, max_rows: int | None, seed: int) -> Dataset:
    """The table the KB evaluates: a seeded stratified subsample of at most ``max_rows`` rows."""
    if max_rows is None or dataset.shape[0] <= max_rows:
        return dataset
    return dataset.subsample(max_rows, random_state=seed)


def dataset_fingerprint(dataset_id: str, dataset: Dataset) -> str:
    """An id of the exact table (rows, values, labels): the sandbox's dataset cache key.

    The id alone is not enough: the same dataset may be subsampled differently by two
    builds that share a worker process.
    """
    values = pd.util.hash_pandas_object(dataset.X, index=False).to_numpy()
    labels = pd.util.hash_pandas_object(dataset.y, index=False).to_numpy()
    digest = int((values * 31 + labels).sum() % (1 << 61)) if len(values) else 0
    return f"{dataset_id}|{dataset.shape[0]}x{dataset.shape[1]}|{digest:x}"


def fold_ids(y: pd.Series, n_folds: int, seed: int) -> np.ndarray:
    """Test-fold number of every row: seeded stratified K-fold, shared by all learners.

    Classes smaller than ``n_folds`` are spread over as many folds as they have rows
    (scikit-learn warns; the evaluation handles folds missing a class).
    """
    codes = y.cat.codes.to_numpy() if isinstance(y.dtype, pd.CategoricalDtype) else np.asarray(y)
    folds = np.empty(len(codes), dtype=np.int64)
    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for k, (_, test) in enumerate(splitter.split(np.zeros(len(codes)), codes)):
            folds[test] = k
    return folds


def full_train_size(n_rows: int, n_folds: int) -> int:
    """The ``train_size`` recorded for whole training folds: rows minus the largest test fold."""
    return n_rows - math.ceil(n_rows / n_folds)


def record_key(task: EvaluationTask, n_rows: int) -> tuple[str, str, str, int]:
    """The KB key ``(dataset_id, learner, config_id, train_size)`` the task will produce."""
    size = task.train_size if task.train_size is not None else full_train_size(n_rows, task.n_folds)
    return (task.dataset_id, task.learner, task.config_id, int(size))


def _full_proba(proba: np.ndarray, model_classes: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities over all dataset classes (a fold may lack a class in training)."""
    if proba.shape[1] == n_classes:
        return proba
    full = np.zeros((proba.shape[0], n_classes))
    full[:, np.asarray(model_classes, dtype=int)] = proba
    return full


def _roc_auc(y_true: np.ndarray, proba: np.ndarray) -> float:
    """ROC AUC, one-vs-rest macro over the classes that have positives and negatives."""
    aucs = one_vs_rest_auc(y_true, proba)
    if proba.shape[1] == 2:
        return float(aucs[1])
    return float(np.nanmean(aucs)) if np.isfinite(aucs).any() else np.nan


def fold_scores(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Every KB metric for one test fold (``y_true`` as class codes)."""
    n_classes = proba.shape[1]
    y_pred = proba.argmax(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "roc_auc": _roc_auc(y_true, proba),
            "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
            "accuracy": float(accuracy_score(y_true, y_pred)),
            "log_loss": float(log_loss(y_true, np.clip(proba, 1e-15, 1.0), labels=range(n_classes))),
        }


def _train_rows(train: np.ndarray, codes: np.ndarray, size: int | None, rng: np.random.Generator) -> np.ndarray:
    if size is None or size >= len(train):
        return train
    return train[stratified_indices(codes[train], size, rng)]


def _run_folds(dataset: Dataset, task: EvaluationTask, folds: np.ndarray) -> dict[str, Any]:
    learner = get_learner(task.learner)
    codes = dataset.y.cat.codes.to_numpy()
    n_classes = dataset.n_classes
    scores: dict[str, list[float]] = {m: [] for m in METRICS}
    fit_times, predict_times = [], []
    rng = np.random.default_rng(task.seed)
    for k in range(task.n_folds):
        train = _train_rows(np.flatnonzero(folds != k), codes, task.train_size, rng)
        test = np.flatnonzero(folds == k)
        pipeline = learner.build(task.params, random_state=task.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            pipeline.fit(dataset.X.iloc[train], codes[train])
            fit_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            proba = pipeline.predict_proba(dataset.X.iloc[test])
            predict_times.append(time.perf_counter() - start)
        proba = _full_proba(np.asarray(proba, dtype=float), pipeline.classes_, n_classes)
        if not np.all(np.isfinite(proba)):
            raise FloatingPointError(f"{task.learner} predicted non-finite probabilities")
        for metric, value in fold_scores(codes[test], proba).items():
            scores[metric].append(value)
    out: dict[str, Any] = {}
    for metric, values in scores.items():
        out[metric] = float(np.mean(values)) if not np.all(np.isnan(values)) else np.nan
        out[f"{metric}_folds"] = values
    out["fit_time"] = float(np.mean(fit_times))
    out["predict_time"] = float(np.mean(predict_times))
    return out


def base_record(task: EvaluationTask, n_rows: int) -> dict[str, Any]:
    """The record of ``task`` with every column of the evaluations table, before scoring."""
    dataset_id, learner, cid, size = record_key(task, n_rows)
    record: dict[str, Any] = {
        "dataset_id": dataset_id, "group": task.group, "learner": learner, "config_id": cid,
        "params": canonical_json(task.params), "origin": task.origin, "train_size": size,
        "n_folds": task.n_folds,
    }
    for metric in METRICS:
        record[metric] = np.nan
        record[f"{metric}_folds"] = None
    record.update(fit_time=np.nan, predict_time=np.nan, status="ok", error=None,
                  seed=task.seed, versions=versions_json(), created_at=datetime.now(UTC))
    return {name: record[name] for name in EVALUATIONS_SCHEMA.names}


def failed_record(task: EvaluationTask, n_rows: int, status: str, error: str) -> dict[str, Any]:
    """A ``failed``/``timeout`` record: scores NaN, the reason in ``error``."""
    record = base_record(task, n_rows)
    record.update(status=status, error=error[-2000:])
    return record


def evaluate(dataset: Dataset, task: EvaluationTask, folds: np.ndarray | None = None) -> dict[str, Any]:
    """Cross-validate ``task`` on ``dataset`` (already prepared); one evaluations-table record.

    ``folds`` (from :func:`fold_ids`) defaults to the task's seeded splits. Any exception
    raised by the learner gives ``status="failed"`` with the error's last traceback lines.
    """
    n_rows = dataset.shape[0]
    if folds is None:
        folds = fold_ids(dataset.y, task.n_folds, task.seed)
    try:
        scored = _run_folds(dataset, task, folds)
    except Exception as error:  # noqa: BLE001 - a learner's failure is data, not a crash
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        return failed_record(task, n_rows, "failed", detail)
    record = base_record(task, n_rows)
    record.update(scored)
    record["created_at"] = datetime.now(UTC)
    return record
