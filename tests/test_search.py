"""metasel.search: deadlines, scoring, probes, the warm-started study, ensemble selection."""

from __future__ import annotations

import contextlib
import threading
import time

import numpy as np
import optuna
import pandas as pd
import pytest
from _faulty_learners import faulty_factory
from sklearn.datasets import make_classification
from sklearn.dummy import DummyClassifier
from sklearn.tree import DecisionTreeClassifier

from metasel.learners import get_learner, grown_params
from metasel.search import (
    BudgetExceeded,
    Deadline,
    Plan,
    SearchSettings,
    caruana_selection,
    enqueue_warm_starts,
    evaluate,
    make_splits,
    make_study,
    run_probes,
    run_study,
    run_with_timeout,
    score_proba,
    search,
    warm_plan,
)
from metasel.search._budget import run_in_threads
from metasel.search._study import MAX_REFUSALS_IN_A_ROW


def test_run_with_timeout_cuts_a_hanging_call_on_time():
    tic = time.monotonic()
    with pytest.raises(BudgetExceeded, match="cut after"):
        run_with_timeout(lambda: time.sleep(10), 0.2, "sleep")
    assert time.monotonic() - tic < 1.0


def _busy(seconds: float = 30.0) -> None:
    """Work in Python steps, like the loop over a forest's trees or a booster's rounds."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.01)


def _alive(prefix: str) -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(prefix)]


def test_a_cut_call_stops_instead_of_running_on_in_the_background():
    with pytest.raises(BudgetExceeded, match="cut after"):
        run_with_timeout(_busy, 0.2, "busy-single")
    time.sleep(0.5)
    assert _alive("metasel-busy-single") == []


def _swallows_the_first_stop() -> None:
    """Work on after catching everything once, as a weakref callback does with any
    exception raised inside it."""
    with contextlib.suppress(BaseException):  # the point: the stop is swallowed
        _busy()
    _busy()


@pytest.mark.parametrize("in_batch", [False, True])
def test_a_cut_call_that_swallows_one_stop_is_stopped_again(in_batch):
    call = (lambda: run_in_threads([_swallows_the_first_stop] * 2)) if in_batch \
        else _swallows_the_first_stop
    before = threading.active_count()
    with pytest.raises(BudgetExceeded, match="cut after"):
        run_with_timeout(call, 0.2, "swallow")
    time.sleep(1.0)
    assert _alive("metasel-swallow") == []
    assert threading.active_count() <= before


def test_a_cut_call_stops_the_timed_call_it_waits_for():
    with pytest.raises(BudgetExceeded, match="cut after"):
        run_with_timeout(lambda: run_with_timeout(_busy, 10.0, "inner"), 0.2, "outer")
    time.sleep(0.5)
    assert _alive("metasel-inner") == []


def test_a_cut_batch_of_parallel_folds_stops_every_fold(table):
    X, y = table
    before = threading.active_count()

    class Busy(DummyClassifier):
        def fit(self, X, y):  # noqa: N803
            _busy()
            return super().fit(X, y)

    with pytest.raises(BudgetExceeded, match="cut after"):
        evaluate(Busy, X, y, make_splits(y, 2, 0), "roc_auc", Deadline(0.3),
                 n_classes=2, n_jobs=2)
    time.sleep(0.5)
    assert threading.active_count() <= before


def test_run_with_timeout_reraises_the_callee_error_and_returns_results():
    with pytest.raises(ZeroDivisionError):
        run_with_timeout(lambda: 1 / 0, 1.0)
    assert run_with_timeout(lambda: 42, 1.0) == 42


def test_deadline_sub_never_extends_the_parent():
    parent = Deadline(1.0)
    assert parent.sub(100.0).budget <= 1.0
    assert Deadline(0.0).expired()


def test_score_proba_is_greater_is_better_for_every_metric():
    y = np.array([0, 0, 1, 1])
    good = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.1, 0.9]])
    bad = good[:, ::-1]
    for metric in ("roc_auc", "balanced_accuracy", "accuracy", "log_loss"):
        assert score_proba(metric, y, good) > score_proba(metric, y, bad), metric


def test_score_proba_multiclass_auc_with_a_class_absent_from_the_rows():
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1]])
    assert score_proba("roc_auc", y, proba) == pytest.approx(1.0)


@pytest.mark.parametrize("n_classes", [2, 3, 11])
def test_score_proba_auc_equals_scikit_learn_with_ties_and_absent_classes(n_classes):
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(n_classes)
    for absent in (None, n_classes - 1):
        y = rng.integers(0, n_classes, 300)
        if absent is not None and n_classes > 2:
            y[y == absent] = 0
        # coarse probabilities: many ties, which AUC counts as one half
        proba = rng.dirichlet(np.ones(n_classes), 300).round(1) + 1e-3
        proba /= proba.sum(axis=1, keepdims=True)
        present = np.unique(y)
        sub = proba[:, present] / proba[:, present].sum(axis=1, keepdims=True)
        expected = (roc_auc_score(y == present[1], sub[:, 1]) if present.size == 2 else
                    roc_auc_score(y, sub, multi_class="ovr", labels=present))
        assert score_proba("roc_auc", y, proba) == pytest.approx(expected, abs=1e-12)


def test_make_splits_keeps_the_fold_count_and_every_class_of_two_rows_in_every_training_part():
    y = np.array([0] * 20 + [1] * 20 + [2] * 2 + [3])
    splits = make_splits(y, 5, random_state=0)
    assert len(splits) == 5
    for train, test in splits:
        assert {0, 1, 2} <= set(y[train])
        assert abs((y[test] == 0).sum() - 4) <= 1  # stratified despite the single-row class


def test_make_splits_auto_holdout_trains_on_a_single_row_class():
    y = np.r_[np.arange(12_000) % 2, 2]
    (train, test), = make_splits(y, "auto", random_state=0)
    assert len(y) - 1 in train
    assert (y[test] == 1).mean() == pytest.approx(0.5, abs=0.01)


def test_rows_of_a_class_missing_from_their_training_part_are_not_scored():
    """Every model gives such a row probability 0 for its class; scored, it would rank a
    model that spreads probability over other rows (a network) below one that does not."""
    rng = np.random.default_rng(0)
    y = np.r_[np.repeat([0, 1, 2], 30), 3]
    X = pd.DataFrame({"a": y + rng.normal(0, 0.5, len(y))})
    splits = make_splits(y, 3, 0)
    evaluation = evaluate(lambda: DecisionTreeClassifier(max_depth=3), X, y, splits, "roc_auc", Deadline(30),
                          n_classes=4)
    assert np.isnan(evaluation.oof[-1]).all()
    assert evaluation.covered.sum() == len(y) - 1
    scored = evaluation.covered
    assert evaluation.score == pytest.approx(
        score_proba("roc_auc", y[scored], evaluation.oof[scored]))


def test_make_splits_auto_uses_a_holdout_for_large_tables():
    y = np.arange(20_000) % 2
    (train, test), = make_splits(y, "auto", random_state=0)
    assert len(test) == pytest.approx(4_000, abs=1)
    assert np.intersect1d(train, test).size == 0


def test_caruana_selection_stops_at_its_deadline_with_the_bag_so_far():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    oofs = [rng.dirichlet([1, 1], 200) for _ in range(4)]
    selection = caruana_selection(oofs, y, "roc_auc", size=50, deadline=Deadline(0.0))
    assert selection.weights.sum() == pytest.approx(1.0)
    assert len(selection.members) == 1


def test_caruana_selection_combines_complementary_models():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    signal = np.where(y == 1, 0.7, 0.3)
    noise_a, noise_b = rng.normal(0, 0.35, (2, 400))
    oofs = [np.column_stack([1 - p, p]) for p in (np.clip(signal + noise_a, 0, 1),
                                                  np.clip(signal + noise_b, 0, 1))]
    selection = caruana_selection(oofs, y, "roc_auc", size=10)
    best_single = max(score_proba("roc_auc", y, o) for o in oofs)
    assert len(selection.members) == 2
    assert selection.weights.sum() == pytest.approx(1.0)
    assert selection.score > best_single


def test_probes_drop_a_clearly_worse_learner_and_keep_the_better_first():
    X, y = make_classification(n_samples=1500, n_features=10, random_state=1)
    frame = pd.DataFrame(X)

    def factory(name, params):
        if name == "gaussian_nb":
            return DummyClassifier(strategy="prior")
        return get_learner(name).build(params, random_state=0)

    outcome = run_probes([("gaussian_nb", {}), ("logistic_regression", {})], frame, y,
                         metric="roc_auc", make_model=factory, deadline=Deadline(20),
                         random_state=0)
    assert outcome.ranking == ["logistic_regression"]
    assert outcome.dropped == ["gaussian_nb"]
    assert outcome.best_model is not None
    sizes = sorted({r.train_size for r in outcome.records})
    assert len(sizes) == 2 and sizes[0] <= 256 < sizes[1], "the survivor must reach a larger rung"


def test_probes_keep_a_learner_cut_for_want_of_time_and_drop_one_that_raises():
    X, y = make_classification(n_samples=1500, n_features=10, random_state=1)
    outcome = run_probes([("logistic_regression", {}), ("gaussian_nb", {}), ("knn", {})],
                         pd.DataFrame(X), y, metric="roc_auc", make_model=faulty_factory,
                         deadline=Deadline(2), random_state=0)
    # knn hangs until the probes' deadline: that says nothing of how it would do in the search
    assert outcome.ranking == ["logistic_regression", "knn"]
    assert outcome.dropped == ["gaussian_nb"]


class _SlowOnLargerRungs(DecisionTreeClassifier):
    """A stump that fits 256 rows at once and hangs on anything larger."""

    def fit(self, X, y, **kwargs):  # noqa: N803
        if len(X) > 256:
            time.sleep(30)
        return super().fit(X, y, **kwargs)


def test_a_learner_promoted_to_a_larger_rung_is_kept_when_its_probe_there_is_cut():
    X, y = make_classification(n_samples=1500, n_features=10, random_state=1)

    def factory(name, params):
        if name == "gaussian_nb":
            return DummyClassifier(strategy="prior")
        if name == "decision_tree":
            return _SlowOnLargerRungs(max_depth=1, random_state=0)
        return get_learner(name).build(params, random_state=0)

    outcome = run_probes([("logistic_regression", {}), ("decision_tree", {}),
                          ("gaussian_nb", {})], pd.DataFrame(X), y, metric="roc_auc",
                         make_model=factory, deadline=Deadline(3), random_state=0, eta=2)
    first = {r.learner: r.score for r in outcome.records if r.train_size <= 256}
    assert first["decision_tree"] < first["logistic_regression"] - 0.01  # clearly behind...
    # ...yet among the best half of its rung: successive halving keeps it
    assert outcome.ranking == ["logistic_regression", "decision_tree"]
    assert outcome.dropped == ["gaussian_nb"]


def test_probes_are_skipped_on_small_tables(table):
    X, y = table
    outcome = run_probes([("lightgbm", {}), ("knn", {})], X, y, metric="roc_auc",
                         make_model=faulty_factory, deadline=Deadline(5), random_state=0)
    assert outcome.records == [] and outcome.ranking == ["lightgbm", "knn"]


def test_warm_starts_run_first_with_their_exact_configuration(table):
    X, y = table
    study = make_study(["logistic_regression", "gaussian_nb"], random_state=0, storage=None,
                       study_name=None)
    # C = 1e5 lies outside the search range: it must still be evaluated as recommended.
    enqueue_warm_starts(study, [("logistic_regression", {"C": 1e5}),
                                ("gaussian_nb", {}), ("lightgbm", {})],
                        ["logistic_regression", "gaussian_nb"])
    result = run_study(study, ["logistic_regression", "gaussian_nb"], X, y,
                       splits=make_splits(y, 3, 0), metric="roc_auc",
                       make_model=lambda n, p: get_learner(n).build(p, random_state=0),
                       deadline=Deadline(20), n_trials=3)
    first, second, third = result.records
    assert (first.learner, first.params["C"], first.source) == ("logistic_regression", 1e5,
                                                                "warm-start")
    assert (second.learner, second.source) == ("gaussian_nb", "warm-start")
    assert third.source == "search"
    assert result.best is not None and result.best.evaluation.models


def test_warm_starts_are_evaluated_in_full_while_search_trials_may_be_pruned(table):
    X, y = table
    learners = ["logistic_regression", "decision_tree"]
    study = make_study(learners, random_state=0, storage=None, study_name=None)
    def stumps(leaves):  # distinct weak configurations (equal ones are enqueued once)
        return [("decision_tree", {"limit_depth": True, "max_depth": 1, "min_samples_leaf": n})
                for n in leaves]

    enqueue_warm_starts(study, [("logistic_regression", {"C": c}) for c in (1, 2, 3, 4, 5)]
                        + stumps((1, 2, 3)), learners)
    enqueue_warm_starts(study, stumps((4, 5, 6)), learners, source="search")
    result = run_study(study, learners, X, y, splits=make_splits(y, 3, 0), metric="roc_auc",
                       make_model=lambda n, p: get_learner(n).build(p, random_state=0),
                       deadline=Deadline(30), n_trials=11)
    statuses = [(r.source, r.status) for r in result.records]
    assert statuses[:8] == [("warm-start", "ok")] * 8
    assert ("search", "pruned") in statuses[8:], "the same weak stump is pruned as a search trial"


def test_study_finishes_on_time_when_learners_raise_or_hang(table):
    X, y = table
    learners = ["knn", "gaussian_nb", "logistic_regression"]
    study = make_study(learners, random_state=0, storage=None, study_name=None)
    enqueue_warm_starts(study, [(n, {}) for n in learners], learners)
    tic = time.monotonic()
    result = run_study(study, learners, X, y, splits=make_splits(y, 3, 0), metric="roc_auc",
                       make_model=faulty_factory, deadline=Deadline(4.0))
    assert time.monotonic() - tic < 4.5
    statuses = {(r.learner, r.status) for r in result.records}
    assert ("knn", "timeout") in statuses
    assert ("gaussian_nb", "failed") in statuses
    assert result.best is not None and result.best.learner == "logistic_regression"


class Slow(DummyClassifier):
    """A learner whose every fit takes 0.4 s."""

    def fit(self, X, y, sample_weight=None):  # noqa: N803
        time.sleep(0.4)
        return super().fit(X, y, sample_weight)


def _slow_knn(fold_seconds: float):
    """A model factory: knn fits in ``fold_seconds``, every other learner is the real one."""

    class Slower(Slow):
        def fit(self, X, y, sample_weight=None):  # noqa: N803
            time.sleep(fold_seconds - 0.4)
            return super().fit(X, y, sample_weight)

    def make_model(name, params):
        return Slower() if name == "knn" else get_learner(name).build(params, random_state=0)

    return make_model


def _evaluate_slow(table, built: list, *, expected: float, soft: float | None, hard: float,
                   partial: bool = False):
    X, y = table

    def make_model():
        built.append(1)
        return Slow(strategy="stratified")

    return evaluate(make_model, X, y, make_splits(y, 3, 0), "roc_auc", Deadline(hard),
                    n_classes=2, soft_deadline=None if soft is None else Deadline(soft),
                    expected_time=expected, partial=partial)


def test_a_trial_whose_folds_cannot_all_fit_its_share_is_refused_before_any_fold(table):
    built: list = []
    with pytest.raises(BudgetExceeded, match="3 folds left") as refused:
        _evaluate_slow(table, built, expected=1.2, soft=1.0, hard=10.0)
    assert not refused.value.cut
    assert built == [], "no fold may be fitted (and lost) when the trial as a whole won't fit"


def test_a_started_trial_finishes_its_folds_while_they_fit_the_hard_deadline(table):
    """Fold 1 shows the estimate was low: the two folds left overrun the soft share but fit
    the hard deadline; stopping would throw away the finished fold."""
    built: list = []
    evaluation = _evaluate_slow(table, built, expected=0.1, soft=0.6, hard=5.0)
    assert len(evaluation.fold_scores) == 3


def test_a_trial_that_cannot_finish_stops_between_folds_instead_of_being_cut(table):
    built: list = []
    tic = time.monotonic()
    with pytest.raises(BudgetExceeded, match="2 folds left") as refused:
        _evaluate_slow(table, built, expected=0.1, soft=None, hard=1.0)
    assert not refused.value.cut and len(built) == 1
    assert time.monotonic() - tic < 0.8


def test_a_partial_trial_is_scored_on_the_folds_it_finished(table):
    """The resampling plan is ours ("auto"): the folds done are a holdout estimate, worth
    more than a trial thrown away with the time it took. Since they are kept, the trial goes
    on while its next fold fits (0.4 s folds, 1 s: two folds, not the one after which all
    folds left no longer fitted)."""
    built: list = []
    evaluation = _evaluate_slow(table, built, expected=0.1, soft=None, hard=1.0, partial=True)
    assert len(built) == 2 and len(evaluation.fold_scores) == 2
    assert 0.0 <= evaluation.score <= 1.0
    splits = make_splits(table[1], 3, 0)
    assert evaluation.covered.sum() == len(splits[0][1]) + len(splits[1][1])
    assert len(evaluation.models) == 2


def test_a_partial_trial_keeps_its_finished_folds_when_the_next_one_is_cut(table):
    X, y = table
    fits: list = []

    class SlowerEachTime(DummyClassifier):
        def fit(self, X, y, sample_weight=None):  # noqa: N803
            fits.append(1)
            time.sleep(0.1 if len(fits) == 1 else 5.0)
            return super().fit(X, y, sample_weight)

    evaluation = evaluate(SlowerEachTime, X, y, make_splits(y, 3, 0), "roc_auc", Deadline(1.0),
                          n_classes=2, partial=True)
    assert len(fits) == 2 and len(evaluation.fold_scores) == 1


def _scored(y: np.ndarray, rows: np.ndarray, noise: np.ndarray, seed: int):
    """An evaluation predicting ``rows`` of ``y`` with a per-row noise level."""
    from metasel.search._evaluate import Evaluation

    rng = np.random.default_rng(seed)
    positive = np.clip(y + noise * rng.standard_normal(len(y)), -5, 6)
    oof = np.full((len(y), 2), np.nan)
    oof[rows] = np.column_stack([1 - positive[rows], positive[rows]])
    score = score_proba("roc_auc", y[rows], oof[rows])
    return Evaluation(score, [score], oof, 0.1, 0.1)


@pytest.mark.parametrize("partial_noise, partial_wins", [(0.5, False), (0.05, True)])
def test_a_partial_trial_is_ranked_against_full_ones_on_its_own_rows(partial_noise,
                                                                     partial_wins):
    """Fold 0 is easy for every model: a one-fold score above the best three-fold score
    wins only if it also beats that trial on fold 0's rows."""
    from metasel.search._study import Candidate, SearchResult, _keep_candidate

    y = np.tile([0, 1], 150)
    easy = np.arange(100)
    full_noise = np.where(np.isin(np.arange(300), easy), 0.3, 1.2)
    full = _scored(y, np.arange(300), full_noise, seed=1)
    partial = _scored(y, easy, np.full(300, partial_noise), seed=2)
    full_on_easy = score_proba("roc_auc", y[easy], full.oof[easy])
    assert partial.score > full.score  # the raw scores would pick the partial trial
    assert (partial.score > full_on_easy) == partial_wins
    result = SearchResult(optuna.create_study(direction="maximize"))
    _keep_candidate(result, Candidate(0, "full", {}, full), 5, y, "roc_auc")
    _keep_candidate(result, Candidate(1, "partial", {}, partial), 5, y, "roc_auc")
    assert result.best.learner == ("partial" if partial_wins else "full")
    assert len(result.candidates) == 2


