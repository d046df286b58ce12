"""benchmarks/outer_efficiency.py's summary: each run against the cold 50-trial model."""

from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture()
def outer_efficiency(benchmark_script):
    return benchmark_script("outer_efficiency")


def test_runs_are_compared_with_the_cold_50_trial_model_on_the_same_pairs(outer_efficiency):
    def row(dataset, method, cap, auc, error=""):
        return {"dataset": dataset, "seed": 0, "method": method, "cap": cap, "roc_auc": auc,
                "balanced_accuracy": auc, "fit_time": 1.0, "error": error}

    df = pd.DataFrame([
        row("a", "optuna_cold", 50, 0.90), row("a", "metasel", 5, 0.9005),  # tie
        row("b", "optuna_cold", 50, 0.80), row("b", "metasel", 5, 0.82),    # win
        row("c", "optuna_cold", 50, 0.70), row("c", "metasel", 5, 0.69),    # loss
        row("d", "optuna_cold", 50, 0.60), row("d", "metasel", 5, 0.99, error="boom"),
    ])
    summary = outer_efficiency.against_reference(df).set_index(["metric", "run"])
    warm = summary.loc[("roc_auc", "metasel@5")]
    assert warm["n"] == 3  # the failed run's pair is left out, not scored as a win
    assert warm["w/t/l"] == "1/1/1"
    assert warm["at_least_tie"] == pytest.approx(2 / 3)
    assert warm["median_diff"] == pytest.approx(0.0005)
    assert warm["mean_reference"] == pytest.approx(0.80)
    assert summary.loc[("roc_auc", "optuna_cold@50"), "w/t/l"] == "0/4/0"


def test_jobs_are_ordered_dataset_by_dataset_and_skip_finished_runs(outer_efficiency):
    done = {("x", "metasel", cap, 0) for cap in (1, 2, 3, 4, 5)}
    jobs = outer_efficiency.pending_jobs(["x", "y"], [0], done)
    assert [(j["dataset"], j["method"], j["cap"]) for j in jobs[:4]] == [
        ("x", "metasel", 10), ("x", "optuna_cold", 5), ("x", "optuna_cold", 50),
        ("x", "optuna_cold_reseeded", 50)]
    assert all(j["n_trials"] == j["cap"] for j in jobs)
    assert len(jobs) == 4 + 9  # x: the four not done; y: all nine runs


def test_trials_to_reach_counts_from_the_cap_after_which_every_model_reaches(
        outer_efficiency):
    def rows(dataset, reference, warm, yardstick):
        return [{"dataset": dataset, "seed": 0, "method": method, "cap": cap, "roc_auc": auc,
                 "balanced_accuracy": auc, "error": ""}
                for method, cap, auc in [("optuna_cold", 50, reference),
                                         ("optuna_cold_reseeded", 50, yardstick),
                                         *(("metasel", k, s) for k, s in warm.items())]]

    df = pd.DataFrame([
        # reached in a tie from 2 on, exactly from 3 on
        *rows("a", 0.90, {1: 0.80, 2: 0.8995, 3: 0.95, 5: 0.91, 10: 0.92}, 0.95),
        # reached at 1, lost at 2: counts from 5, not 1
        *rows("b", 0.80, {1: 0.81, 2: 0.70, 5: 0.80, 10: 0.85}, 0.70),
        *rows("c", 0.70, {1: 0.60, 5: 0.60, 10: 0.71}, 0.70),  # only at 10
        *rows("d", 0.60, {1: 0.61, 5: 0.62, 10: 0.55}, 0.50),  # lost again at 10: never
    ])
    reach = outer_efficiency.trials_to_reach(df).set_index(["metric", "tolerance"])
    tie = reach.loc[("roc_auc", outer_efficiency.TIE)]
    assert tie["per_pair"] == "2 5 10 -"
    assert tie["median_trials_to_reach"] == 7.5
    assert tie["reached_at_5"] == 0.75
    assert tie["yardstick_reaches"] == 0.5
    assert reach.loc[("roc_auc", 0.0), "per_pair"] == "3 5 10 -"
