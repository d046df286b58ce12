"""Does a long search on a small table pick its winner on CV noise? Per tuning table and seed:
one MetaSelClassifier fit (as compare.py runs it), then the top trials of its leaderboard are
scored again on fresh CV splits of the same training rows, refitted, and scored on the outer
test part. Each selection rule below is then one choice among the same fitted configurations:

- ``shipped``: the fitted estimator's own final model (best refit or greedy ensemble);
- ``best_cv``: the single trial with the best search CV score among the trials scored on
  every fold, refitted (the estimator also weighs trials cut after some folds);
- ``reval{k}``: among the best ``k`` trials, the best mean of the search score and the scores
  on fresh splits (fresh splits are new data for the selection: TPE adapted to the old ones);
- ``oracle{k}``: the best outer test score among the best ``k`` trials (an upper bound).

Tables: small classification tables of the default KB's ARFF part that no compare.py test
set uses (main 8, fresh 20, set B); the meta-model holds out their groups (and the main 8).
They are tuning tables, not a clean test set: several served earlier one-off checks.

Run (two processes side by side, about 25 min each; the first trains the held-out
meta-model, so start the second once ``meta_holdout/roc_auc`` exists):
    python benchmarks/selection_noise.py --seeds 0 --out benchmarks/results/selection_noise
    python benchmarks/selection_noise.py --seeds 1 --out benchmarks/results/selection_noise
    python benchmarks/selection_noise.py --out benchmarks/results/selection_noise --report-only
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

from metasel.learners import get_learner
from metasel.search import make_splits
from metasel.search._evaluate import full_proba, score_proba

TABLES = ("classification/zoo", "classification/bridges.version1",
          "statlib/nominal/analcatdata_boxing1", "statlib/nominal/analcatdata_chall101",
          "classification/lymph", "classification/tae", "agridata/grub.damage",
          "classification/hepatitis", "statlib/nominal/analcatdata_homerun",
          "statlib/nominal/backache", "classification/flags", "classification/autos",
          "classification/sonar", "statlib/nominal/biomed", "classification/glass",
          "statlib/nominal/prnn_synth", "statlib/nominal/analcatdata_lawsuit",
          "classification/heart.statlog", "statlib/nominal/analcatdata_broadwaymult",
          "classification/breast.cancer", "classification/audiology")
TOP = 10
#: fresh CV repeats per re-scored trial (each a new "auto" split of the training rows)
FRESH_REPEATS = 2
FRESH_SEED = 7919
KS = (3, 5, 10)


def study_one(dataset: str, seed: int, budget: float, meta_path: str) -> list[dict]:
    """Rows (one per re-scored trial) for one table and seed; the shipped score on each."""
    warnings.filterwarnings("ignore")
    data = compare.load_benchmark_dataset(dataset)
    y = data.y.cat.codes.to_numpy()
    train, test = compare.outer_split(y, seed)
    X_train, X_test, y_train, y_test = data.X.iloc[train], data.X.iloc[test], y[train], y[test]
    job = {"budget": budget, "seed": seed, "meta_model": meta_path}
    model, info = compare._metasel(X_train, y_train, job, warm=True)
    shipped = _test_auc(model.predict_proba(X_test), y_test, data.n_classes)
    board = model.leaderboard_
    trials = board[(board["source"] != "probe") & (board["status"] == "ok")
                   & (board["n_folds"] == board["n_folds"].max())]
    trials = trials.drop_duplicates(["learner", "configuration"]).nlargest(TOP, "score")
    codes = np.unique(y_train, return_inverse=True)[1]
    fresh = [make_splits(codes, "auto", FRESH_SEED + seed + repeat)
             for repeat in range(FRESH_REPEATS)]
    rows = []
    for position, trial in enumerate(trials.itertuples()):
        params = json.loads(trial.configuration)
        learner = get_learner(trial.learner)
        tic = time.monotonic()
        rescored = [_cv_score(learner, params, X_train, codes, splits, seed) for splits in fresh]
        cost = time.monotonic() - tic
        final = learner.build(params, random_state=seed).fit(X_train, codes)
        rows.append({"dataset": dataset, "seed": seed, "n_rows": len(y), "position": position,
                     "trial": trial.trial, "learner": trial.learner, "search_cv": trial.score,
                     **{f"fresh_cv{r}": s for r, s in enumerate(rescored)},
                     "rescore_s": cost, "fit_s": trial.fit_time,
                     "test_auc": _test_auc(full_proba(final, X_test, data.n_classes), y_test,
                                           data.n_classes),
                     "shipped_auc": shipped, "shipped_kind": info["final_model"],
                     "n_trials": info["n_trials"]})
    return rows


def _cv_score(learner, params, X, y, splits, seed) -> float:
    n_classes = int(y.max()) + 1
    oof = np.full((len(y), n_classes), np.nan)
    for fit_rows, val_rows in splits:
        model = learner.build(params, random_state=seed).fit(X.iloc[fit_rows], y[fit_rows])
        oof[val_rows] = full_proba(model, X.iloc[val_rows], n_classes)
    return score_proba("roc_auc", y, oof)


def _test_auc(proba, y_test, n_classes) -> float:
    return compare._scores(y_test, proba, np.asarray(proba).argmax(axis=1), n_classes)["roc_auc"]


def rule_scores(rows: pd.DataFrame) -> pd.DataFrame:
    """Outer test AUC of each selection rule, one row per table and seed."""
    fresh = rows.filter(like="fresh_cv").mean(axis=1)
    rows = rows.assign(revalidated=(rows["search_cv"] + FRESH_REPEATS * fresh)
                       / (1 + FRESH_REPEATS))
    out = []
    for (dataset, seed), one in rows.groupby(["dataset", "seed"], sort=False):
        one = one.sort_values("position")
        result = {"dataset": dataset, "seed": seed, "n_rows": one["n_rows"].iloc[0],
                  "n_trials": one["n_trials"].iloc[0], "shipped": one["shipped_auc"].iloc[0],
                  "best_cv": one["test_auc"].iloc[0]}
        for k in KS:
            top = one.head(k)
            result[f"reval{k}"] = top.loc[top["revalidated"].idxmax(), "test_auc"]
            result[f"oracle{k}"] = top["test_auc"].max()
        result["rescore5_s"] = one.head(5)["rescore_s"].sum()
        out.append(result)
    return pd.DataFrame(out)


def report(rules: pd.DataFrame) -> str:
    names = ["shipped", "best_cv", *[f"reval{k}" for k in KS], *[f"oracle{k}" for k in KS]]
    lines = ["| rule | mean test AUC | minus shipped [90 % interval over tables] | "
             "wins/ties/losses vs shipped |", "|---|---|---|---|"]
    for name in names:
        diff = rules[name] - rules["shipped"]
        lines.append(f"| {name} | {rules[name].mean():.4f} | "
                     f"{compare._mean_and_interval(diff, rules['dataset'])} | "
                     f"{compare.wins_ties_losses(diff)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(TABLES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--budget", type=float, default=60)
    parser.add_argument("--out", type=Path, default=compare.RESULTS / "selection_noise")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        meta_path = compare.folder_meta_model(args.out / "meta_holdout", list(TABLES))
        for seed in args.seeds:
            csv = args.out / f"trials_seed{seed}.csv"  # one file per process
            done = compare._done(csv, ["dataset", "seed"])
            for dataset in args.datasets:
                if (dataset, seed) in done:
                    continue
                rows = pd.DataFrame(study_one(dataset, seed, args.budget, str(meta_path)))
                rows.to_csv(csv, mode="a", header=not csv.exists(), index=False)
                print(rule_scores(rows).round(4).to_string(index=False, header=False),
                      flush=True)
    rules = rule_scores(pd.concat(map(pd.read_csv, sorted(args.out.glob("trials_seed*.csv")))))
    rules.to_csv(args.out / "rules.csv", index=False)
    (args.out / "rules.md").write_text(report(rules) + "\n")
    print(report(rules))


if __name__ == "__main__":
    main()
