"""benchmarks/refit_vs_fold_models.py's report: refit minus fold models, per resampling plan."""

from __future__ import annotations

import pandas as pd


def test_the_report_gives_the_refit_gain_per_resampling_plan(benchmark_script):
    refit_vs_fold_models = benchmark_script("refit_vs_fold_models")

    def row(dataset, n_folds, folds_auc, refit_auc):
        return {"dataset": dataset, "seed": 0, "n_folds": n_folds, "learner": "mlp",
                "fold_models_auc": folds_auc, "refit_auc": refit_auc,
                "folds_s": 3.0 * n_folds, "refit_s": 4.0}

    rows = pd.DataFrame([row("a", 3, 0.90, 0.92), row("b", 3, 0.80, 0.79),
                         row("c", 1, 0.70, 0.7005)])
    lines = {line.split(" | ")[0]: line for line in
             refit_vs_fold_models.report(rows).splitlines() if line.startswith("| ")}
    assert lines["| 3 folds"].split(" | ")[1:3] == ["2", "+0.0050 [-0.0100, +0.0200]"]
    assert "| 1/0/1 |" in lines["| 3 folds"] and "| 0/1/0 |" in lines["| holdout"]
    assert lines["| holdout"].endswith("| 1.33 |")  # refit 4 s against one 3 s fold
