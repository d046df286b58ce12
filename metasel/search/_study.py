"""One Optuna study over the top learners' joint conditional space, warm-started.

The space is ``learner`` (categorical) then that learner's own parameters, named
``"<learner>__<param>"`` so that conditional spaces never collide. Warm-start
configurations are enqueued first (their exact values travel in ``user_attrs``, so a value
outside today's search range is still evaluated as recommended, and in full: only TPE's own
trials are pruned); TPE continues. Every trial is cut at its own deadline, before which the
tree ensembles stop growing on their own (a trial of them ends with fewer trees and records
the size it reached, rather than being cut); failing, hanging or repeatedly too slow
learners are banned so the remaining budget goes to the others. A cut trial, one not
started for want of time, and a banned learner proposed again are told to TPE as just below
the worst score seen so far (not as a failure or a pruned trial, which TPE does not learn
from), so the sampler steers away from them instead of proposing their neighbours again.
Trials that never ran (not started, or a banned learner) do not count towards ``n_trials``.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.base import BaseEstimator

from metasel.learners import get_learner, grown_params
from metasel.search._budget import BudgetExceeded, Deadline
from metasel.search._evaluate import Evaluation, Split, evaluate, score_proba
from metasel.search._footprint import model_nbytes

logger = logging.getLogger(__name__)

#: a trial does not start when its folds are expected to end past this share of the
#: remaining time, and is cut outright at HARD_TRIAL_SHARE (a hung learner); never below
#: MIN_TRIAL_S. Once no learner fits that share, the last trial may use all the time left
TRIAL_SHARE, HARD_TRIAL_SHARE = 0.3, 0.5
MIN_TRIAL_S = 2.0
#: until a trial has succeeded, the cut comes at this share instead: with no model yet, the
#: top recommendation ending late beats trials that are all cut (letter, 10 s: a 287-tree
#: extra forest needed 4 s of 7.5 s and every trial was cut at half of what was left);
#: below 1 so that a hanging first learner leaves time to the others
FIRST_TRIAL_SHARE = 0.75
#: a learner with no successful trial is banned after this many errors, or one cut; one
#: that has succeeded, after MAX_LEARNER_CUTS cuts (each cut costs up to HARD_TRIAL_SHARE of
#: the time left)
MAX_LEARNER_FAILURES = 2
MAX_LEARNER_CUTS = 2
#: proposals refused in a row for want of time that end the study even though some learner
#: would still fit (the sampler keeps proposing what no longer does)
MAX_REFUSALS_IN_A_ROW = 5
#: random trials before TPE models a study that has no warm starts (Optuna's default)
TPE_STARTUP_TRIALS = 10
#: memory the candidates' fold models may hold together (the best's are kept whatever their
#: size); one full-depth extra-trees model of 500 trees on 20,000 noisy rows holds ~0.5 GB
FOLD_MODELS_BYTES = 1 << 30
_PARAMS_ATTR, _SOURCE_ATTR, _LEARNER_ATTR = "metasel_params", "metasel_source", "metasel_learner"
#: user attribute (the reason) of a trial whose Optuna value is a penalty, not a score
PENALTY_ATTR = "metasel_penalty"

ModelFactory = Callable[[str, dict[str, Any]], BaseEstimator]
#: called after every trial with a progress dict; a true return value stops the study
Progress = Callable[[dict[str, Any]], bool | None]


class _TrialFailed(Exception):
    """A trial whose learner raised or overran; recorded, and the study goes on."""


@dataclass
class TrialRecord:
    """One evaluated configuration, for the leaderboard."""

    number: int
    learner: str
    params: dict[str, Any]
    score: float
    fit_time: float
    duration: float
    source: str
    status: str
    error: str = ""
    fold_scores: list[float] = field(default_factory=list)


@dataclass
class Candidate:
    """A scored configuration whose out-of-fold predictions are kept for ensembling."""

    number: int
    learner: str
    params: dict[str, Any]
    evaluation: Evaluation
    #: score comparable across candidates: a partial trial's is paired with the best full one
    rank_score: float = field(init=False)
    #: approximate memory of the evaluation's fold models
    models_nbytes: int = field(init=False)

    def __post_init__(self) -> None:
        self.rank_score = self.evaluation.score
        self.models_nbytes = model_nbytes(self.evaluation.models)


@dataclass
class SearchResult:
    """The study, every trial's record, and the best candidates of this session."""

    study: optuna.Study
    records: list[TrialRecord] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


