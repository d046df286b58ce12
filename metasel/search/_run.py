"""The whole search within one deadline: probes, study, ensemble selection, final refit.

Every step asks the same :class:`Deadline`. The study stops early enough to leave time for
refitting its best configuration on all rows (estimated from that configuration's own fold
fit times); when even that does not fit, a cheaper already-fitted model is used instead
(the best trial's fold models, then the best probe), so a model always exists on time. A
selected ensemble whose refit does not fit is made of its members' fold models.
"""

from __future__ import annotations

import json
import logging
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.dummy import DummyClassifier

from metasel.learners import get_learner
from metasel.meta import combine_prior_with_probes
from metasel.search._budget import BudgetExceeded, Deadline, run_with_timeout
from metasel.search._ensemble import WeightedEnsemble, caruana_selection
from metasel.search._evaluate import make_splits
from metasel.search._plan import Plan
from metasel.search._probes import ProbeOutcome, run_probes
from metasel.search._study import (
    TPE_STARTUP_TRIALS,
    Candidate,
    Progress,
    SearchResult,
    TrialRecord,
    best_covered,
    enqueue_warm_starts,
    make_study,
    run_study,
)
from metasel.search._widen import (
    expected_trials,
    learner_count,
    pilot_fold_seconds,
    probe_fold_seconds,
)

logger = logging.getLogger(__name__)

#: share of the budget the probes may use
PROBE_SHARE = 0.15
#: warm starts enqueued (the plan's first ones: one per top learner); TPE models the study
#: right after them: refining the best of them beats trying more recommended configurations
WARM_STARTS = 5
#: share of the time left after the probes that the study's trials are expected to use (the
#: rest: the refit and its slack), for the expected number of trials
SEARCH_SHARE = 0.85
#: refit time estimate = fold fit time x (all rows / fold rows) x this safety factor
REFIT_SAFETY = 1.3
#: time kept free after the study on top of the refit estimate: fixed + share of the budget
RESERVE_SLACK_S, RESERVE_SLACK_SHARE = 0.3, 0.03
#: time for an ensemble refit is kept only while the best's refit is at most this share of
#: the budget
ENSEMBLE_REFIT_SHARE = 0.1
#: share of the time left after the study that greedy ensemble selection may use
SELECTION_SHARE = 0.2
#: the ensemble must beat the best single candidate by more than this to be used
ENSEMBLE_MIN_GAIN = 1e-4
LEADERBOARD_COLUMNS = ["trial", "learner", "configuration", "score", "fit_time", "time",
                       "source", "status", "train_size", "n_folds", "error", "in_final_model"]


class RefitWarning(UserWarning):
    """The final model is a fallback (no time to refit the best configuration on all rows)."""


@dataclass
class SearchSettings:
    """How to search: metric, resampling, caps, seeds, persistence and progress reporting."""

    metric: str = "roc_auc"
    cv: Any = "auto"
    n_trials: int | None = None
    n_jobs: int = 1
    random_state: int | None = None
    ensemble_size: int = 10
    storage: str | None = None
    study_name: str | None = None
    probes: bool = True
    progress: Progress | None = None


@dataclass
class SearchOutcome:
    """The final fitted model (labels ``0..k-1``) and everything that led to it."""

    model: BaseEstimator
    kind: str
    best_config: dict[str, Any] | None
    best_score: float
    leaderboard: pd.DataFrame
    study: optuna.Study
    ensemble: list[dict[str, Any]] = field(default_factory=list)
    records: list[TrialRecord] = field(default_factory=list)
    n_folds: int = 0
    train_size: int = 0