def test_some_candidate_keeps_fold_models_whatever_order_partial_trials_take():
    """Re-ranking partial trials against a new best full one can put first a candidate
    whose fold models were already dropped (primary.tumor, 10 s: the refit was cut and the
    final model fell back to the class priors after 23 trials). The best candidate that
    still has fold models keeps them, as the fallback of a refit that fails."""
    from metasel.search import _study
    from metasel.search._study import Candidate, SearchResult, _keep_candidate

    y = np.tile([0, 1], 60)
    folds = np.array_split(np.arange(len(y)), 3)
    for seed in range(30):
        rng = np.random.default_rng(seed)
        result = SearchResult(optuna.create_study(direction="maximize"))
        for number in range(12):
            rows = np.concatenate(folds[:rng.integers(1, 4)])
            evaluation = _scored(y, rows, rng.uniform(0.2, 2.0, len(y)), seed=100 * seed + number)
            evaluation.models = [np.zeros(_study.FOLD_MODELS_BYTES // 8)]  # the cap, alone
            _keep_candidate(result, Candidate(number, "knn", {}, evaluation), 5, y, "roc_auc")
            holders = [c for c in result.candidates if c.evaluation.models]
            assert len(holders) == 1, (seed, number)


def test_candidates_keep_their_fold_models_in_rank_order_within_the_memory_cap(monkeypatch):
    """Fold models make an ensemble without a refit, but a forest's can hold hundreds of
    megabytes: the best candidates keep theirs while their total stays under the cap, and
    the best one keeps them whatever their size."""
    from metasel.search import _study
    from metasel.search._study import Candidate, SearchResult, _keep_candidate

    monkeypatch.setattr(_study, "FOLD_MODELS_BYTES", 25_000)
    y = np.tile([0, 1], 60)
    result = SearchResult(optuna.create_study(direction="maximize"))
    sizes = {0: 8_000, 1: 8_000, 2: 8_000, 3: 40_000}  # bytes; noise falls: later ranks higher
    for number, size in sizes.items():
        evaluation = _scored(y, np.arange(len(y)), np.full(len(y), 1.5 - 0.4 * number), seed=0)
        evaluation.models = [np.zeros(size // 8)]
        _keep_candidate(result, Candidate(number, "knn", {}, evaluation), 5, y, "roc_auc")
    ranked = [c.number for c in result.candidates]
    holders = [c.number for c in result.candidates if c.evaluation.models]
    assert ranked == [3, 2, 1, 0]
    assert holders == [3]  # the best, over the cap alone
    result.candidates[0].evaluation.models = []  # as if its models were gone
    evaluation = _scored(y, np.arange(len(y)), np.full(len(y), 5.0), seed=0)  # ranked last
    evaluation.models = [np.zeros(1_000)]
    _keep_candidate(result, Candidate(4, "knn", {}, evaluation), 5, y, "roc_auc")
    assert [c.number for c in result.candidates if c.evaluation.models] == [4]


def test_ensemble_selection_leaves_out_partial_trials(table):
    """Selected on the rows every member predicted, an ensemble with a one-fold trial is
    scored on that fold only and then compared with three-fold scores."""
    from metasel.search._probes import ProbeOutcome
    from metasel.search._run import _final_model
    from metasel.search._study import Candidate, SearchResult, _keep_candidate

    X, y = table
    third = np.arange(len(y)) < len(y) // 3
    # two full trials, each good where the other is poor: complementary
    first = _scored(y, np.arange(len(y)), np.where(third, 0.4, 2.0), seed=1)
    second = _scored(y, np.arange(len(y)), np.where(third, 2.0, 0.4), seed=2)
    partial = _scored(y, np.flatnonzero(~third), np.full(len(y), 0.5), seed=3)
    assert partial.score > second.score > first.score  # on its own rows, the partial wins
    result = SearchResult(make_study(["gaussian_nb"], random_state=0, storage=None,
                                     study_name=None))
    for number, evaluation in enumerate([first, second, partial]):
        params = {"var_smoothing": 10.0 ** -(number + 5)}
        _keep_candidate(result, Candidate(number, "gaussian_nb", params, evaluation), 5, y,
                        "roc_auc")
    _, kind, members = _final_model(result, ProbeOutcome(), X, y, SearchSettings(),
                                    Deadline(10.0), 2 / 3)
    assert kind == "ensemble"
    assert {m["params"]["var_smoothing"] for m in members} == {1e-5, 1e-6}


def test_a_selected_ensemble_without_time_to_refit_is_made_of_its_fold_models(table):
    """On large tables the members' refits rarely fit the time left (set D at 30 s: a
    selection beat the best on 6 of 14 tables, none was refitted); their fold models are
    already fitted, and are what the out-of-fold score that chose them measured."""
    from metasel.search._evaluate import Evaluation
    from metasel.search._probes import ProbeOutcome
    from metasel.search._run import _final_model
    from metasel.search._study import Candidate, SearchResult, _keep_candidate

    X, y = table
    third = np.arange(len(y)) < len(y) // 3
    result = SearchResult(make_study(["gaussian_nb"], random_state=0, storage=None,
                                     study_name=None))
    folds = [DummyClassifier(strategy="uniform").fit(X, y) for _ in range(3)]
    for number, noise in enumerate([np.where(third, 0.4, 2.0), np.where(third, 2.0, 0.4)]):
        scored = _scored(y, np.arange(len(y)), noise, seed=number + 1)
        # refits of 100 s each: nothing fits the 10 s budget
        evaluation = Evaluation(scored.score, scored.fold_scores, scored.oof, 100.0, 300.0,
                                folds[number:number + 2])
        _keep_candidate(result, Candidate(number, "gaussian_nb", {}, evaluation), 5, y,
                        "roc_auc")
    model, kind, members = _final_model(result, ProbeOutcome(), X, y, SearchSettings(),
                                        Deadline(10.0), 2 / 3)
    assert kind == "fold-ensemble"
    assert len(members) == 2
    # each member's weight shared among its two fold models
    assert model.weights == pytest.approx([w / 2 for m in members for w in [m["weight"]] * 2])
    assert model.predict_proba(X).shape == (len(y), 2)


def test_model_memory_estimate_sees_compiled_trees_and_boosters():
    """The fold models' memory cap rests on this estimate: a forest's trees live in compiled
    objects and a LightGBM booster in a C++ handle, invisible to a walk over numpy arrays."""
    import pickle

    from sklearn.ensemble import ExtraTreesClassifier

    from metasel.search._footprint import model_nbytes

    X, y = make_classification(n_samples=2_000, n_features=10, flip_y=0.2, random_state=0)
    small, large = (ExtraTreesClassifier(n_estimators=n, random_state=0).fit(X, y)
                    for n in (10, 40))
    assert model_nbytes(large) == pytest.approx(len(pickle.dumps(large)), rel=0.1)
    assert model_nbytes(large) == pytest.approx(4 * model_nbytes(small), rel=0.2)
    booster = get_learner("lightgbm").build({"n_estimators": 200, "num_leaves": 31},
                                            random_state=0).fit(pd.DataFrame(X), y)
    assert model_nbytes(booster) == pytest.approx(len(pickle.dumps(booster)), rel=0.5)


def test_study_stops_when_no_learner_fits_in_the_time_left(table):
    X, y = table
    study = make_study(["gaussian_nb"], random_state=0, storage=None, study_name=None)
    # each trial is 2 folds of 0.4 s; with ~0.2-0.4 s left no fold can start: stop, not spin
    result = run_study(study, ["gaussian_nb"], X, y, splits=make_splits(y, 2, 0),
                       metric="roc_auc", make_model=lambda name, params: Slow(),
                       deadline=Deadline(2.0))
    refused = [r for r in result.records if "time left" in r.error]
    assert [r.status for r in result.records].count("ok") >= 1
    assert len(refused) <= 1


def test_study_goes_on_to_other_learners_when_its_first_trial_is_too_slow_to_finish(table):
    """Measured on vehicle (10 s): a first HGB trial stopped after one 2.5 s fold, every
    other learner was then guessed as slow as that fold, and the fit ended with no model."""
    X, y = table

    make_model = _slow_knn(2.2)
    learners = ["knn", "logistic_regression"]
    study = make_study(learners, random_state=0, storage=None, study_name=None)
    enqueue_warm_starts(study, [("knn", {})], learners)
    result = run_study(study, learners, X, y, splits=make_splits(y, 3, 0), metric="roc_auc",
                       make_model=make_model, deadline=Deadline(6.0))
    assert result.records[0].learner == "knn" and result.records[0].status == "timeout"
    assert result.best is not None and result.best.learner == "logistic_regression"


def test_the_last_trial_may_use_all_the_time_left_when_none_fits_its_share(table):
    """Measured on cmc (10 s): a 2.4 s MLP trial with 2.8 s left exceeded the 30 % share
    (floored at 2 s), so the study stopped with 4.4 s of the budget unused."""
    X, y = table

    study = make_study(["knn"], random_state=0, storage=None, study_name=None)
    result = run_study(study, ["knn"], X, y, splits=make_splits(y, 3, 0), metric="roc_auc",
                       make_model=_slow_knn(0.8), n_trials=3,
                       deadline=Deadline(5.6))
    assert [r.status for r in result.records][:2] == ["ok", "ok"]


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_a_refused_proposal_steers_the_next_trial_to_a_learner_that_fits(table):
    """Measured on diabetes (30 s): TPE proposed its best learner (MLP) six times in a row
    after it no longer fit; five refusals ended the study with 10 s left."""
    X, y = table

    make_model = _slow_knn(0.8)
    learners = ["knn", "logistic_regression"]
    sampler = optuna.samplers.PartialFixedSampler({"learner": "knn"},
                                                  optuna.samplers.RandomSampler(seed=0))
    study = optuna.create_study(direction="maximize", sampler=sampler)
    result = run_study(study, learners, X, y, splits=make_splits(y, 3, 0), metric="roc_auc",
                       make_model=make_model, deadline=Deadline(6.0), n_trials=4)
    statuses = [(r.learner, r.status) for r in result.records]
    assert statuses[:3] == [("knn", "ok"), ("knn", "skipped"), ("logistic_regression", "ok")]


def _refusing_study(table, n_trials: int):
    """knn runs once (2.4 s) and is then too slow for the time left: the sampler, fixed on
    knn, has every later proposal of it refused."""
    X, y = table
    sampler = optuna.samplers.PartialFixedSampler({"learner": "knn"},
                                                  optuna.samplers.RandomSampler(seed=0))
    study = optuna.create_study(direction="maximize", sampler=sampler)
    result = run_study(study, ["knn", "logistic_regression"], X, y,
                       splits=make_splits(y, 3, 0), metric="roc_auc",
                       make_model=_slow_knn(0.8), deadline=Deadline(6.0), n_trials=n_trials)
    return study, result


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_a_refused_proposal_is_told_to_tpe_as_worse_than_the_lone_success(table):
    """Measured on abalone (10 s): told the lone success's own score, refused MLP proposals
    looked as good as the best trial, and TPE proposed MLP in 10 of 24 trials."""
    study, result = _refusing_study(table, n_trials=2)
    assert [(r.learner, r.status) for r in result.records][:2] == [("knn", "ok"),
                                                                   ("knn", "skipped")]
    assert study.trials[1].value < study.trials[0].value


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_n_trials_counts_the_trials_that_ran_not_the_refused_proposals(table):
    _, result = _refusing_study(table, n_trials=3)
    statuses = [r.status for r in result.records]
    assert statuses.count("skipped") >= 2  # knn refused each time it was proposed
    assert len(statuses) - statuses.count("skipped") == 3
    refused = next(r for r in result.records if r.status == "skipped")
    assert refused.duration < 0.1 and "expected to take" in refused.error


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_a_learner_never_run_is_tried_when_only_guesses_from_a_slow_one_say_nothing_fits(
        table):
    """Measured on spectrometer (60 s, cold): one 16 s gradient boosting fold made every
    learner not run yet look as slow, and the fit ended after one trial with 20 s unused."""
    X, y = table
    learners = ["knn", "logistic_regression"]
    sampler = optuna.samplers.PartialFixedSampler({"learner": "knn"},
                                                  optuna.samplers.RandomSampler(seed=0))
    study = optuna.create_study(direction="maximize", sampler=sampler)
    # after the 6 s knn trial about 2.5 s are left (past the reserve): less than a knn fold
    result = run_study(study, learners, X, y, splits=make_splits(y, 2, 0), metric="roc_auc",
                       make_model=_slow_knn(3.0), deadline=Deadline(11.0), n_trials=3,
                       reserve=lambda found: 2.5 if found.best else 0.0)
    statuses = [(r.learner, r.status) for r in result.records]
    assert statuses[:3] == [("knn", "ok"), ("knn", "skipped"), ("logistic_regression", "ok")]


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_a_learner_queued_to_be_tried_is_not_lost_behind_refused_warm_starts(table):
    """Measured on house8L (10 s): after a 4.3 s extra-trees trial, its next warm start was
    refused and a never-run learner queued behind the last warm start; that one was
    refused too, and the study stopped with 3.3 s left before the queued learner ran."""
    X, y = table
    learners = ["knn", "logistic_regression"]
    study = make_study(learners, random_state=0, storage=None, study_name=None,
                       startup_trials=3)
    enqueue_warm_starts(study, [("knn", {"n_neighbors": k}) for k in (5, 10, 15)], learners)
    result = run_study(study, learners, X, y, splits=make_splits(y, 2, 0), metric="roc_auc",
                       make_model=_slow_knn(3.0), deadline=Deadline(11.0), n_trials=3,
                       reserve=lambda found: 2.5 if found.best else 0.0)
    statuses = [(r.learner, r.status) for r in result.records]
    assert statuses[:4] == [("knn", "ok"), ("knn", "skipped"), ("knn", "skipped"),
                            ("logistic_regression", "ok")]


def test_search_resumes_a_study_from_an_optuna_storage(table, tmp_path):
    X, y = table
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    plan = Plan(["logistic_regression"], warm_starts=[("logistic_regression", {"C": 0.5})])
    settings = SearchSettings(n_trials=2, random_state=0, storage=storage, study_name="s",
                              ensemble_size=0)
    search(X, y, plan, settings, Deadline(20))
    second = search(X, y, plan, settings, Deadline(20))
    trials = optuna.load_study(study_name="s", storage=storage).trials
    assert len(trials) == 4
    warm = [t for t in trials if t.user_attrs.get("metasel_source") == "warm-start"]
    assert len(warm) == 1, "a resumed search must not re-run its warm starts"
    assert second.best_config["learner"] == "logistic_regression"


def test_search_enqueues_the_first_warm_starts_and_lets_tpe_model_right_after(table):
    X, y = table
    from metasel.search._run import WARM_STARTS

    plan = Plan(["logistic_regression"],
                warm_starts=[("logistic_regression", {"C": 2.0 ** i}) for i in range(8)])
    outcome = search(X, y, plan, SearchSettings(n_trials=WARM_STARTS + 1, random_state=0,
                                                ensemble_size=0), Deadline(60))
    sources = outcome.leaderboard["source"].tolist()
    assert sources == ["warm-start"] * WARM_STARTS + ["search"]
    assert outcome.study.sampler._n_startup_trials == WARM_STARTS


def test_search_always_returns_a_model_even_without_any_finished_trial(table):
    X, y = table
    plan = Plan(["knn"], warm_starts=[("knn", {})])
    import metasel.search._run as run_module

    original = run_module._factory
    run_module._factory = lambda random_state: faulty_factory
    try:
        with pytest.warns(UserWarning, match="class priors"):
            outcome = search(X, y, plan, SearchSettings(random_state=0), Deadline(2.5))
    finally:
        run_module._factory = original
    assert outcome.kind == "prior"
    assert outcome.model.predict_proba(X).shape == (len(y), 2)


def test_study_stops_after_a_few_proposals_in_a_row_that_no_longer_fit(table):
    """Near the end of a budget the sampler keeps proposing the best (slow) learner; a fast
    one could still run, so the fastest-fold rule alone does not stop the study."""
    X, y = table
    learners = ["gaussian_nb", "logistic_regression"]
    study = make_study(learners, random_state=0, storage=None, study_name=None)
    enqueue_warm_starts(study, [(n, {}) for n in learners], learners)

    def make_model(name, params):
        return Slow(strategy="stratified") if name == "gaussian_nb" else DummyClassifier()

    result = run_study(study, learners, X, y, splits=make_splits(y, 2, 0), metric="roc_auc",
                       make_model=make_model, deadline=Deadline(3.0))
    statuses = [r.status for r in result.records]
    runs = "".join("r" if "time left" in r.error else "." for r in result.records)
    assert "r" * (MAX_REFUSALS_IN_A_ROW + 1) not in runs, statuses
    assert statuses.count("ok") >= 2


def test_warm_plan_interleaves_configurations_and_skips_learners_over_their_row_limit():
    class Rec:
        def __init__(self, learner, configurations):
            self.learner, self.configurations = learner, configurations

    recs = [Rec("rbf_svc", [{"C": 2.0}]), Rec("lightgbm", [{"num_leaves": 7}, {"num_leaves": 9}]),
            Rec("knn", [])]
    plan = warm_plan(recs, n_rows=50_000)
    assert plan.learners == ["lightgbm", "knn"]
    assert plan.warm_starts == [("lightgbm", {"num_leaves": 7}),
                                ("knn", get_learner("knn").default_params()),
                                ("lightgbm", {"num_leaves": 9})]


def test_warm_plan_runs_the_recommended_first_trials_first_then_round_robin():
    class Rec:
        def __init__(self, learner, configurations, first_trials):
            self.learner, self.configurations = learner, configurations
            self.first_trials = first_trials

    recs = [Rec("extra_trees", [{"n_estimators": 50}, {"n_estimators": 60}], [3]),
            Rec("lightgbm", [{"num_leaves": 7}, {"num_leaves": 9}, {"num_leaves": 11}], [1, 2]),
            Rec("knn", [{"n_neighbors": 3}], [])]
    plan = warm_plan(recs, n_rows=1_000)
    assert plan.warm_starts == [("lightgbm", {"num_leaves": 7}), ("lightgbm", {"num_leaves": 9}),
                                ("extra_trees", {"n_estimators": 50}), ("knn", {"n_neighbors": 3}),
                                ("extra_trees", {"n_estimators": 60}),
                                ("lightgbm", {"num_leaves": 11})]
    assert plan.probes[1] == ("lightgbm", {"num_leaves": 7})
    # probes that rank extra_trees first and drop knn keep the first trials as a set
    after = plan.reorder(["extra_trees", "lightgbm"])
    assert after.warm_starts == [("extra_trees", {"n_estimators": 50}),
                                 ("lightgbm", {"num_leaves": 7}), ("lightgbm", {"num_leaves": 9}),
                                 ("extra_trees", {"n_estimators": 60}),
                                 ("lightgbm", {"num_leaves": 11})]
    assert after.n_first == 3
    # probes that drop every learner of the set but lightgbm, and rank knn first: knn's top
    # configuration (the one probed) leads the first trials
    led = plan.reorder(["knn", "lightgbm"])
    assert led.warm_starts[:3] == [("knn", {"n_neighbors": 3}), ("lightgbm", {"num_leaves": 7}),
                                   ("lightgbm", {"num_leaves": 9})]
    assert led.n_first == 3


def test_parallel_folds_give_the_same_out_of_fold_predictions(table):
    from metasel.search import evaluate

    X, y = table
    splits = make_splits(y, 4, random_state=0)

    def run(n_jobs):
        return evaluate(lambda: get_learner("logistic_regression").build({}, random_state=0),
                        X, y, splits, "roc_auc", Deadline(20), n_classes=2, n_jobs=n_jobs)

    serial, parallel = run(1), run(2)
    np.testing.assert_allclose(serial.oof, parallel.oof)
    assert serial.score == pytest.approx(parallel.score)
    assert len(parallel.models) == 4


def test_study_stops_at_once_when_every_learner_is_banned(table):
    X, y = table
    learners = ["gaussian_nb"]
    study = make_study(learners, random_state=0, storage=None, study_name=None)
    tic = time.monotonic()
    result = run_study(study, learners, X, y, splits=make_splits(y, 3, 0), metric="roc_auc",
                       make_model=faulty_factory, deadline=Deadline(5.0))
    assert time.monotonic() - tic < 2.0
    assert [r.status for r in result.records] == ["failed", "failed", "skipped"]


def test_cut_and_banned_trials_teach_tpe_a_bad_score_and_a_learner_cut_twice_is_banned(table, monkeypatch):
    from _faulty_learners import Hanging

    import metasel.search._study as study_module

    monkeypatch.setattr(study_module, "MIN_TRIAL_S", 0.3)
    monkeypatch.setattr(study_module, "HARD_TRIAL_SHARE", 0.1)
    X, y = table
    learners = ["logistic_regression"]
    study = make_study(learners, random_state=0, storage=None, study_name=None)
    # the first configuration is fast; every other one hangs (a region too slow to finish)
    enqueue_warm_starts(study, [("logistic_regression", {"C": c}) for c in (1.0, 0.5, 0.25, 2.0)],
                        learners)

    def factory(name, params):
        return get_learner(name).build(params, random_state=0) if params["C"] == 1.0 else Hanging()

    tic = time.monotonic()
    result = run_study(study, learners, X, y, splits=make_splits(y, 2, 0), metric="roc_auc",
                       make_model=factory, deadline=Deadline(20.0))
    assert time.monotonic() - tic < 6.0
    assert [r.status for r in result.records] == ["ok", "timeout", "timeout", "skipped"]
    ok_score = result.records[0].score
    # both cuts and the banned learner's skipped proposal are told to TPE as worse than any
    # score (here the only one)
    penalised = [t for t in study.trials if study_module.PENALTY_ATTR in t.user_attrs]
    assert [t.number for t in penalised] == [1, 2, 3]
    assert all(t.state == optuna.trial.TrialState.COMPLETE and t.value < ok_score
               for t in penalised)
    assert result.best.learner == "logistic_regression" and result.best.evaluation.score == ok_score


def test_budget_exceeded_says_whether_running_work_was_cut():
    with pytest.raises(BudgetExceeded) as cut:
        run_with_timeout(lambda: time.sleep(5), 0.1)
    assert cut.value.cut
    with pytest.raises(BudgetExceeded) as not_started:
        Deadline(0.0).check("fold")
    assert not not_started.value.cut


def test_the_last_refit_is_tried_when_only_its_safety_margin_does_not_fit(table):
    """A refit estimated (with its safety factor) just past the time left is still tried:
    that time has no other use, and an overrun would fall back as before. Before, the fit
    ended seconds early on a fold model."""
    from metasel.search._evaluate import Evaluation
    from metasel.search._probes import ProbeOutcome
    from metasel.search._run import REFIT_SAFETY, _final_model
    from metasel.search._study import Candidate, SearchResult

    X, y = table
    train_share = 2 / 3
    plain = 0.8  # seconds the refit is estimated to take, without the safety factor
    fold_model = get_learner("gaussian_nb").build({}, random_state=0).fit(X, y)
    evaluation = Evaluation(0.9, [0.9], np.full((len(y), 2), 0.5), plain * train_share, 0.1,
                            [fold_model])
    result = SearchResult(study=make_study(["gaussian_nb"], random_state=0, storage=None,
                                           study_name=None))
    result.candidates.append(Candidate(0, "gaussian_nb", {}, evaluation))
    deadline = Deadline(plain * (1 + REFIT_SAFETY) / 2)  # between plain and safe estimate
    _, kind, _ = _final_model(result, ProbeOutcome(), X, y, SearchSettings(ensemble_size=1),
                              deadline, train_share)
    assert kind == "refit", "not the fold-model fallback"


def test_a_first_trial_may_run_past_half_the_time_left_while_no_model_exists(table):
    """With no model yet, the top recommendation ending late beats a cut; before, every
    trial on a large table was cut at half of what was left and the fit ended on a probe."""
    X, y = table
    study = make_study(["knn"], random_state=0, storage=None, study_name=None)
    enqueue_warm_starts(study, [("knn", {})], ["knn"])
    holdout = make_splits(y, 3, 0)[:1]
    result = run_study(study, ["knn"], X, y, splits=holdout, metric="roc_auc",
                       make_model=_slow_knn(2.6), deadline=Deadline(4.0), n_trials=1)
    assert [r.status for r in result.records] == ["ok"]


@pytest.fixture(scope="module")
def wide_table() -> tuple[pd.DataFrame, np.ndarray]:
    """Large enough that a 512-tree forest needs far more than a second per fold."""
    X, y = make_classification(n_samples=6000, n_features=30, n_informative=10, random_state=0)
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(30)]), y


def _trees_for(table, seconds: float, train: np.ndarray) -> int:
    """How many random-forest trees this machine grows on ``train`` in ``seconds``."""
    X, y = table
    tic = time.monotonic()
    get_learner("random_forest").build({"n_estimators": 16}).fit(X.iloc[train], y[train])
    return int(seconds * 16 / (time.monotonic() - tic))


def _forest_trial(table, trees_per_allowance: float):
    """One random-forest trial on a holdout split, 4 s: sized to ``trees_per_allowance``
    times what its fold may grow (0.8 x the first trial's 3 s), at this machine's pace."""
    X, y = table
    holdout = make_splits(y, 3, 0)[:1]
    trees = _trees_for(table, trees_per_allowance * 0.8 * 3.0, holdout[0][0])
    study = make_study(["random_forest"], random_state=0, storage=None, study_name=None)
    enqueue_warm_starts(study, [("random_forest", {"n_estimators": trees})], ["random_forest"])
    tic = time.monotonic()
    result = run_study(study, ["random_forest"], X, y, splits=holdout, metric="roc_auc",
                       make_model=lambda n, p: get_learner(n).build(p),
                       deadline=Deadline(4.0), n_trials=1)
    assert time.monotonic() - tic < 4.0
    return result, trees


@pytest.mark.parametrize("partial", [False, True])
def test_forests_too_big_for_their_folds_share_the_time_or_score_the_folds_done(
        wide_table, partial):
    """A user's folds are all needed: each grows in a third of the time; under our own
    plan the first fold may grow in all of it and the trial is scored on that fold (as
    when a full-size fold ended late), rather than each fold in a third and all too small."""
    X, y = wide_table
    splits = make_splits(y, 3, 0)
    trees = _trees_for(wide_table, 2 * 0.8 * 3.0 / (1 if partial else 3), splits[0][0])
    evaluation = evaluate(lambda: get_learner("random_forest").build({"n_estimators": trees}),
                          X, y, splits, "roc_auc", Deadline(3.0), n_classes=2, partial=partial)
    assert len(evaluation.fold_scores) == (1 if partial else 3)
    assert all(trees // 4 <= grown_params(m)["n_estimators"] < trees for m in evaluation.models)


def test_a_forest_too_big_for_its_trial_ends_in_time_with_the_trees_it_grew(wide_table):
    """Before, such a trial was cut and lost (letter at 10 s: the recommended 287-tree extra
    forest was cut and the fit ended on a probe model); now its score, its record and its
    refit all belong to the forest grown within the trial's time."""
    result, trees = _forest_trial(wide_table, 2.0)
    [record] = result.records
    assert record.status == "ok"
    assert trees // 4 <= record.params["n_estimators"] < trees
    assert result.best.params == record.params, "the refit grows what was scored"


def test_a_forest_that_grew_a_small_share_of_its_trees_counts_as_cut(wide_table):
    """A few trees of a big configuration are no fair sample of it (nursery at 30 s: an HGB
    grown to 1 of its 21 rounds scored 0.82 and taught TPE that HGB was bad)."""
    result, _ = _forest_trial(wide_table, 20.0)
    assert [r.status for r in result.records] == ["timeout"] and result.best is None


def test_probes_share_their_time_so_an_expensive_one_cannot_starve_the_others(wide_table):
    X, y = wide_table
    outcome = run_probes([("random_forest", {"n_estimators": 512, "max_features": 1.0}),
                          ("gaussian_nb", {})], X, y, metric="roc_auc",
                         make_model=lambda n, p: get_learner(n).build(p, random_state=0),
                         deadline=Deadline(0.6), random_state=0)
    forest, bayes = [r for r in outcome.records if r.rung == 0]
    assert forest.duration < 0.45 and bayes.status == "ok"


def test_no_time_is_kept_for_a_refit_that_no_longer_fits(table):
    """A 60,000-row fit at 20 s kept 16 s for a refit that 5 s could not hold, so its study
    stopped and the fit ended 5 s early on the fold model of its one trial."""
    from metasel.search._evaluate import Evaluation
    from metasel.search._run import _reserve
    from metasel.search._study import Candidate, SearchResult

    def reserve(fold_fit_time: float, deadline: Deadline) -> float:
        result = SearchResult(study=None)
        evaluation = Evaluation(0.9, [0.9], np.zeros((1, 2)), fold_fit_time, 0.0)
        result.candidates.append(Candidate(0, "gaussian_nb", {}, evaluation))
        return _reserve(result, SearchSettings(ensemble_size=1), 0.5, deadline)

    slack = reserve(0.0, Deadline(10.0))
    assert reserve(2.0, Deadline(10.0)) > slack + 4.0  # a 4 s refit that fits is kept
    assert reserve(6.0, Deadline(10.0)) == pytest.approx(slack)  # a 12 s one is not


def test_a_cut_lightgbm_fit_is_asked_to_stop_not_interrupted(wide_table):
    """An exception raised inside LightGBM's wrapper could free a native handle twice (a
    segfault in Booster.__del__ on a loaded machine): a cut LightGBM thread is asked to end
    at its next round instead, and does."""
    X, y = wide_table
    model = get_learner("lightgbm").build({"n_estimators": 1024, "num_leaves": 512,
                                           "learning_rate": 0.01})
    tic = time.monotonic()
    with pytest.raises(BudgetExceeded, match="cut after"):
        run_with_timeout(lambda: model.fit(X, y), 0.3, "lgbm-cut")
    assert time.monotonic() - tic < 1.0
    for _ in range(200):  # the abandoned thread ends at its next round
        if not _alive("metasel-lgbm-cut"):
            break
        time.sleep(0.01)
    assert not _alive("metasel-lgbm-cut")


@pytest.mark.parametrize("probed", [True, False])
def test_probe_times_keep_a_fast_learner_in_play_after_a_slow_trial(table, probed):
    """Measured on cal.housing (10 s): after one 4.4 s MLP trial every other learner was
    guessed as slow as its fold, and the study stopped with 3.6 s left, although LightGBM's
    probe had taken 0.4 of the MLP's. With the probes' times the guess scales."""
    X, y = table
    learners = ["knn", "logistic_regression"]
    study = make_study(learners, random_state=0, storage=None, study_name=None)
    enqueue_warm_starts(study, [("knn", {})], learners)
    costs = {"knn": 1.0, "logistic_regression": 0.05} if probed else None
    # the knn trial ends after its first 1.5 s fold (the second no longer fits), 1.1 s left
    result = run_study(study, learners, X, y, splits=make_splits(y, 2, 0), metric="roc_auc",
                       make_model=_slow_knn(1.5), deadline=Deadline(2.6), partial=True,
                       probe_costs=costs)
    assert (result.records[0].learner, result.records[0].status) == ("knn", "ok")
    ran = [r.learner for r in result.records if r.status == "ok"]
    assert ("logistic_regression" in ran) == probed


@pytest.mark.parametrize("partial", [True, False])
def test_the_last_trial_runs_on_the_folds_that_fit_when_a_full_one_does_not(table, partial):
    """1 s folds, 4.6 s: after a full 3-fold trial 1.6 s are left, too little for another
    but enough for one fold. With the resampling ours ("auto"), that fold is run and scored
    rather than the time left unused; with a user's folds, no trial may be partial."""
    X, y = table
    study = make_study(["knn"], random_state=0, storage=None, study_name=None)
    enqueue_warm_starts(study, [("knn", {})], ["knn"])
    result = run_study(study, ["knn"], X, y, splits=make_splits(y, 3, 0), metric="roc_auc",
                       make_model=_slow_knn(1.0), deadline=Deadline(4.6), partial=partial)
    folds = [len(r.fold_scores) for r in result.records if r.status == "ok"]
    assert folds == ([3, 1] if partial else [3])
