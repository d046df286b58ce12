"""benchmarks/boosting_rescale.py: the variants it compares and its report."""

from __future__ import annotations

import pandas as pd


def test_each_share_gives_a_rescaled_and_a_truncated_variant_of_equal_rounds(benchmark_script):
    boosting_rescale = benchmark_script("boosting_rescale")
    params = {"n_estimators": 800, "learning_rate": 0.01, "num_leaves": 31}
    found = {(variant, k): config for variant, k, config in
             boosting_rescale.variants(params, "n_estimators")}
    assert found[("full", 1)] == params
    assert found[("rescaled", 4)] == {**params, "n_estimators": 200, "learning_rate": 0.04}
    assert found[("truncated", 4)] == {**params, "n_estimators": 200}
    # an eighth of 64 rounds is fewer than rescaling goes down to (16)
    few = {k for variant, k, _ in boosting_rescale.variants(
        {"n_estimators": 64, "learning_rate": 0.01}, "n_estimators") if variant != "full"}
    assert few == {2, 4}


def test_the_report_gives_each_variants_loss_and_time_share(benchmark_script):
    boosting_rescale = benchmark_script("boosting_rescale")

    def row(dataset, variant, k, auc, seconds):
        return {"dataset": dataset, "seed": 0, "learner": "lightgbm", "variant": variant,
                "k": k, "roc_auc": auc, "seconds": seconds}

    rows = pd.DataFrame([row("a", "full", 1, 0.90, 8.0), row("a", "rescaled", 4, 0.89, 2.0),
                         row("a", "truncated", 4, 0.85, 2.0),
                         row("b", "full", 1, 0.80, 4.0), row("b", "rescaled", 4, 0.80, 1.0),
                         row("b", "truncated", 4, 0.77, 1.0)])
    lines = {tuple(line.split(" | ")[1:3]): line for line in
             boosting_rescale.report(rows).splitlines()[2:]}
    assert lines[("4", "rescaled")].split(" | ")[3:5] == ["2", "-0.0050 [-0.0100, +0.0000]"]
    assert lines[("4", "truncated")].split(" | ")[5] == "-0.0400"
    assert lines[("4", "rescaled")].endswith("| 0.25 |")
