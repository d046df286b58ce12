"""Cheap probes: successive halving of the top learners on growing stratified subsamples.

The meta-model ranks learners from *other* datasets; a few seconds of fitting on this very
dataset correct that prior. Each rung fits the surviving candidates on a stratified
subsample and scores them on one fixed validation part; the best ``1/eta`` go on to a rung
``eta`` times larger. Tiny subsamples favour simple models, so a learner is dropped from the
search only when it is clearly behind (``tolerance``) or raised, never merely for losing a
rung, nor for a probe the probes' own deadline cut or left unstarted (that says nothing of
the learner, and dropping it left the study with one slow learner on medium tables). Tree
ensembles grow within an even share of the probes' time left, so one expensive
configuration cannot use it all (a 1,000-round LightGBM took the whole share on 255 rows
of a 60,000-row table, and the probes after it never started); one that grew less than a
quarter of its size is unscored, like a cut probe.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from metasel.data._dataset import stratified_indices
from metasel.learners import grew_too_little, grow_until, grown_params
from metasel.search._budget import BudgetExceeded, Deadline, run_with_timeout
from metasel.search._evaluate import GROW_SHARE, full_proba, score_proba

logger = logging.getLogger(__name__)

#: rows of the first rung; probes are skipped when the table has fewer than 3x this
FIRST_RUNG_ROWS = 256
MAX_VALIDATION_ROWS = 2_000

ModelFactory = Callable[[str, dict[str, Any]], BaseEstimator]


@dataclass
class ProbeRecord:
    """One probe fit: which configuration, on how many rows, and how it did."""

    learner: str
    params: dict[str, Any]
    rung: int
    train_size: int
    score: float
    duration: float
    status: str = "ok"
    error: str = ""


@dataclass
class ProbeOutcome:
    """All probe fits, the learners kept in their new order, and the best fitted probe."""

    records: list[ProbeRecord] = field(default_factory=list)
    ranking: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    first_scores: dict[str, float] = field(default_factory=dict)
    best_model: BaseEstimator | None = None


def run_probes(
    candidates: Sequence[tuple[str, dict[str, Any]]],
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    metric: str,
    make_model: ModelFactory,
    deadline: Deadline,
    random_state: int | None,
    eta: int = 3,
    tolerance: float = 0.01,
) -> ProbeOutcome:
    """Successive halving of ``candidates`` (one ``(learner, params)`` each) within ``deadline``.

    Returns an empty outcome (order unchanged) when the table is too small for probes to be
    cheaper than the search itself.
    """
    order = [name for name, _ in candidates]
    if len(y) < 3 * FIRST_RUNG_ROWS or len(candidates) < 2:
        return ProbeOutcome(ranking=order)
    rng = np.random.default_rng(random_state)
    n_classes = int(y.max()) + 1
    n_valid = min(MAX_VALIDATION_ROWS, len(y) // 4)
    valid = stratified_indices(y, n_valid, rng)
    pool = np.setdiff1d(np.arange(len(y)), valid)
    X_valid, y_valid = X.iloc[valid], y[valid]
    outcome = ProbeOutcome()
    alive = list(range(len(candidates)))
    last_score: dict[int, float] = {}
    first_scores: dict[int, float] = {}
    promoted = dict.fromkeys(alive, 0)
    failed: set[int] = set()
    rung, size = 0, FIRST_RUNG_ROWS
    while alive and not deadline.expired():
        size = min(size, len(pool))
        rows = pool[stratified_indices(y[pool], size, rng)]
        scored: list[tuple[float, int]] = []
        for position, index in enumerate(alive):
            promoted[index] = rung
            name, params = candidates[index]
            # an even share of the time left to each probe still to run in this rung: an
            # expensive configuration grows fewer trees instead of starving the others
            share = GROW_SHARE * deadline.remaining() / (len(alive) - position)
            record, model = _probe(name, params, make_model, X.iloc[rows], y[rows],
                                   X_valid, y_valid, metric, n_classes, deadline, rung,
                                   stop_at=time.monotonic() + share)
            outcome.records.append(record)
            if record.status == "failed" and index not in last_score:
                failed.add(index)
            if record.status == "ok":
                scored.append((record.score, index))
                last_score[index] = record.score
                if rung == 0:
                    first_scores[index] = record.score
                if model is not None and record.score >= max(s for s, _ in scored):
                    outcome.best_model = model
        if size >= len(pool) or len(scored) <= 1:
            break
        scored.sort(key=lambda pair: -pair[0])
        alive = [index for _, index in scored[: max(1, math.ceil(len(scored) / eta))]]
        rung, size = rung + 1, size * eta
    outcome.first_scores = {order[i]: s for i, s in first_scores.items()}
    outcome.ranking, outcome.dropped = _rank(order, last_score, first_scores, promoted, failed,
                                             tolerance)
    return outcome


def _probe(name, params, make_model, X_train, y_train, X_valid, y_valid, metric, n_classes,
           deadline, rung, stop_at):
    tic = time.monotonic()
    try:
        model = make_model(name, params)

        def fit():
            with grow_until(stop_at):
                model.fit(X_train, y_train)

        run_with_timeout(fit, deadline.remaining(), "probe")
        if grew_too_little(model):
            raise BudgetExceeded("probe: stopped for time before it grew enough trees, rounds or "
                                 "epochs to be scored")
        score = score_proba(metric, y_valid, full_proba(model, X_valid, n_classes))
        status = "ok" if not math.isnan(score) else "failed"
        return ProbeRecord(name, {**params, **grown_params(model)}, rung, len(y_train), score,
                           time.monotonic() - tic, status), model
    except BudgetExceeded as error:
        return ProbeRecord(name, params, rung, len(y_train), math.nan,
                           time.monotonic() - tic, "timeout", str(error)), None
    except Exception as error:  # noqa: BLE001 - a failing learner must not end the fit
        logger.info("probe of %s failed: %s", name, error)
        return ProbeRecord(name, params, rung, len(y_train), math.nan,
                           time.monotonic() - tic, "failed", f"{type(error).__name__}: {error}"), None


def _rank(order, last_score, first_scores, promoted, failed, tolerance):
    """Learners ordered by the rung they were promoted to, then their last score; the ones
    no probe scored (cut or never started for want of time) follow in the prior's order.
    Out: the clearly behind, and those whose only probes raised."""
    if not first_scores:
        return list(order), []
    best_first = max(first_scores.values())
    ranked = sorted(last_score, key=lambda i: (-promoted[i], -last_score[i]))
    keep = [i for i in ranked if promoted[i] > 0 or first_scores[i] >= best_first - tolerance]
    unscored = [i for i in range(len(order)) if i not in last_score]
    keep += [i for i in unscored if i not in failed]
    dropped = [i for i in ranked if i not in keep] + sorted(failed)
    return [order[i] for i in keep], [order[i] for i in dropped]
