"""When boosting has time for only 1/k of its rounds, what does it lose? Per table, the
recommended LightGBM and HGB configurations of a held-out meta-model are cross-validated in
full, *rescaled* (n/k rounds at k times the learning rate, as an anytime fit under a search's
stop time now does: ``metasel.learners._anytime.rescaled_rounds``) and *truncated* (the first
n/k rounds at the configured rate, what such a fit did before). The loss against the full
configuration, and the share of its time each one took, per k.

Tables: the 14 larger ones of compare_fresh_d (4,177-40,768 rows), where recommended
configurations take seconds a fold; 3-fold stratified CV on each table's outer training part
(compare.py's split); the meta-model holds out their groups, as compare.py's does.

    python benchmarks/boosting_rescale.py --out benchmarks/results/boosting_rescale
    python benchmarks/boosting_rescale.py --out benchmarks/results/boosting_rescale --report-only
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import compare  # benchmarks/compare.py: data, outer split, held-out meta-model, scores
import numpy as np
import pandas as pd
from refit_vs_fold_models import SET_D
from rich.progress import track
from threadpoolctl import threadpool_limits

from metasel.data import from_frame
from metasel.estimator import MetaSelClassifier
from metasel.learners import get_learner
from metasel.learners._anytime import rescaled_rounds
from metasel.search import make_splits
from metasel.search._budget import Deadline
from metasel.search._evaluate import full_proba, score_proba

BOOSTING = {"lightgbm": "n_estimators", "hist_gradient_boosting": "max_iter"}
SHARES = (2, 4, 8)
FOLDS = 3


def variants(params: dict, size: str) -> list[tuple[str, int, dict]]:
    """``(variant, k, params)``: the full configuration, then per k its rescaled version
    (where rescaling applies) and its truncated one."""
    rounds, rate = params[size], params["learning_rate"]
    out = [("full", 1, params)]
    for k in SHARES:
        rescaled = rescaled_rounds(rounds, rate, rounds / k)
        if rescaled is not None:
            out.append(("rescaled", k, {**params, size: rescaled[0],
                                        "learning_rate": rescaled[1]}))
            out.append(("truncated", k, {**params, size: rescaled[0]}))
    return out


def study_one(dataset: str, seed: int, meta_path: str) -> list[dict]:
    """One row per learner and variant: its CV ROC AUC and fit seconds."""
    warnings.filterwarnings("ignore")
    data = compare.load_benchmark_dataset(dataset)
    y = data.y.cat.codes.to_numpy()
    train, _ = compare.outer_split(y, seed)
    X = data.X.iloc[train].reset_index(drop=True)
    codes = np.unique(y[train], return_inverse=True)[1]
    n_classes = int(codes.max()) + 1
    estimator = MetaSelClassifier(time_budget=60, random_state=seed, meta_model=meta_path)
    recs, _ = estimator._plan(from_frame(X, codes, name=dataset), Deadline(60.0))
    first = {r.learner: r.configurations[0] for r in recs
             if r.learner in BOOSTING and r.configurations}
    splits = make_splits(codes, FOLDS, seed)
    rows = []
    for learner, params in first.items():
        for variant, k, config in variants(dict(params), BOOSTING[learner]):
            oof, tic = np.zeros((len(codes), n_classes)), time.monotonic()
            for fit_rows, test_rows in splits:
                model = get_learner(learner).build(config, random_state=seed)
                model.fit(X.iloc[fit_rows], codes[fit_rows])
                oof[test_rows] = full_proba(model, X.iloc[test_rows], n_classes)
            rows.append({"dataset": dataset, "seed": seed, "learner": learner,
                         "variant": variant, "k": k, "rounds": config[BOOSTING[learner]],
                         "learning_rate": config["learning_rate"],
                         "roc_auc": score_proba("roc_auc", codes, oof),
                         "seconds": time.monotonic() - tic})
    return rows


def report(rows: pd.DataFrame) -> str:
    """Per learner and k: the rescaled and truncated configurations' ROC AUC minus the full
    one's (mean, bootstrap interval over tables, median) and their share of its time."""
    keys = ["dataset", "seed", "learner"]
    full = rows[rows["variant"] == "full"].set_index(keys)
    lines = ["| learner | k | variant | tables | AUC minus full | median | time share |",
             "|---|---|---|---|---|---|---|"]
    for (learner, k, variant), group in rows[rows["variant"] != "full"].groupby(
            ["learner", "k", "variant"]):
        base = full.loc[group.set_index(keys).index]
        loss = group["roc_auc"].to_numpy() - base["roc_auc"].to_numpy()
        share = group["seconds"].sum() / base["seconds"].sum()
        interval = compare._mean_and_interval(pd.Series(loss), group["dataset"].reset_index(
            drop=True))
        lines.append(f"| {learner} | {k} | {variant} | {len(group)} | {interval} "
                     f"| {np.median(loss):+.4f} | {share:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(SET_D))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/boosting_rescale"))
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    csv = args.out / "boosting_rescale.csv"
    if not args.report_only:
        meta = compare.folder_meta_model(args.out / "meta_holdout", args.datasets)
        rows = []
        with threadpool_limits(1):
            for dataset in track(args.datasets, description="boosting variants"):
                rows += study_one(dataset, args.seed, str(meta))
        pd.DataFrame(rows).to_csv(csv, index=False)
    table = report(pd.read_csv(csv))
    (args.out / "boosting_rescale.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
