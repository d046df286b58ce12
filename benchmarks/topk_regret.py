"""Does the ranking know when its top five are not enough? Leave-one-group-out, per held-out
dataset of the default KB: the shipped ranker's utilities for the zoo's learners, the
best-of-top-k regret (ROC AUC lost by searching only the k best-ranked learners, on the KB's
measured scores), and how that regret varies with the predicted gap between the 1st and the
6th learner. A small gap (an "indifferent" ranking) would justify searching more learners.

Run: python benchmarks/topk_regret.py   (about 6 min on one core)
Writes benchmarks/results/topk_regret.{md,csv}.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import compare  # benchmarks/compare.py: its markdown table
import numpy as np
import pandas as pd

from metasel.kb import KnowledgeBase
from metasel.learners import LEARNERS
from metasel.meta._evaluation import logo_folds, meta_model_ranker
from metasel.meta._scaling import FeatureScaler
from metasel.meta._table import build_meta_table

RESULTS = Path(__file__).resolve().parent / "results"
KS = (3, 5, 7, 9)
#: a widening rule tried on the gap: every learner within DELTA of the first, at least five
DELTAS = (0.005, 0.01, 0.02)


def lodo_utilities(metric: str) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """Held-out utilities and measured scores (datasets x zoo learners)."""
    table = build_meta_table(KnowledgeBase.default(), metric, min_coverage=0.5)
    S = table.scores.to_numpy(float)
    U = np.full_like(S, np.nan)
    for _, train, test in logo_folds(table.groups):
        scaler = FeatureScaler.fit(table.features.iloc[train])
        ranker = meta_model_ranker().fit(scaler.transform(table.features.iloc[train]), S[train])
        U[test] = ranker.predict(scaler.transform(table.features.iloc[test]))
    zoo = [i for i, name in enumerate(table.learners) if name in LEARNERS]
    return U[:, zoo], S[:, zoo], table.scores.index


def regret_table(U: np.ndarray, S: np.ndarray, index: pd.Index) -> pd.DataFrame:
    """Per dataset: the 1st-to-6th utility gap and the best-of-top-k regrets."""
    keep = np.isfinite(S).sum(axis=1) == S.shape[1]  # every zoo learner measured
    U, S = U[keep], S[keep]
    order = np.argsort(-U, axis=1, kind="stable")
    utilities = np.take_along_axis(U, order, axis=1)
    scores = np.take_along_axis(S, order, axis=1)
    best = scores.max(axis=1)
    frame = pd.DataFrame({"dataset_id": index[keep], "gap_1_6": utilities[:, 0] - utilities[:, 5]})
    for k in KS:
        frame[f"regret_top{k}"] = best - scores[:, :k].max(axis=1)
    for delta in DELTAS:
        n = np.maximum(5, (utilities >= utilities[:, [0]] - delta).sum(axis=1))
        frame[f"n_within_{delta}"] = n
        frame[f"regret_within_{delta}"] = best - np.array(
            [row[:count].max() for row, count in zip(scores, n, strict=True)])
    return frame


def report(frame: pd.DataFrame) -> str:
    quartile = pd.qcut(frame["gap_1_6"], 4, labels=["Q1 (smallest gap)", "Q2", "Q3", "Q4"])
    by_gap = frame.groupby(quartile, observed=True).agg(
        datasets=("gap_1_6", "size"), gap_mean=("gap_1_6", "mean"),
        regret_top5_mean=("regret_top5", "mean"),
        share_top5_over_0005=("regret_top5", lambda r: float((r > 0.005).mean())))
    rows = [{"rule": f"top {k}", "learners": k, "regret_mean": frame[f"regret_top{k}"].mean(),
             "share_over_0005": (frame[f"regret_top{k}"] > 0.005).mean()} for k in KS]
    rows += [{"rule": f"within {d} of the first (at least 5)",
              "learners": frame[f"n_within_{d}"].mean(),
              "regret_mean": frame[f"regret_within_{d}"].mean(),
              "share_over_0005": (frame[f"regret_within_{d}"] > 0.005).mean()} for d in DELTAS]
    lines = ["# Best-of-top-k regret of the shipped ranker, by how sure the ranking is", "",
             f"{len(frame)} held-out datasets of the default KB with every zoo learner measured "
             "(ROC AUC; leave-one-group-out). Regret: the best measured score minus the best "
             "among the k best-ranked learners. `gap_1_6`: predicted utility of the 1st minus "
             "the 6th learner.", "", "## By quartile of the gap", "",
             compare._markdown(by_gap.reset_index(names="gap quartile")), "",
             "## By rule", "", compare._markdown(pd.DataFrame(rows)), ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metric", default="roc_auc")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    frame = regret_table(*lodo_utilities(args.metric))
    text = report(frame)
    frame.to_csv(args.out / "topk_regret.csv", index=False)
    (args.out / "topk_regret.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