def enqueue_warm_starts(study: optuna.Study, configs: Sequence[tuple[str, dict[str, Any]]],
                        learners: Sequence[str], source: str = "warm-start") -> int:
    """Enqueue each ``(learner, params)`` whose learner is searched; returns how many.

    Only in-range values are passed as Optuna parameters (out-of-range ones would be
    rejected by the distributions); the exact configuration rides along in user attributes.
    """
    count = 0
    for name, params in configs:
        if name not in learners:
            continue
        params = get_learner(name).complete(params)
        fixed = {"learner": name}
        fixed.update({f"{name}__{k}": v for k, v in _in_space(name, params).items()})
        study.enqueue_trial(fixed, user_attrs={_PARAMS_ATTR: params,
                                               _LEARNER_ATTR: name, _SOURCE_ATTR: source},
                            skip_if_exists=True)
        count += 1
    return count


def _in_space(name: str, params: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for param in get_learner(name).space:
        if param.name not in params:
            continue
        value = params[param.name]
        if param.kind == "categorical":
            if value in param.choices:
                out[param.name] = value
        elif isinstance(value, int | float) and param.low <= value <= param.high:
            out[param.name] = value
    return out


def make_study(learners: Sequence[str], *, random_state: int | None, storage: str | None,
               study_name: str | None, startup_trials: int = TPE_STARTUP_TRIALS) -> optuna.Study:
    """A maximising TPE study (multivariate, grouped for the conditional space), median pruning.

    TPE models the trials once ``startup_trials`` are complete (warm starts count), and
    samples at random before that.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(seed=random_state, multivariate=True, group=True,
                                             n_startup_trials=max(1, startup_trials))
    pruner = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    return optuna.create_study(storage=storage, study_name=study_name, direction="maximize",
                               sampler=sampler, pruner=pruner, load_if_exists=storage is not None)


def run_study(
    study: optuna.Study,
    learners: Sequence[str],
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    splits: Sequence[Split],
    metric: str,
    make_model: ModelFactory,
    deadline: Deadline,
    n_trials: int | None = None,
    n_jobs: int = 1,
    keep: int = 10,
    progress: Progress | None = None,
    reserve: Callable[[SearchResult], float] | None = None,
    partial: bool = False,
    probe_costs: dict[str, float] | None = None,
) -> SearchResult:
    """Optimise until ``deadline`` or until ``n_trials`` trials have run; keep the ``keep``
    best candidates' OOF.

    ``reserve(result)`` is the time to keep free after the study (to refit its best
    candidates): no trial starts or runs into it. With ``partial``, a trial that runs out of
    time after some of its folds is scored on those (see :func:`evaluate`).
    ``probe_costs``: seconds each learner's probe took on the same subsample, the relative
    cost of a learner not run yet here.
    """
    result = SearchResult(study=study)
    failures: dict[str, int] = {}
    cuts: dict[str, int] = {}
    successes: set[str] = set()
    n_classes = int(y.max()) + 1
    fold_times: dict[str, list[float]] = {}
    refused_in_a_row = 0
    #: trials that never ran (not started for want of time, or a banned learner proposed)
    not_run = 0
    #: learners started without a time guess, once each: the guess came from others' pace
    blind: set[str] = set()
    #: blind tries queued and not started yet: the queue may still hold warm starts before
    #: them, and the study must not stop on those warm starts' refusals
    queued: set[str] = set()

    def banned(name: str) -> bool:
        if name in successes:
            return cuts.get(name, 0) >= MAX_LEARNER_CUTS
        return failures.get(name, 0) >= MAX_LEARNER_FAILURES or cuts.get(name, 0) > 0

    def penalty(trial: optuna.Trial, reason: str) -> float | None:
        """Just below the worst score seen so far, marked on ``trial`` (None before any
        success).

        Strictly below: TPE ranks values, and a tie with a lone success told it that a
        configuration never run was as good as the best (abalone, 10 s: the MLP warm start
        scored 0.885 and no longer fitted the time left; its two refused successors were told
        0.885, and TPE proposed MLP in 10 of 24 trials, 7 of them refused).
        """
        scores = [r.score for r in result.records if r.status == "ok"]
        if not scores:
            return None
        trial.set_user_attr(PENALTY_ATTR, reason)
        return math.nextafter(min(scores), -math.inf)

    def time_left() -> float:
        return deadline.remaining() - (reserve(result) if reserve else 0.0)

    def window(share: float) -> float:
        """Seconds a trial starting now may take: ``share`` of the time left, bounded."""
        left = time_left()
        return min(left, max(MIN_TRIAL_S, share * left))

    batches = math.ceil(len(splits) / max(1, n_jobs))

    def expected_time(name: str, last: bool = False) -> float | None:
        """A trial of ``name``: its own folds so far x the batches; a learner not run yet
        is only assumed to need one typical fold of the others (it may be much faster), or
        less where the two learners' probe times say so, and nothing (None) while no trial
        has succeeded: a model is then worth any guess.

        With ``partial``, the study's ``last`` trial needs only its first batch to fit (it
        is scored on the folds it finishes): the time between the last full trial and the
        refit's reserve went unused (bank32nh, 60 s: fits ended at 46 s, where a 3-fold
        trial needed 12 s and a fold 4 s; with it at 53.5 s).

        The probes' scale only ever lowers the guess: one slow learner's folds made every
        other one look too slow (cal.housing at 10 s stopped after one 4.4 s MLP trial with
        3.6 s left; LightGBM's probe had taken 0.4 of the MLP's), while a guess raised by
        cost ratios refused learners that fitted (245b2c6: ratios from 256-row fits do not
        carry to the table's size)."""
        if fold_times.get(name):
            return float(np.median(fold_times[name])) * (1 if last and partial else batches)
        if not fold_times or result.best is None:
            return None
        known = float(np.median([t for times in fold_times.values() for t in times]))
        costs = probe_costs or {}
        scaled = [float(np.median(times)) * costs[name] / costs[other]
                  for other, times in fold_times.items()
                  if times and costs.get(name) and costs.get(other)]
        return min(known, float(np.median(scaled))) if scaled else known

    def fits(name: str, share: float, last: bool = False) -> bool:
        """Whether a trial of ``name`` (the ``last``: see :func:`expected_time`) is expected
        to end within ``share`` of the time left."""
        return not banned(name) and (expected_time(name, last) or 0.0) <= window(share)

    def blind_try(refused: str) -> str | None:
        """A learner never run here to start anyway, when guesses alone say nothing fits.

        Its guess is the pace of the learners that did run, which may be far slower (a
        48-class gradient boosting fold at 16 s ended a 60 s cold fit after one trial, with
        20 s unused); the time left after the refit's reserve has no other use, and a blind
        trial is cut at HARD_TRIAL_SHARE of it. The refused learner first, then the cheapest
        by probe cost, then in search order.
        """
        if time_left() < MIN_TRIAL_S:
            return None
        costs = probe_costs or {}
        untried = [n for n in learners
                   if n not in fold_times and n not in blind and not banned(n)]
        untried.sort(key=lambda n: (n != refused, costs.get(n, math.inf)))
        return untried[0] if untried else None

    def best_score(name: str) -> float:
        return max((r.score for r in result.records if r.learner == name and r.status == "ok"),
                   default=-math.inf)

    def objective(trial: optuna.Trial) -> float:
        nonlocal refused_in_a_row, not_run
        name = trial.suggest_categorical("learner", list(learners))
        queued.discard(name)
        params = get_learner(name).suggest(trial, prefix=f"{name}__")
        if trial.user_attrs.get(_LEARNER_ATTR) == name:
            params = {**params, **trial.user_attrs[_PARAMS_ATTR]}
        source = trial.user_attrs.get(_SOURCE_ATTR, "search")
        trial.set_user_attr("params", params)
        if banned(name):
            reason = "learner banned after repeated failures"
            _record(result, trial.number, name, params, math.nan, 0, 0, source, "skipped", reason)
            not_run += 1
            if all(banned(other) for other in learners):
                study.stop()
            floor = penalty(trial, reason)
            if floor is None:
                raise optuna.TrialPruned()
            return floor

        def on_fold(step: int, running: float) -> None:
            # every batch teaches this learner's pace, also in trials that end unfinished
            fold_times.setdefault(name, []).append(time.monotonic() - batch_start[0])
            batch_start[0] = time.monotonic()
            # warm starts set the pruning bar but are evaluated in full: cut early, their
            # score would be lost to TPE (strong ones set a bar that cuts their siblings)
            if not math.isnan(running):
                trial.report(running, step)
                if source == "search" and trial.should_prune():
                    raise optuna.TrialPruned()

        tic = time.monotonic()
        batch_start = [tic]
        # when no learner fits its share any more, the study's last trial may use all the
        # time left rather than leave it unused
        last = not any(fits(other, TRIAL_SHARE) for other in learners)
        unguessed = name in blind and name not in fold_times
        hard = deadline.sub(window(1.0 if last and not unguessed else HARD_TRIAL_SHARE
                                   if result.best else FIRST_TRIAL_SHARE))
        soft = deadline.sub(window(1.0 if last else TRIAL_SHARE))
        previous_refusals, refused_in_a_row = refused_in_a_row, 0
        try:
            evaluation = evaluate(lambda: make_model(name, params), X, y, splits, metric,
                                  hard, n_classes=n_classes, on_fold=on_fold, n_jobs=n_jobs,
                                  soft_deadline=soft,
                                  expected_time=None if unguessed else expected_time(name, last),
                                  partial=partial)
        except optuna.TrialPruned:
            _record(result, trial.number, name, params, math.nan, 0, time.monotonic() - tic,
                    source, "pruned")
            raise
        except BudgetExceeded as error:
            # a trial refused before its first fold never ran: "skipped", like a banned
            # learner's, so that the leaderboard (and a count of trials) tells the two apart
            started = error.cut or batch_start[0] != tic
            _record(result, trial.number, name, params, math.nan, 0, time.monotonic() - tic,
                    source, "timeout" if started else "skipped", str(error))
            if error.cut:  # ran past its deadline (a trial merely not started is not at fault)
                cuts[name] = cuts.get(name, 0) + 1
            else:
                not_run += int(not started)
                refused_in_a_row = previous_refusals + 1
                spinning = refused_in_a_row >= MAX_REFUSALS_IN_A_ROW and result.best is not None
                fitting = ([other for other in learners if fits(other, TRIAL_SHARE)]
                           or [other for other in learners if fits(other, 1.0, last=True)])
                untried = blind_try(name) if not (spinning or fitting) else None
                if untried is not None:
                    blind.add(untried)
                    queued.add(untried)
                    study.enqueue_trial({"learner": untried})
                elif spinning or not (fitting or queued):
                    study.stop()  # what is proposed no longer fits: do not spin
                elif fitting:  # TPE may keep proposing its best learner: steer to one that fits
                    study.enqueue_trial({"learner": max(fitting, key=best_score)})
            # told as the worst score, so that the sampler turns to what still fits
            floor = penalty(trial, str(error))
            if floor is not None:
                return floor
            raise _TrialFailed(str(error)) from error
        except Exception as error:  # noqa: BLE001 - a failing learner must not end the fit
            failures[name] = failures.get(name, 0) + 1
            logger.info("trial %d (%s) failed: %s", trial.number, name, error)
            _record(result, trial.number, name, params, math.nan, 0, time.monotonic() - tic,
                    source, "failed", f"{type(error).__name__}: {error}")
            raise _TrialFailed(str(error)) from error
        if math.isnan(evaluation.score):
            _record(result, trial.number, name, params, math.nan, evaluation.fit_time,
                    evaluation.duration, source, "failed", "metric undefined")
            raise _TrialFailed("metric undefined")
        successes.add(name)
        grown = _grown_size(evaluation.models)
        if grown:  # the score belongs to the ensemble grown in time, and so does its refit
            params = {**params, **grown}
            trial.set_user_attr("params", params)
        _record(result, trial.number, name, params, evaluation.score, evaluation.fit_time,
                evaluation.duration, source, "ok", fold_scores=evaluation.fold_scores)
        _keep_candidate(result, Candidate(trial.number, name, params, evaluation), keep, y,
                        metric)
        return evaluation.score

    def stop_when_due(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        wants_stop = progress is not None and progress(_progress_event(result, deadline))
        enough = n_trials is not None and len(result.records) - not_run >= n_trials
        if wants_stop or enough or time_left() <= 0.05:
            study.stop()

    if time_left() > 0.05 and n_trials != 0:
        study.optimize(objective, callbacks=[stop_when_due],
                       catch=(_TrialFailed,), gc_after_trial=False)
    return result


def _grown_size(models: Sequence[BaseEstimator]) -> dict[str, Any]:
    """The configuration of the fold whose anytime ensemble grew the fewest members before
    its stop time, with the learning rate it was rescaled to ({} when none stopped or was
    rescaled)."""
    changed = [grown for grown in map(grown_params, models) if grown]
    if not changed:
        return {}
    size = next(iter(changed[0]))  # grown_params names the size first
    return min(changed, key=lambda grown: grown[size])


def _record(result: SearchResult, number, name, params, score, fit_time, duration, source,
            status, error="", fold_scores=()) -> None:
    result.records.append(TrialRecord(number, name, dict(params), float(score),
                                      float(fit_time), float(duration), source, status, error,
                                      list(fold_scores)))


def _keep_candidate(result: SearchResult, candidate: Candidate, keep: int, y: np.ndarray,
                    metric: str) -> None:
    """Insert by score (earlier wins ties); the candidates keep their fitted fold models, in
    rank order, within ``FOLD_MODELS_BYTES`` (a final ensemble of them needs no refit), and
    the best one that has them always does (the final model's fallback when a refit fails).

    A partial trial (scored on the folds it finished) is ranked on those rows against the
    best full trial: a fold that is easy for every model must not make it the winner
    (diabetes, 30 s: an MLP's one fold at 0.854 beat a three-fold 0.843, and lost on test).
    A new best full trial re-ranks the partial ones, which can put first a candidate whose
    models are gone: the models then stay with the best one that still has them
    (primary.tumor, 10 s: all were dropped, the refit was cut, the model was the priors).
    """
    ranked = result.candidates + [candidate]
    full = best_covered(ranked)
    reference = max(full, key=lambda c: c.evaluation.score).evaluation
    for other in ranked:
        if not any(other is c for c in full):
            other.rank_score = _paired_score(other.evaluation, reference, y, metric)
    ranked.sort(key=lambda c: -c.rank_score)
    del ranked[keep:]
    kept: int | None = None  # bytes of the fold models kept so far; None before the first
    for other in ranked:
        if not other.evaluation.models:
            continue
        if kept is not None and kept + other.models_nbytes > FOLD_MODELS_BYTES:
            other.evaluation.models = []
        else:
            kept = (kept or 0) + other.models_nbytes
    result.candidates[:] = ranked


def best_covered(candidates: Sequence[Candidate]) -> list[Candidate]:
    """The candidates with out-of-fold predictions on the most rows (the full trials)."""
    counts = [int(c.evaluation.covered.sum()) for c in candidates]
    return [c for c, count in zip(candidates, counts, strict=True) if count == max(counts)]


def _paired_score(partial: Evaluation, reference: Evaluation, y: np.ndarray,
                  metric: str) -> float:
    """``reference``'s score plus how far ``partial`` beats it on the rows ``partial``
    predicted (its own score when the reference's is undefined there)."""
    rows = partial.covered
    same_rows = score_proba(metric, y[rows], reference.oof[rows])
    if math.isnan(same_rows):
        return partial.score
    return reference.score + partial.score - same_rows


def _progress_event(result: SearchResult, deadline: Deadline) -> dict[str, Any]:
    last = result.records[-1] if result.records else None
    best = result.best
    return {
        "n_trials": len(result.records),
        "last_learner": last.learner if last else None,
        "last_score": last.score if last else math.nan,
        "best_learner": best.learner if best else None,
        "best_score": best.evaluation.score if best else math.nan,
        "elapsed": deadline.elapsed(),
        "remaining": max(0.0, deadline.remaining()),
    }
