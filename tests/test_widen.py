"""metasel.search._widen: the study searches more than the top learners only when many trials fit."""

from __future__ import annotations

import numpy as np
import pytest

from metasel.search import Deadline, Plan, ProbeRecord, SearchSettings, search, warm_plan
from metasel.search._widen import (
    TRIALS_PER_LEARNER,
    expected_trials,
    learner_count,
    probe_fold_seconds,
)


def _plan() -> Plan:
    return Plan(["logistic_regression", "gaussian_nb"],
                warm_starts=[("logistic_regression", {}), ("gaussian_nb", {})],
                more=["decision_tree", "knn"])


def test_learner_count_adds_a_learner_per_trials_per_learner_expected_trials():
    plan = _plan()
    assert learner_count(plan, 0.0) == 2
    assert learner_count(plan, 2.9 * TRIALS_PER_LEARNER) == 2
    assert learner_count(plan, 3 * TRIALS_PER_LEARNER) == 3
    assert learner_count(plan, 1_000 * TRIALS_PER_LEARNER) == 4
    assert plan.widened(3) == ["logistic_regression", "gaussian_nb", "decision_tree"]


def test_expected_trials_count_batches_of_folds_and_respect_the_trial_cap():
    splits = [(np.arange(2), np.arange(2))] * 3
    assert expected_trials(0.1, splits, n_jobs=1, seconds=30, n_trials=None) == pytest.approx(100)
    assert expected_trials(0.1, splits, n_jobs=3, seconds=30, n_trials=None) == pytest.approx(300)
    assert expected_trials(0.1, splits, n_jobs=1, seconds=30, n_trials=20) == 20
    assert expected_trials(None, splits, n_jobs=1, seconds=30, n_trials=None) == 0


def test_probe_pace_scales_the_first_rung_to_the_fold_rows():
    records = [ProbeRecord("lightgbm", {}, 0, 256, 0.9, 0.2),
               ProbeRecord("knn", {}, 0, 256, 0.8, 0.1),
               ProbeRecord("mlp", {}, 0, 256, 0.7, 9.0, status="timeout"),
               ProbeRecord("lightgbm", {}, 1, 768, 0.9, 5.0)]
    assert probe_fold_seconds(records, 1024) == pytest.approx(0.6)  # median of 0.8 and 0.4
    assert probe_fold_seconds(records[2:3], 1024) is None


def test_warm_plan_keeps_the_other_eligible_learners_in_rank_order_through_probes():
    class Rec:
        def __init__(self, learner):
            self.learner, self.configurations = learner, []

    names = ["lightgbm", "rbf_svc", "knn", "extra_trees", "mlp", "random_forest", "gaussian_nb"]
    plan = warm_plan([Rec(n) for n in names], n_rows=50_000, top=3)
    assert plan.learners == ["lightgbm", "knn", "extra_trees"]  # rbf_svc: too many rows
    assert plan.more == ["mlp", "random_forest", "gaussian_nb"]
    assert plan.reorder(["knn", "lightgbm"]).more == plan.more


def _searched(outcome) -> list[str]:
    return list(outcome.study.trials[0].distributions["learner"].choices)


def test_search_widens_to_the_next_learners_only_when_many_trials_fit(table):
    X, y = table
    wide = search(X, y, _plan(), SearchSettings(n_trials=4 * TRIALS_PER_LEARNER, random_state=0,
                                                ensemble_size=0), Deadline(30))
    assert _searched(wide) == ["logistic_regression", "gaussian_nb", "decision_tree", "knn"]
    narrow = search(X, y, _plan(), SearchSettings(n_trials=TRIALS_PER_LEARNER, random_state=0,
                                                  ensemble_size=0), Deadline(30))
    assert _searched(narrow) == ["logistic_regression", "gaussian_nb"]
