"""Anytime learners: a fit told when to stop keeps what it has learned by then.

Under a time budget a trial that overruns is cut and loses everything; on a 10,000-row
table one recommended 300-tree forest could take most of a 10 s budget and leave the fit
with a probe model. A search sets a stop time around a fit (:func:`grow_until`, per
thread: folds run in threads); the ensembles below then grow their members chunk by chunk
(scikit-learn's ``warm_start``) or round by round (a LightGBM callback), and the MLP trains
epoch by epoch, and each stops when the next step would end past it. ``n_grown_`` is the
number of members (epochs) fitted and ``stopped_for_time_`` says whether the stop time, not
the configuration, ended the fit. Boosting that, at its pace, would reach less than
``RESCALE_BELOW`` of its rounds starts again with the rounds that fit and its learning rate
raised in proportion (``rescaled_``): n rounds at rate r and n/k rounds at k*r score alike,
while the first n/k rounds at r underfit. Without a stop time (refits, KB builds, a user's
own fit) they are the library's models.
"""

from __future__ import annotations

import math
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from lightgbm import LGBMClassifier
from lightgbm.callback import EarlyStopException
from sklearn.ensemble import (
    ExtraTreesClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.utils.class_weight import compute_sample_weight
from threadpoolctl import threadpool_limits

#: members grown per chunk after the first (a single one, which sets the pace), as a share
#: of the configured number
CHUNK_SHARE = 0.1
#: an ensemble stopped for time with fewer members than this share of its size is treated
#: as a fit that did not finish
MIN_GROWN_SHARE = 0.25
#: an MLP stopped for time is a fair sample once Adam has made this many updates (or it
#: reached MIN_GROWN_SHARE of its epochs): on 13,000 rows of letter, 20 epochs (1,300
#: updates) scored 0.995 ROC AUC against 0.9993 for 200, while a small table needs its epochs
MIN_MLP_UPDATES = 1000
#: boosting rescales when fewer than this share of its rounds would fit, to rounds no fewer
#: than MIN_RESCALED_ROUNDS (the search space's least) and a rate no higher than
#: MAX_RESCALED_LEARNING_RATE (its top). The recommended configurations of 14 tables of
#: 4,000-41,000 rows, 3-fold CV, ROC AUC against the full configuration at a quarter of the
#: rounds: LightGBM -0.0016 rescaled, -0.0109 truncated; HGB -0.0028 and -0.0040
#: (benchmarks/boosting_rescale.py)
RESCALE_BELOW = 0.8
MIN_RESCALED_ROUNDS = 16
MAX_RESCALED_LEARNING_RATE = 0.5
_local = threading.local()


#: threads inside a LightGBM call, which must never receive an asynchronous exception: one
#: that lands in LightGBM's Python wrapper can free a native handle twice (a segfault in
#: ``Booster.__del__``, reproduced on nursery at 10 s on a loaded machine); a cut asks them
#: to stop instead (:func:`stop_thread`), and their next round ends the fit
_NATIVE_THREADS: set[int] = set()
_STOP_REQUESTED: set[int] = set()


def in_native_fit(ident: int | None) -> bool:
    """Whether thread ``ident`` is inside a LightGBM call (so must not be interrupted)."""
    return ident in _NATIVE_THREADS


def stop_thread(ident: int) -> None:
    """Ask thread ``ident``'s LightGBM fit to stop at its next round (its result is dropped)."""
    _STOP_REQUESTED.add(ident)


@contextmanager
def _native_call() -> Iterator[None]:
    ident = threading.get_ident()
    _NATIVE_THREADS.add(ident)
    try:
        yield
    finally:
        _NATIVE_THREADS.discard(ident)
        _STOP_REQUESTED.discard(ident)


@contextmanager
def grow_until(stop_at: float | None) -> Iterator[None]:
    """Within this block (and this thread), anytime ensembles stop growing at ``stop_at``
    (a ``time.monotonic()`` value); ``None`` lifts the limit."""
    previous = getattr(_local, "stop_at", None)
    _local.stop_at = stop_at
    try:
        yield
    finally:
        _local.stop_at = previous


def _stop_at() -> float | None:
    return getattr(_local, "stop_at", None)


def grown_params(model: Any) -> dict[str, Any]:
    """``{size parameter: members grown}`` (and the learning rate it was rescaled to) when
    ``model`` (or a pipeline's last step) stopped for time or was rescaled, else ``{}``: the
    configuration its score really belongs to."""
    final = _final_step(model)
    rescaled = getattr(final, "rescaled_", None) or {}
    if getattr(final, "stopped_for_time_", False) or rescaled:
        return {final.size_param: int(final.n_grown_), **rescaled}
    return {}


def rescaled_rounds(rounds: int, learning_rate: float,
                    rounds_that_fit: float) -> tuple[int, float] | None:
    """``(rounds, learning rate)`` for a boosting fit of which only ``rounds_that_fit`` fit in
    its time, keeping rounds x rate where the bounds allow; None to leave it as it is (nearly
    all rounds fit, too few do, or the rate is at its top already)."""
    if (rounds_that_fit >= RESCALE_BELOW * rounds or rounds_that_fit < MIN_RESCALED_ROUNDS
            or learning_rate >= MAX_RESCALED_LEARNING_RATE):
        return None
    fewer = int(rounds_that_fit)
    return fewer, min(MAX_RESCALED_LEARNING_RATE, learning_rate * rounds / fewer)


def grew_too_little(model: Any) -> bool:
    """Whether ``model`` stopped for time below ``MIN_GROWN_SHARE`` of the size it aimed at
    (configured, or rescaled): then it is no fair sample of any configuration worth scoring
    (nursery at 30 s: an HGB grown to 1 of its 21 rounds scored 0.82 and taught the sampler
    that HGB was bad)."""
    final = _final_step(model)
    if not getattr(final, "stopped_for_time_", False):
        return False
    return final.n_grown_ < final.min_grown_


def _final_step(model: Any) -> Any:
    return model.steps[-1][1] if hasattr(model, "steps") else model


class _GrowInChunks:
    """Mixin for scikit-learn ensembles with ``warm_start``: grow ``size_param`` members a
    chunk at a time while the next chunk, at the pace so far, ends before the stop time
    (defaults: a forest's ``n_estimators`` and ``estimators_``). With ``rescales`` (boosting),
    the second chunk's pace decides whether to start again rescaled (:func:`rescaled_rounds`)."""

    size_param: ClassVar[str] = "n_estimators"
    rescales: ClassVar[bool] = False

    def _n_built(self) -> int:
        return len(self.estimators_)

    def fit(self, X, y, sample_weight=None):  # noqa: N803
        stop_at, target = _stop_at(), getattr(self, self.size_param)
        self.rescaled_ = {}
        if stop_at is None:
            super().fit(X, y, sample_weight=sample_weight)
            self.n_grown_, self.stopped_for_time_ = self._n_built(), False
            return self
        saved = {"warm_start": self.warm_start, self.size_param: target}
        if self.rescales:
            saved["learning_rate"] = self.learning_rate
        if getattr(self, "class_weight", None) == "balanced":
            # the same weights as sample weights: scikit-learn warns against class_weight
            # presets under warm_start (meant for chunks of other rows, not ours)
            saved["class_weight"] = self.class_weight
            balanced = compute_sample_weight("balanced", y)
            sample_weight = balanced if sample_weight is None else sample_weight * balanced
            self.class_weight = None
        chunk, size, started = max(1, math.ceil(CHUNK_SHARE * target)), 1, time.monotonic()
        overhead = 0.0  # work each call repeats (checks, binning); the first call bounds it
        built = 0
        try:
            self.warm_start = False  # the first chunk starts from scratch
            while True:
                setattr(self, self.size_param, size)
                before, call = built, time.monotonic()
                super().fit(X, y, sample_weight=sample_weight)
                self.warm_start = True
                built = self._n_built()
                if built >= target or built < size:  # done, or stopped early on its own
                    self.stopped_for_time_ = False
                    break
                now = time.monotonic()
                overhead = overhead or now - started
                if self.rescales and before and not self.rescaled_:
                    # the second call's members set the pace (the first one's is binning)
                    pace = (now - call) / (built - before)
                    new = rescaled_rounds(target, self.learning_rate,
                                          (stop_at - now - overhead) / pace)
                    if new is not None:
                        target, self.learning_rate = new
                        self.rescaled_ = {"learning_rate": self.learning_rate}
                        # the pace is known now: two calls, not ten (each one bins again)
                        self.warm_start, built, started = False, 0, now
                        size = chunk = math.ceil(target / 2)
                        continue
                fits = int((stop_at - now - overhead) * built / (now - started))
                size = min(target, built + chunk, built + fits)
                if size <= built:
                    self.stopped_for_time_ = True
                    break
        finally:
            for name, value in saved.items():
                setattr(self, name, value)
        self.n_grown_, self.min_grown_ = built, MIN_GROWN_SHARE * target
        return self


class AnytimeRandomForest(_GrowInChunks, RandomForestClassifier):
    """scikit-learn's random forest, anytime under :func:`grow_until`."""


class AnytimeExtraTrees(_GrowInChunks, ExtraTreesClassifier):
    """scikit-learn's extremely randomised trees, anytime under :func:`grow_until`."""


class AnytimeHistGradientBoosting(_GrowInChunks, HistGradientBoostingClassifier):
    """Histogram gradient boosting on one OpenMP thread (it has no ``n_jobs``; on a shared
    machine its default of every core made a 200-row fit take 5-10 s instead of 0.1 s),
    anytime under :func:`grow_until`."""

    size_param = "max_iter"
    rescales = True

    def _n_built(self) -> int:
        return int(self.n_iter_)

    def fit(self, X, y, sample_weight=None):  # noqa: N803
        with threadpool_limits(1, user_api="openmp"):
            return super().fit(X, y, sample_weight=sample_weight)

    def predict_proba(self, X):  # noqa: N803
        with threadpool_limits(1, user_api="openmp"):
            return super().predict_proba(X)

    def predict(self, X):  # noqa: N803
        with threadpool_limits(1, user_api="openmp"):
            return super().predict(X)


class AnytimeLightGBM(LGBMClassifier):
    """LightGBM's classifier, anytime under :func:`grow_until`: a callback ends boosting
    when the next round, at the pace of the last one, would end past the stop time; at
    ``PACE_ROUNDS`` rounds it may end the fit to start again rescaled
    (:func:`rescaled_rounds`)."""

    size_param = "n_estimators"
    #: rounds after the first (which is mostly building the binned dataset) that set the pace
    #: for the rescaling decision
    PACE_ROUNDS = 3

    def fit(self, X, y, **kwargs: Any):  # noqa: N803
        stop_at = _stop_at()
        self.rescaled_ = {}
        stopped, rescaled = self._fit(X, y, kwargs, stop_at, may_rescale=stop_at is not None)
        if rescaled is not None:
            saved = {"n_estimators": self.n_estimators, "learning_rate": self.learning_rate}
            self.n_estimators, self.learning_rate = rescaled
            try:
                stopped, _ = self._fit(X, y, kwargs, stop_at, may_rescale=False)
            finally:
                for name, value in saved.items():
                    setattr(self, name, value)
            self.rescaled_ = {"learning_rate": rescaled[1]}
        target = rescaled[0] if rescaled is not None else self.n_estimators
        self.n_grown_, self.stopped_for_time_ = int(self.n_iter_), stopped
        self.min_grown_ = MIN_GROWN_SHARE * target
        return self

    def _fit(self, X, y, kwargs: dict[str, Any], stop_at: float | None,
             may_rescale: bool) -> tuple[bool, tuple[int, float] | None]:
        """One LightGBM fit: whether it stopped for time, and the rescaled rounds and rate
        to start again with (it then ended at ``PACE_ROUNDS``)."""
        timer: dict[str, Any] = {"stopped": False, "rescaled": None}
        ident = threading.get_ident()

        def stop_in_time(env) -> None:
            if ident in _STOP_REQUESTED:  # cut: end now, nobody waits for this model
                raise EarlyStopException(env.iteration, env.evaluation_result_list or [])
            if stop_at is None:
                return
            now = time.monotonic()
            done = env.iteration - env.begin_iteration
            # the first round's time is mostly building the binned dataset: no pace yet
            pace = now - timer["last"] if done else 0.0
            timer["last"] = now
            if not done:
                timer["first_end"], timer["first"] = now, now - timer["start"]
            elif may_rescale and done == self.PACE_ROUNDS:
                pace_so_far = (now - timer["first_end"]) / done
                timer["rescaled"] = rescaled_rounds(
                    self.n_estimators, self.learning_rate,
                    (stop_at - now - timer["first"]) / pace_so_far)
                if timer["rescaled"] is not None:
                    raise EarlyStopException(env.iteration, env.evaluation_result_list or [])
            if now + pace > stop_at and env.iteration + 1 < env.end_iteration:
                timer["stopped"] = True
                raise EarlyStopException(env.iteration, env.evaluation_result_list or [])

        call_kwargs = {**kwargs, "callbacks": [*(kwargs.get("callbacks") or []), stop_in_time]}
        timer["start"] = timer["last"] = time.monotonic()
        with _native_call():
            super().fit(X, y, **call_kwargs)
        return timer["stopped"], timer["rescaled"]

    def predict_proba(self, X, *args: Any, **kwargs: Any):  # noqa: N803
        with _native_call():
            return super().predict_proba(X, *args, **kwargs)


class AnytimeMLP(MLPClassifier):
    """scikit-learn's MLP, anytime under :func:`grow_until`: the end of each epoch asks
    whether the next one, at the pace of the last, would end past the stop time, and if so
    ends training as a plain fit ends on convergence, so the epochs it trained are exactly
    those of a plain fit with ``max_iter`` set to their number. Letter (13,000 rows): 200
    epochs take 20 s, and an MLP trial of a 5 s fit was cut with nothing to show."""

    size_param = "max_iter"

    def fit(self, X, y, **fit_params: Any):  # noqa: N803 - sample_weight from scikit-learn 1.7
        self._stop_at, self._epoch_ended = _stop_at(), time.monotonic()
        self.stopped_for_time_ = False
        try:
            with warnings.catch_warnings():
                if self._stop_at is not None:  # stopped for time is not "not converged"
                    warnings.simplefilter("ignore", ConvergenceWarning)
                super().fit(X, y, **fit_params)
        finally:
            del self._stop_at, self._epoch_ended
        self.n_grown_ = int(self.n_iter_)
        updates_per_epoch = math.ceil(len(y) / (min(200, len(y)) if self.batch_size == "auto"
                                                 else self.batch_size))
        self.min_grown_ = min(MIN_GROWN_SHARE * self.max_iter,
                              math.ceil(MIN_MLP_UPDATES / updates_per_epoch))
        return self

    def _update_no_improvement_count(self, *args: Any, **kwargs: Any) -> None:
        # scikit-learn calls this at the end of every epoch, and stops (Adam) once the count
        # passes n_iter_no_change: the one place an epoch loop can be ended from outside
        super()._update_no_improvement_count(*args, **kwargs)
        if self._stop_at is None:
            return
        now = time.monotonic()
        pace, self._epoch_ended = now - self._epoch_ended, now
        if now + pace > self._stop_at and self.n_iter_ < self.max_iter:
            self.stopped_for_time_ = True
            self._no_improvement_count = self.n_iter_no_change + 1
