"""Is a refit on all rows worth its time? Per table and seed, the first recommended
configurations of a held-out meta-model are cross-validated as MetaSelClassifier does
("auto": 3 folds, a 20 % holdout from 10,000 rows), and each is scored on the outer test part
twice: as the average of its fold models (what a fit without time to refit ships) and
refitted on all training rows. The gap is what the time kept for a refit buys.

Tables: the main 8 of compare.py and the 14 larger ones of compare_fresh_d (4,177-40,768
rows); the meta-model holds out their groups, as compare.py's does.

    python benchmarks/refit_vs_fold_models.py --seeds 0 --out benchmarks/results/refit_share
    python benchmarks/refit_vs_fold_models.py --out benchmarks/results/refit_share --report-only
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import compare  # benchmarks/compare.py: data, outer split, held-out meta-model, scores
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from metasel.data import from_frame
from metasel.estimator import MetaSelClassifier
from metasel.learners import get_learner
from metasel.search import make_splits
from metasel.search._budget import Deadline
from metasel.search._evaluate import full_proba

SET_D = ("regression/2dplanes", "regression/pol", "statlib/numeric/rmftsa_mtwashnh6597",
         "regression/bank32nh", "regression/kin8nm", "statlib/numeric/wind",
         "regression/abalone", "regression/house8L", "regression/elevators",
         "statlib/numeric/visualizing_soil", "regression/cpu.act", "regression/puma32H",
         "regression/delta.ailerons", "statlib/numeric/csb_ch18b")
TABLES = (*compare.DATASETS, *SET_D)
#: recommended configurations scored per table (the study's first trials)
CONFIGS = 4


def study_one(dataset: str, seed: int, meta_path: str) -> list[dict]:
    """One row per configuration: its CV score, and the outer test AUC of its fold models'
    average and of its refit, with the time each took."""
    warnings.filterwarnings("ignore")
    data = compare.load_benchmark_dataset(dataset)
    y = data.y.cat.codes.to_numpy()
    train, test = compare.outer_split(y, seed)
    X_train, X_test = data.X.iloc[train].reset_index(drop=True), data.X.iloc[test]
    codes = np.unique(y[train], return_inverse=True)[1]
    n_classes = int(codes.max()) + 1
    estimator = MetaSelClassifier(time_budget=60, random_state=seed, meta_model=meta_path)
    _, plan = estimator._plan(from_frame(X_train, codes, name=dataset), Deadline(60.0))
    splits = make_splits(codes, "auto", seed)
    rows = []
    for position, (name, params) in enumerate(plan.warm_starts[:CONFIGS]):
        learner = get_learner(name)
        tic = time.monotonic()
        folds = [learner.build(params, random_state=seed).fit(X_train.iloc[fit], codes[fit])
                 for fit, _ in splits]
        folds_s = time.monotonic() - tic
        tic = time.monotonic()
        refit = learner.build(params, random_state=seed).fit(X_train, codes)
        refit_s = time.monotonic() - tic
        averaged = np.mean([full_proba(m, X_test, n_classes) for m in folds], axis=0)
        rows.append({"dataset": dataset, "seed": seed, "n_rows": len(y),
                     "n_folds": len(splits), "position": position, "learner": name,
                     "params": json.dumps(params, default=str),
                     "fold_models_auc": _test_auc(averaged, y[test], data.n_classes),
                     "refit_auc": _test_auc(full_proba(refit, X_test, n_classes), y[test],
                                            data.n_classes),
                     "folds_s": folds_s, "refit_s": refit_s})
    return rows


def _test_auc(proba, y_test, n_classes) -> float:
    return compare._scores(y_test, proba, np.asarray(proba).argmax(axis=1), n_classes)["roc_auc"]


def report(rows: pd.DataFrame) -> str:
    """Refit minus fold models, by resampling plan and by learner."""
    rows = rows.assign(gain=rows["refit_auc"] - rows["fold_models_auc"],
                       plan=np.where(rows["n_folds"] == 1, "holdout", "3 folds"))
    lines = [f"{len(rows)} configurations, {rows['dataset'].nunique()} tables, seeds "
             f"{sorted(rows['seed'].unique())}. Outer test ROC AUC, refit minus fold models; "
             "interval: 90 % bootstrap over tables.", "",
             "| rows | n | mean gain [90 % interval] | median | refit better/tie/worse | "
             "refit s / one fold s |", "|---|---|---|---|---|---|"]
    for label, part in [("all", rows), *rows.groupby("plan"), *rows.groupby("learner")]:
        cost = (part["refit_s"] / (part["folds_s"] / part["n_folds"])).median()
        lines.append(f"| {label} | {len(part)} | "
                     f"{compare._mean_and_interval(part['gain'], part['dataset'])} | "
                     f"{part['gain'].median():+.4f} | {compare.wins_ties_losses(part['gain'])} "
                     f"| {cost:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(TABLES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--out", type=Path, default=compare.RESULTS / "refit_share")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    csv = args.out / "refit_vs_fold_models.csv"
    if not args.report_only:
        meta_path = compare.folder_meta_model(args.out / "meta_holdout", list(TABLES))
        done = compare._done(csv, ["dataset", "seed"])
        for seed in args.seeds:
            for dataset in (d for d in args.datasets if (d, seed) not in done):
                with threadpool_limits(limits=1):  # as MetaSelClassifier fits
                    rows = pd.DataFrame(study_one(dataset, seed, str(meta_path)))
                rows.to_csv(csv, mode="a", header=not csv.exists(), index=False)
                print(dataset, seed, (rows["refit_auc"] - rows["fold_models_auc"]).round(4)
                      .tolist(), flush=True)
    text = report(pd.read_csv(csv))
    (args.out / "refit_vs_fold_models.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