def search(X: pd.DataFrame, y: np.ndarray, plan: Plan, settings: SearchSettings,
           deadline: Deadline) -> SearchOutcome:
    """Probe, search and refit ``plan`` on ``(X, y)`` (``y`` coded ``0..k-1``) by ``deadline``."""
    make_model = _factory(settings.random_state)
    probes = ProbeOutcome(ranking=list(plan.learners))
    if settings.probes and plan.probes:
        probes = run_probes(plan.probes, X, y, metric=settings.metric, make_model=make_model,
                            deadline=deadline.sub(PROBE_SHARE * deadline.remaining()),
                            random_state=settings.random_state)
        if probes.records:  # without a probe fit there is nothing to re-rank on
            plan = plan.reorder(_with_prior(plan, probes, settings.metric))
    warm = [c for c in plan.warm_starts if c[0] in plan.learners][:WARM_STARTS]
    splits = make_splits(y, settings.cv, settings.random_state)
    train_share = len(splits[0][0]) / len(y)
    learners = _searched_learners(plan, probes, X, y, splits, settings, make_model, deadline)
    study = make_study(learners, random_state=settings.random_state,
                       storage=settings.storage, study_name=settings.study_name,
                       startup_trials=len(warm) or TPE_STARTUP_TRIALS)
    enqueue_warm_starts(study, warm, learners)
    result = run_study(study, learners, X, y, splits=splits, metric=settings.metric,
                       make_model=make_model, deadline=deadline, n_trials=settings.n_trials,
                       n_jobs=settings.n_jobs, progress=settings.progress,
                       reserve=lambda found: _reserve(found, settings, train_share, deadline),
                       partial=_owns_resampling(settings.cv),
                       probe_costs={r.learner: r.duration for r in probes.records if r.rung == 0})
    model, kind, members = _final_model(result, probes, X, y, settings, deadline, train_share)
    best = result.best
    return SearchOutcome(
        model=model, kind=kind,
        best_config={"learner": best.learner, "params": best.params} if best else None,
        best_score=best.evaluation.score if best else math.nan,
        leaderboard=leaderboard(result, probes, members), study=study, ensemble=members,
        records=result.records, n_folds=len(splits), train_size=len(splits[0][0]),
    )


def _searched_learners(plan: Plan, probes: ProbeOutcome, X, y, splits, settings, make_model,
                       deadline: Deadline) -> list[str]:
    """The plan's learners, widened by as many next-ranked ones as the expected trials allow
    (:mod:`metasel.search._widen`); the pace comes from the probes, else from a pilot fold."""
    if not plan.more:
        return list(plan.learners)
    fold_seconds = probe_fold_seconds(probes.records, len(splits[0][0]))
    if fold_seconds is None and not probes.records:
        fold_seconds = pilot_fold_seconds(plan, X, y, splits, settings.metric, make_model,
                                          deadline)
    trials = expected_trials(fold_seconds, splits, settings.n_jobs,
                             SEARCH_SHARE * deadline.remaining(), settings.n_trials)
    learners = plan.widened(learner_count(plan, trials))
    logger.info("searching %d learners: about %.0f trials expected at %s s per fold",
                len(learners), trials, f"{fold_seconds:.3g}" if fold_seconds else "unknown")
    return learners


def _owns_resampling(cv: Any) -> bool:
    """Whether the resampling plan is ours to shorten: "auto" is, a user's ``cv`` is not.

    On tables where one fold of a recommended configuration takes a large share of a short
    budget (8,000 rows, 10 s), trials that could not finish all folds were thrown away with
    their finished folds, and the fit often ended on a probe model.
    """
    return isinstance(cv, str) and cv == "auto"


def _with_prior(plan: Plan, probes: ProbeOutcome, metric: str) -> list[str]:
    """The kept learners re-ranked by probe score combined with the meta-model's prior.

    The combination rule (and its weight) is the meta-model's own, fitted on the KB; log loss
    is left to the probes alone because the prior is then in other units.
    """
    kept = probes.ranking
    if (metric == "log_loss" or not probes.first_scores
            or not all(name in plan.prior for name in kept)):
        return kept
    items = [SimpleNamespace(learner=name, expected_score=plan.prior[name]) for name in kept]
    scores = {name: probes.first_scores[name] for name in kept if name in probes.first_scores}
    return [item.learner for item in combine_prior_with_probes(items, scores)]


