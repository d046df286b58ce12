"""benchmarks/outer_efficiency.py's summary: each run against the cold 50-trial model."""

from __future__ import annotations

import importlib
from pathlib import Path

import pandas as pd
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture()
def outer_efficiency(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the script imports compare.py beside it
    return importlib.import_module("outer_efficiency")


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
    done = {("x", "metasel", 5, 0)}
    jobs = outer_efficiency.pending_jobs(["x", "y"], [0], done)
    assert [(j["dataset"], j["method"], j["cap"]) for j in jobs[:3]] == [
        ("x", "optuna_cold", 5), ("x", "metasel", 10), ("x", "optuna_cold", 50)]
    assert all(j["n_trials"] == j["cap"] for j in jobs)
    assert len(jobs) == 7
