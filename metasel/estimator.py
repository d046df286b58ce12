"""``MetaSelClassifier``: a scikit-learn classifier that picks and tunes its own model.

``fit`` only orchestrates: validate and encode the input, ask the meta-model for a plan,
then hand everything to :func:`metasel.search.search` under one deadline.

Time keeping: ``fit`` returns within ``time_budget + FIT_MARGIN_S + FIT_MARGIN_SHARE *
time_budget`` seconds. Everything (cleaning, meta-features, probes, trials, refit) counts
against the budget; the margin covers the final bookkeeping and thread hand-offs. A learner
that overruns is abandoned in a daemon thread and stopped at its next Python instruction;
one stuck in a single long C call keeps a CPU busy until that call returns.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import numbers
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d
from threadpoolctl import threadpool_limits

from metasel.data import from_frame
from metasel.exceptions import DataError, KnowledgeBaseError, MetaselError
from metasel.learners import LEARNERS
from metasel.search import (
    METRICS,
    Deadline,
    SearchSettings,
    cold_plan,
    run_with_timeout,
    search,
    warm_plan,
)
from metasel.search._evaluate import full_proba
from metasel.search._schema import TableSchema

logger = logging.getLogger(__name__)

FIT_MARGIN_S, FIT_MARGIN_SHARE = 1.0, 0.05
#: the meta-model may use at most this share of the budget, else the search starts cold
RECOMMEND_SHARE = 0.2
MAX_DENSE_CELLS = 50_000_000
#: the prior used for metrics without a shipped meta-model of their own
CLOSEST_SHIPPED_METRIC = {"balanced_accuracy": "accuracy", "log_loss": "roc_auc"}


class MetaSelClassifier(ClassifierMixin, BaseEstimator):
    """Meta-learned model selection and warm-started tuning within a time budget.

    Parameters
    ----------
    time_budget : float, seconds for the whole ``fit`` (see the module note on the margin).
    n_trials : int or None, an optional cap on the number of search trials that run (a
        proposal not started for want of time is in ``leaderboard_`` but not counted).
    metric : "roc_auc", "balanced_accuracy", "accuracy" or "log_loss" (scored negated).
    cv : "auto" (3 folds, a 20 % holdout from 10,000 rows; a trial that runs out of time
        after some folds is scored on those, ``leaderboard_["n_folds"]``), an int, or a
        scikit-learn splitter (always used in full).
    n_jobs : folds evaluated at once (each model uses one thread).
    random_state : int or None.
    meta_model : None (the shipped one), a path to a saved meta-model, a ``MetaModel``, or
        any object with ``recommend(dataset, *, metric, top)`` returning recommendations.
    warm_start : bool; False searches the whole zoo from cold (plain TPE, no probes).
    ensemble_size : int; greedy ensemble selection rounds (0 or 1: single best model).
    storage : optional Optuna storage URL (e.g. ``sqlite:///search.db``). The study is named
        after a digest of the cleaned data, the metric and ``warm_start``, so fitting the same
        data again continues the same study (its earlier trials inform TPE; warm starts are
        not re-run); inspect it with Optuna's own tools (``optuna-dashboard``).
    remember : bool or path; append this fit's evaluations to a local KB (True: ``cache/kb``
        under the working directory). Meta-features are then extracted after the search,
        outside the budget.
    verbose : int; 1 logs progress, 2 also lets Optuna log every trial.
    callback : optional callable receiving a progress dict after every trial; returning
        True stops the search there (e.g. once a target score is reached).

    Attributes
    ----------
    best_estimator_, best_params_, best_score_, recommendations_, study_, classes_,
    n_features_in_, feature_names_in_ (only when fitted on named columns).
    leaderboard_ : DataFrame, every probe and trial in the order they ran (score, scored
        on ``train_size`` rows or ``n_folds`` folds, time, source, status); ``in_final_model``
        marks the trials that the final model (refit or ensemble) is made of. ``status``:
        ``"ok"``, ``"pruned"``, ``"failed"`` (the learner raised), ``"timeout"`` (cut, or
        stopped between folds, for lack of time) or ``"skipped"`` (proposed but never
        started: no time left for it, or its learner banned after failures).
    final_model_kind_ : str; what the final model is: ``"refit"`` (the best configuration
        refitted on all rows), ``"ensemble"`` (the selected trials refitted and weighted),
        ``"fold-ensemble"`` (the selected trials' cross-validation fold models, when their
        refit did not fit the budget), ``"fold-models"`` (the best trial's fold models),
        ``"probe"`` or ``"prior"`` (no search trial finished in time).
    ensemble_ : list of dicts (learner, params, weight): the trials the final model is
        made of.
    """

    def __init__(self, time_budget: float = 60.0, *, n_trials: int | None = None,
                 metric: str = "roc_auc", cv: Any = "auto", n_jobs: int = 1,
                 random_state: int | None = None, meta_model: Any = None,
                 warm_start: bool = True, ensemble_size: int = 10, storage: str | None = None,
                 remember: bool = False, verbose: int = 0,
                 callback: Callable[[dict[str, Any]], bool | None] | None = None) -> None:
        self.time_budget = time_budget
        self.n_trials = n_trials
        self.metric = metric
        self.cv = cv
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.meta_model = meta_model
        self.warm_start = warm_start
        self.ensemble_size = ensemble_size
        self.storage = storage
        self.remember = remember
        self.verbose = verbose
        self.callback = callback

    # ----------------------------------------------------------------------------- fit
    def fit(self, X, y) -> MetaSelClassifier:  # noqa: N803 - scikit-learn naming
        """Select, tune and fit a model on ``(X, y)`` within ``time_budget`` seconds."""
        deadline = Deadline(float(self._checked_budget()))
        self._validate_params()
        frame, named = _as_frame(X)
        labels = _as_labels(y, len(frame))
        self.classes_, codes = np.unique(labels, return_inverse=True)
        self.n_features_in_ = frame.shape[1]
        if named:
            self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        dataset = from_frame(frame, codes, name="MetaSelClassifier input")
        self._schema = TableSchema.from_training(frame.columns, dataset.X, named=named)
        # one BLAS/OpenMP thread per model: parallelism is n_jobs folds. Measured: an MLP fold
        # on ionosphere took 0.6-4.4 s on two OpenBLAS threads beside a busy core, 0.12 s on one
        with _quiet_optuna(self.verbose), threadpool_limits(limits=1):
            self.recommendations_, plan = self._plan(dataset, deadline)
            outcome = search(dataset.X, codes, plan, self._settings(dataset), deadline)
        self.best_estimator_ = outcome.model
        self.final_model_kind_ = outcome.kind
        self.best_params_ = outcome.best_config
        self.best_score_ = outcome.best_score
        self.ensemble_ = outcome.ensemble
        self.leaderboard_ = outcome.leaderboard
        self.study_ = outcome.study
        self.fit_time_ = deadline.elapsed()
        if self.remember:
            from metasel.search._remember import DEFAULT_LOCAL_KB, remember_fit

            path = DEFAULT_LOCAL_KB if self.remember is True else Path(self.remember)
            self.remembered_ = remember_fit(
                path, dataset, f"user:{_digest(dataset, self.metric)}", outcome.records,
                metric=self.metric, n_folds=outcome.n_folds, train_size=outcome.train_size,
                seed=self.random_state)
        return self

    def _checked_budget(self) -> float:
        budget = self.time_budget
        if not isinstance(budget, numbers.Real) or isinstance(budget, bool) or not (
                math.isfinite(budget) and budget > 0):
            raise ValueError(f"The 'time_budget' parameter of MetaSelClassifier must be a "
                             f"positive number of seconds. Got {budget!r} instead.")
        return float(budget)

    def _validate_params(self) -> None:
        rules = [
            ("metric", self.metric in METRICS, f"one of {list(METRICS)}"),
            ("n_trials", self.n_trials is None or (_is_int(self.n_trials) and self.n_trials >= 1),
             "None or an int >= 1"),
            ("n_jobs", _is_int(self.n_jobs) and self.n_jobs >= 1, "an int >= 1"),
            ("ensemble_size", _is_int(self.ensemble_size) and self.ensemble_size >= 0,
             "an int >= 0"),
            ("remember", isinstance(self.remember, bool | str | Path),
             "a bool or the path of a local KB folder"),
            ("cv", self.cv == "auto" if isinstance(self.cv, str) else
             (_is_int(self.cv) and self.cv >= 2) or hasattr(self.cv, "split"),
             "'auto', an int >= 2 or a splitter"),
        ]
        for name, ok, rule in rules:
            if not ok:
                raise ValueError(f"The {name!r} parameter of MetaSelClassifier must be {rule}. "
                                 f"Got {getattr(self, name)!r} instead.")

    def _plan(self, dataset, deadline: Deadline):
        n_rows = len(dataset.y)
        if not self.warm_start:
            return [], cold_plan(n_rows)
        recommender = _recommender(self.meta_model, self.metric)
        try:
            recs = recommender(dataset, RECOMMEND_SHARE * deadline.remaining())
        except MetaselError:
            raise
        except Exception as error:  # noqa: BLE001 - the search can still start cold
            logger.warning("The meta-model gave no recommendation (%s); searching from cold.",
                           error)
            return [], cold_plan(n_rows)
        plan = warm_plan(recs, n_rows)
        return list(recs), plan if plan.learners else cold_plan(n_rows)

    def _settings(self, dataset) -> SearchSettings:
        return SearchSettings(
            metric=self.metric, cv=self.cv, n_trials=self.n_trials, n_jobs=self.n_jobs,
            random_state=self.random_state, ensemble_size=self.ensemble_size,
            storage=self.storage, study_name=_study_name(dataset, self.metric, self.warm_start)
            if self.storage else None, probes=bool(self.warm_start), progress=self._progress,
        )

    def _progress(self, event: dict[str, Any]) -> bool:
        if self.verbose:
            logger.info("trial %(n_trials)d: best %(best_learner)s %(best_score).4f, "
                        "%(remaining).1f s left", event)
        return self.callback is not None and self.callback(event) is True

    # ------------------------------------------------------------------------- predict
    def predict_proba(self, X) -> np.ndarray:  # noqa: N803
        """Class probabilities, columns in the order of ``classes_``."""
        check_is_fitted(self, "best_estimator_")
        frame = self._aligned(X)
        return full_proba(self.best_estimator_, frame, len(self.classes_))

    def predict(self, X) -> np.ndarray:  # noqa: N803
        """The most probable class label for each row."""
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    def _aligned(self, X) -> pd.DataFrame:
        frame, named = _as_frame(X)
        schema = self._schema
        if named and schema.named:
            return schema.align(frame, type(self).__name__)
        if frame.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {frame.shape[1]} features, but {type(self).__name__} is "
                             f"expecting {self.n_features_in_} features as input.")
        if schema.named:
            warnings.warn(f"X does not have valid feature names, but {type(self).__name__} "
                          "was fitted with feature names; columns are taken by position.",
                          UserWarning, stacklevel=3)
        frame.columns = list(schema.input_columns)
        return schema.align(frame, type(self).__name__)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.input_tags.sparse = True
        tags.non_deterministic = False
        return tags


# ------------------------------------------------------------------------------- helpers
def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _as_frame(X) -> tuple[pd.DataFrame, bool]:
    """Any 2-D input as a DataFrame with string column names; whether names were given."""
    if isinstance(X, pd.DataFrame):
        named = all(isinstance(c, str) for c in X.columns)
        frame = X.copy(deep=False)
        frame.columns = [str(c) for c in X.columns]
        return frame, named
    if sp.issparse(X):
        if X.shape[0] * X.shape[1] > MAX_DENSE_CELLS:
            raise DataError(f"Sparse input is densified and must have at most "
                            f"{MAX_DENSE_CELLS:,} cells; got shape {X.shape}. Select columns "
                            "or rows first.")
        X = X.toarray()
    array = np.asarray(X)
    if np.iscomplexobj(array):
        raise ValueError("Complex data not supported; pass real numbers.")
    if array.ndim != 2:
        raise ValueError(f"Expected 2D array, got {array.ndim}D array instead. Reshape your "
                         "data with array.reshape(-1, 1) for a single feature or "
                         "array.reshape(1, -1) for a single sample.")
    for axis, what in ((0, "sample"), (1, "feature")):
        if array.shape[axis] == 0:
            raise ValueError(f"Found array with 0 {what}(s) (shape={array.shape}) while a "
                             f"minimum of 1 is required.")
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])]), False


def _as_labels(y, n_rows: int) -> np.ndarray:
    if y is None:
        raise ValueError("MetaSelClassifier requires y to be passed, but the target y is None.")
    labels = column_or_1d(np.asarray(y) if isinstance(y, list | tuple) else y, warn=True)
    if len(labels) != n_rows:
        raise ValueError(f"X and y must have the same number of samples; got {n_rows} rows "
                         f"in X and {len(labels)} labels.")
    if n_rows < 2:
        raise ValueError(f"n_samples = {n_rows}: MetaSelClassifier needs at least 2 samples "
                         "of at least 2 classes.")
    if pd.isna(pd.Series(labels)).any():
        raise DataError(f"y must not contain missing labels; got "
                        f"{int(pd.isna(pd.Series(labels)).sum())} of {n_rows}. Drop those "
                        "rows or give them a class.")
    check_classification_targets(labels)
    n_classes = len(np.unique(labels))
    if n_classes < 2:
        raise ValueError(f"MetaSelClassifier needs at least 2 classes in y; got 1 class "
                         f"({labels[0]!r}). There is nothing to learn.")
    return labels


def _recommender(meta_model: Any, metric: str) -> Callable[[Any, float], list]:
    """A function ``(dataset, seconds) -> recommendations`` for the ``meta_model`` parameter;
    it raises ``BudgetExceeded`` when it cannot answer in time."""
    if meta_model is not None and not isinstance(meta_model, str | Path) and hasattr(
            meta_model, "recommend") and not _is_meta_model(meta_model):
        return lambda dataset, seconds: run_with_timeout(
            lambda: meta_model.recommend(dataset, metric=metric, top=len(LEARNERS)), seconds,
            "recommend")
    from metasel.meta import MetaModel
    from metasel.recommend import recommend_within

    if meta_model is None:
        model = _shipped_meta_model(metric)
    elif isinstance(meta_model, str | Path):
        model = MetaModel.load(meta_model)
    else:
        model = meta_model
    return lambda dataset, seconds: recommend_within(dataset, model, seconds, top=len(LEARNERS))


def _shipped_meta_model(metric: str):
    """The shipped meta-model for ``metric``, else the one for its closest shipped metric.

    A learner ranking learned for accuracy (or ROC AUC) is still a far better prior for
    balanced accuracy (or log loss) than none; the search itself optimises ``metric``.
    """
    from metasel.meta import MetaModel

    try:
        return MetaModel.default(metric)
    except KnowledgeBaseError:
        if metric not in CLOSEST_SHIPPED_METRIC:
            raise
        logger.info("no shipped meta-model for %s; using the %s one as the prior", metric,
                    CLOSEST_SHIPPED_METRIC[metric])
        return MetaModel.default(CLOSEST_SHIPPED_METRIC[metric])


def _is_meta_model(obj: Any) -> bool:
    try:
        from metasel.meta import MetaModel
    except ImportError:
        return False
    return isinstance(obj, MetaModel)


def _digest(dataset, *settings: Any) -> str:
    """A short content digest of the cleaned table and ``settings``."""
    digest = hashlib.sha1()
    digest.update(pd.util.hash_pandas_object(dataset.X, index=False).to_numpy().tobytes())
    digest.update(dataset.y.cat.codes.to_numpy().tobytes())
    digest.update("|".join(map(str, settings)).encode())
    return digest.hexdigest()[:16]


def _study_name(dataset, metric: str, warm: bool) -> str:
    """A name tied to the data and settings, so a resumed search continues the same study."""
    return f"metasel-{_digest(dataset, metric, warm)}"


@contextlib.contextmanager
def _quiet_optuna(verbose: int) -> Iterator[None]:
    """Silence Optuna's per-trial logging and the trials' convergence warnings for the
    duration of a fit (both restored after): a search tries poor configurations on purpose."""
    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.INFO if verbose >= 2 else optuna.logging.ERROR)
    try:
        with warnings.catch_warnings():
            if verbose < 2:
                warnings.simplefilter("ignore", ConvergenceWarning)
            yield
    finally:
        optuna.logging.set_verbosity(previous)