def _factory(random_state: int | None) -> Callable[[str, dict[str, Any]], BaseEstimator]:
    def make_model(name: str, params: dict[str, Any]) -> BaseEstimator:
        return get_learner(name).build(params, random_state=random_state)

    return make_model


def _reserve(result: SearchResult, settings: SearchSettings, train_share: float,
             deadline: Deadline) -> float:
    """Seconds to keep free after the study: the best's refit plus slack, and room for an
    ensemble refit first once there is a choice of two and a refit is cheap against the
    budget (otherwise the trials that room would cost are worth more than an ensemble).

    A refit that no longer fits even on its plain estimate will not be tried: nothing but
    the slack is kept for it, and the time goes to trials whose fold models may beat the
    best's (a 60,000-row fit at 20 s ended 5 s early, on the fold model of its one trial).
    """
    slack = RESERVE_SLACK_S + RESERVE_SLACK_SHARE * deadline.budget
    if _refit_estimate(result.best, train_share, safety=1.0) > deadline.remaining():
        return slack  # the rule by which _final_model skips the refit
    one = _refit_estimate(result.best, train_share)
    ensemble = (settings.ensemble_size > 1 and len(result.candidates) > 1
                and one <= ENSEMBLE_REFIT_SHARE * deadline.budget)
    return (2 if ensemble else 1) * one + slack


def _refit_estimate(candidate: Candidate | None, train_share: float,
                   safety: float = REFIT_SAFETY) -> float:
    if candidate is None:
        return 0.0
    return safety * candidate.evaluation.fit_time / max(train_share, 1e-3)


def _final_model(result: SearchResult, probes: ProbeOutcome, X, y, settings, deadline,
                 train_share):
    """The best affordable final model: ensemble refit, the ensemble's fold models, best
    refit, the best's fold models, probe, prior."""
    make_model = _factory(settings.random_state)
    n_classes = int(y.max()) + 1
    attempts: list[tuple[str, list[Candidate], np.ndarray]] = []
    if result.best is not None:
        # selection scores on the rows every member predicted: partial trials would shrink
        # them to one fold, where the ensemble's score is not comparable with the best's
        pool, selection = best_covered(result.candidates), None
        if settings.ensemble_size > 1 and len(pool) > 1:
            selection = caruana_selection([c.evaluation.oof for c in pool], y,
                                          settings.metric, settings.ensemble_size,
                                          deadline.sub(SELECTION_SHARE * deadline.remaining()))
        if (selection is not None and len(selection.members) > 1
                and selection.score > result.best.rank_score + ENSEMBLE_MIN_GAIN):
            members = [pool[i] for i in selection.members]
            weights = selection.weights[selection.members]
            attempts.append(("ensemble", members, weights))
            if all(m.evaluation.models for m in members):
                attempts.append(("fold-ensemble", members, weights))
        attempts.append(("refit", [result.best], np.ones(1)))
    for position, (kind, members, weights) in enumerate(attempts):
        described = [{"learner": m.learner, "params": m.params, "weight": float(w)}
                     for m, w in zip(members, weights, strict=True)]
        if kind == "fold-ensemble":
            return _fold_ensemble(members, weights, n_classes), kind, described
        # a refit must leave time for the single refit after it; one with nothing after it
        # or only an already fitted ensemble is tried on its plain estimate (no safety
        # factor): the time left has no other use, and a refit that overruns is cut and
        # falls back as if it had not been tried
        plain = position == len(attempts) - 1 or attempts[position + 1][0] == "fold-ensemble"
        keep = 0.0 if plain else _refit_estimate(result.best, train_share)
        cost = sum(_refit_estimate(m, train_share, safety=1.0 if plain else REFIT_SAFETY)
                   for m in members)
        if cost > deadline.remaining() - keep:
            continue
        ensemble = WeightedEnsemble([make_model(m.learner, m.params) for m in members],
                                    list(weights), n_classes)
        try:
            run_with_timeout(lambda e=ensemble: e.fit(X, y), deadline.remaining() - keep,
                             "refit")
        except BudgetExceeded:
            continue
        except Exception as error:  # noqa: BLE001 - fall back to a cheaper final model
            logger.info("refit (%s) failed: %s", kind, error)
            continue
        model = ensemble if kind == "ensemble" else ensemble.estimators_[0]
        return model, kind, described
    return _fallback(result, probes, X, y, n_classes)


