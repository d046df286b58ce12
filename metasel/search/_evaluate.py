"""Scoring one configuration: resampling plan, out-of-fold probabilities, fold deadlines.

Every score here is *greater is better* (log loss is negated), so one Optuna direction and
one ensemble criterion serve all metrics. Out-of-fold probabilities are kept because the
ensemble selection works on them, and the fitted fold models because they are the
fallback model when there is no time left to refit on all rows.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.metrics import accuracy_score, balanced_accuracy_score, log_loss
from sklearn.model_selection import KFold, StratifiedKFold, StratifiedShuffleSplit

from metasel._auc import one_vs_rest_auc
from metasel.exceptions import MetaselError
from metasel.learners import grew_too_little, grow_until
from metasel.search._budget import BudgetExceeded, Deadline, run_in_threads, run_with_timeout

METRICS = ("roc_auc", "balanced_accuracy", "accuracy", "log_loss")
#: the "auto" plan: 3 folds (under a time budget, twice the trials of 5 folds are worth
#: more than the lower variance), and a single holdout once the validation part is large
AUTO_FOLDS = 3
AUTO_HOLDOUT_ROWS = 10_000
HOLDOUT_SHARE = 0.2
#: share of a batch's time (to the trial's cut) that anytime ensembles may grow in; the
#: rest is for predicting the held-out rows
GROW_SHARE = 0.8

Split = tuple[np.ndarray, np.ndarray]
FoldHook = Callable[[int, float], None]


def score_proba(metric: str, y: np.ndarray, proba: np.ndarray) -> float:
    """``metric`` of class-probability matrix ``proba`` against integer labels ``y``.

    Greater is better; NaN when the metric is undefined on these rows (one class only).
    """
    n_classes = proba.shape[1]
    try:
        if metric == "roc_auc":
            present = np.unique(y)
            if present.size < 2:
                return math.nan
            if n_classes == 2:
                return float(one_vs_rest_auc(y, proba)[1])
            # scikit-learn's one-vs-rest macro AUC over the classes present in these rows
            sub = proba[:, present]
            sub = sub / np.clip(sub.sum(axis=1, keepdims=True), 1e-12, None)
            aucs = one_vs_rest_auc(np.searchsorted(present, y), sub)
            return float(aucs[1] if present.size == 2 else np.mean(aucs))
        if metric == "balanced_accuracy":
            return float(balanced_accuracy_score(y, proba.argmax(axis=1)))
        if metric == "accuracy":
            return float(accuracy_score(y, proba.argmax(axis=1)))
        if metric == "log_loss":
            return -float(log_loss(y, proba, labels=np.arange(n_classes)))
    except ValueError:
        return math.nan
    raise MetaselError(f"The metric must be one of {METRICS}; got {metric!r}.")


def make_splits(y: np.ndarray, cv: Any, random_state: int | None) -> list[Split]:
    """The resampling plan: ``cv`` folds, or ``"auto"`` (3 folds; a 20 % holdout from 10,000
    rows).

    Folds and holdout are stratified, also when a class is smaller than the fold count: its
    rows then go to as many folds as it has, so a class of two or more rows is in every
    training part. Lowering the fold count to the smallest class instead (or giving up
    stratification for a class of one row, as this did before) costs every class training
    rows, or loses whole classes from some training parts, for a class that is scored on
    few rows anyway. A row whose class its fold's training part lacks is not scored
    (:func:`evaluate`).
    """
    n = len(y)
    if not isinstance(cv, str) and hasattr(cv, "split"):
        return [(np.asarray(a), np.asarray(b)) for a, b in cv.split(np.zeros((n, 1)), y)]
    counts = np.bincount(y) if n else np.zeros(1, dtype=int)
    if cv == "auto":
        if n >= AUTO_HOLDOUT_ROWS:
            return [_stratified_holdout(y, counts, random_state)]
        cv = AUTO_FOLDS
    n_splits = int(cv)
    if counts.max() >= n_splits:
        splitter = StratifiedKFold(n_splits, shuffle=True, random_state=random_state)
    else:
        splitter = KFold(min(n_splits, n), shuffle=True, random_state=random_state)
    with warnings.catch_warnings():  # "the least populated class has only k members"
        warnings.simplefilter("ignore", UserWarning)
        return list(splitter.split(np.zeros((n, 1)), y))


def _stratified_holdout(y: np.ndarray, counts: np.ndarray, random_state: int | None) -> Split:
    """A stratified holdout; the rows of classes with a single row are trained on (a split
    of them would be refused, and a single held-out row cannot be scored)."""
    rows = np.arange(len(y))
    single = counts[y] < 2
    holdout = StratifiedShuffleSplit(1, test_size=HOLDOUT_SHARE, random_state=random_state)
    (train, test), = holdout.split(np.zeros((int((~single).sum()), 1)), y[~single])
    return np.concatenate([rows[~single][train], rows[single]]), rows[~single][test]


@dataclass
class Evaluation:
    """What one configuration scored under the resampling plan."""

    score: float
    fold_scores: list[float]
    oof: np.ndarray
    fit_time: float
    duration: float
    models: list[BaseEstimator] = field(default_factory=list, repr=False)

    @property
    def covered(self) -> np.ndarray:
        """Rows that received an out-of-fold prediction."""
        return ~np.isnan(self.oof[:, 0])


def full_proba(model: BaseEstimator, X: pd.DataFrame, n_classes: int) -> np.ndarray:
    """``predict_proba`` with one column per class, also for classes unseen in training."""
    proba = np.asarray(model.predict_proba(X), dtype=float)
    classes = np.asarray(model.classes_, dtype=int)
    if classes.size == n_classes and np.array_equal(classes, np.arange(n_classes)):
        return proba
    out = np.zeros((len(X), n_classes))
    out[:, classes] = proba
    return out


def evaluate(
    make_model: Callable[[], BaseEstimator],
    X: pd.DataFrame,
    y: np.ndarray,
    splits: Sequence[Split],
    metric: str,
    deadline: Deadline,
    *,
    n_classes: int,
    on_fold: FoldHook | None = None,
    n_jobs: int = 1,
    keep_models: bool = True,
    soft_deadline: Deadline | None = None,
    expected_time: float | None = None,
    partial: bool = False,
) -> Evaluation:
    """Fit and score ``make_model()`` fold by fold within ``deadline``.

    Up to ``n_jobs`` folds run at once (threads: the learners release the GIL). After each
    batch ``on_fold(step, running_score)`` may raise to prune the trial. Time is judged on
    the whole trial, since a trial stopped between folds loses the folds it finished: it
    does not start when ``expected_time`` would pass ``soft_deadline`` (or ``deadline``);
    once started, it goes on while the batches left (with ``partial``: the next one) fit
    before ``deadline`` at this trial's own pace, and a batch that runs past ``deadline`` is
    cut. Anytime ensembles (see :mod:`metasel.learners._anytime`) stop growing before
    ``deadline``, at an equal share of the time left per batch (with ``partial``: at the
    whole of it), so a configuration that would have been cut ends with fewer trees instead
    (a batch below a quarter of its trees counts as cut), and one that fits is not changed.
    Both raise :class:`~metasel.search._budget.BudgetExceeded`, unless ``partial`` and some
    folds are done: the trial is then scored on those (a holdout estimate, noisier but
    unbiased) rather than thrown away with the time they took.
    A row whose class is missing from its fold's training part is not scored: its
    out-of-fold row stays NaN, as for a fold that did not run.
    """
    started = time.monotonic()
    wall_times: list[float] = []
    oof = np.full((len(y), n_classes), np.nan)
    fold_scores: list[float] = []
    fit_times: list[float] = []
    models: list[BaseEstimator] = []
    batch = max(1, int(n_jobs))
    for first in range(0, len(splits), batch):
        if wall_times:  # with ``partial`` the folds done are kept: the next batch must fit
            left = 1 if partial else math.ceil((len(splits) - first) / batch)
            expected, limit = float(np.mean(wall_times)) * left, deadline
        else:
            expected, limit = expected_time or 0.0, soft_deadline or deadline
        try:
            deadline.check("cross-validation")
            if expected > limit.remaining():
                raise BudgetExceeded(f"cross-validation: the {len(splits) - first} folds left "
                                     f"are expected to take {expected:.1f} s, more than the "
                                     "time left")
            chunk = splits[first:first + batch]
            tic = time.monotonic()
            # a batch's anytime ensembles grow for an equal share of the time left per batch
            # still to run; under ``partial`` for all of it (the trial is then scored on the
            # folds it finished, as when a full-size fold ended late)
            shares = 1 if partial else math.ceil((len(splits) - first) / batch)
            stop_at = tic + GROW_SHARE * max(0.0, deadline.remaining()) / shares
            results = _run_folds(make_model, X, y, chunk, n_classes, deadline, stop_at)
            if any(grew_too_little(model) for model, _, _ in results):
                raise BudgetExceeded("cross-validation: a fold stopped for time before it "
                                     "grew enough trees, rounds or epochs to be scored",
                                     cut=True)
        except BudgetExceeded:
            if partial and fold_scores:
                break
            raise
        wall_times.append(time.monotonic() - tic)
        for (train, test), (model, proba, fit_time) in zip(chunk, results, strict=True):
            # a row of a class missing from the training part gets probability 0 from every
            # model: it says nothing about the model, and in the pooled out-of-fold AUC it
            # ranks models by how much probability they spread over the other rows
            seen = np.isin(y[test], y[train])
            oof[test[seen]] = proba[seen]
            fold_scores.append(score_proba(metric, y[test][seen], proba[seen]))
            fit_times.append(fit_time)
            if keep_models:
                models.append(model)
        if on_fold is not None:
            on_fold(first + len(chunk) - 1, _nanmean(fold_scores))
    covered = ~np.isnan(oof[:, 0])
    score = score_proba(metric, y[covered], oof[covered])
    if math.isnan(score):
        score = _nanmean(fold_scores)
    return Evaluation(score, fold_scores, oof, float(np.mean(fit_times)),
                      time.monotonic() - started, models)


def _run_folds(make_model, X, y, chunk, n_classes, deadline, stop_at):
    def fit_fold(train: np.ndarray, test: np.ndarray):
        model = make_model()
        tic = time.monotonic()
        with grow_until(stop_at):
            model.fit(X.iloc[train], y[train])
        fit_time = time.monotonic() - tic
        return model, full_proba(model, X.iloc[test], n_classes), fit_time

    if len(chunk) == 1:
        train, test = chunk[0]
        return [run_with_timeout(lambda: fit_fold(train, test), deadline.remaining(), "fold")]
    return run_with_timeout(
        lambda: run_in_threads([lambda t=t, s=s: fit_fold(t, s) for t, s in chunk]),
        deadline.remaining(), "folds",
    )


def _nanmean(values: Sequence[float]) -> float:
    arr = np.asarray(values, dtype=float)
    return float(np.nanmean(arr)) if np.isfinite(arr).any() else math.nan