def _fold_ensemble(members: Sequence[Candidate], weights: np.ndarray,
                   n_classes: int) -> WeightedEnsemble:
    """The members' cross-validation fold models, each member's weight shared among its
    folds: the selected ensemble without a refit, as its out-of-fold score measured it."""
    models = [model for m in members for model in m.evaluation.models]
    shares = [w / len(m.evaluation.models)
              for m, w in zip(members, weights, strict=True) for _ in m.evaluation.models]
    return WeightedEnsemble.from_fitted(models, shares, n_classes)


def _fallback(result: SearchResult, probes: ProbeOutcome, X, y, n_classes):
    best = next((c for c in result.candidates if c.evaluation.models), None)
    if best is not None:
        models = best.evaluation.models
        which = "the best configuration" if best is result.best else f"trial {best.number}"
        warnings.warn(f"No time was left to refit {which} on all rows; the final model "
                      f"averages its {len(models)} cross-validation fold models. "
                      "Give a larger time_budget to refit.", RefitWarning, stacklevel=4)
        bag = WeightedEnsemble.from_fitted(models, [1.0] * len(models), n_classes)
        return bag, "fold-models", [{"learner": best.learner, "params": best.params,
                                     "weight": 1.0}]
    if probes.best_model is not None:
        warnings.warn("No search trial finished within the time budget; the final model is "
                      "the best probe, fitted on a subsample. Give a larger time_budget.",
                      RefitWarning, stacklevel=4)
        bag = WeightedEnsemble.from_fitted([probes.best_model], [1.0], n_classes)
        return bag, "probe", []
    warnings.warn("No model could be trained within the time budget; the final model "
                  "predicts the class priors. Give a larger time_budget.", RefitWarning,
                  stacklevel=4)
    prior = WeightedEnsemble.from_fitted([DummyClassifier(strategy="prior").fit(X, y)], [1.0],
                                         n_classes)
    return prior, "prior", []


def leaderboard(result: SearchResult, probes: ProbeOutcome,
                members: Sequence[dict[str, Any]] = ()) -> pd.DataFrame:
    """Every probe and trial of this session, in the order they ran; ``in_final_model``
    marks the trials whose configuration the final model (``members``) refitted."""
    final = {(m["learner"], _json(m["params"])) for m in members}
    rows = [
        {"trial": pd.NA, "learner": p.learner, "configuration": _json(p.params),
         "score": p.score, "fit_time": p.duration, "time": p.duration, "source": "probe",
         "status": p.status, "train_size": p.train_size, "n_folds": pd.NA, "error": p.error,
         "in_final_model": False}
        for p in probes.records
    ]
    rows += [
        {"trial": r.number, "learner": r.learner, "configuration": _json(r.params),
         "score": r.score, "fit_time": r.fit_time, "time": r.duration, "source": r.source,
         "status": r.status, "train_size": pd.NA,
         "n_folds": len(r.fold_scores) if r.status == "ok" else pd.NA, "error": r.error,
         "in_final_model": r.status == "ok" and (r.learner, _json(r.params)) in final}
        for r in result.records
    ]
    frame = pd.DataFrame(rows, columns=LEADERBOARD_COLUMNS)
    frame["trial"] = frame["trial"].astype("Int64")
    for column in ("train_size", "n_folds"):
        frame[column] = frame[column].astype("Int64")
    return frame


def _json(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)
