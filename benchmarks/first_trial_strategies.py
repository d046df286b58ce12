"""How good can the first five trials of a warm search be? Strategies compared offline.

Run: python benchmarks/first_trial_strategies.py [--metric roc_auc --metric accuracy]
Writes benchmarks/results/first_trial_strategies.{md,csv}.

The KB part we built is dense: every dataset has the same 231 configurations (11 learners x
(default + 20 sampled)) measured with the same cross-validation. So a strategy that picks
five of them for a held-out dataset can be scored on that dataset's own recorded scores:
regret against its best configuration, and ``beats_random50``, the chance that the five
reach the best of 50 random configurations of the same pool — the offline stand-in for the
warm-start efficiency target of issue 5 (warm search within 5 trials of a 50-trial cold
search; median <= 5 needs this chance above one half). Every number is leave-one-group-out:
the held-out dataset's whole group is out of the portfolio, the scaler and the surrogate.

Strategies: ``global`` (one greedy portfolio over every training dataset, meta-features
unused), ``knnK`` (greedy portfolio over the K nearest training datasets; K=25 is what
``WarmStarter.first_trials`` does after the meta-model picked five learners),
``meta_surrogate`` (a LightGBM regression of each configuration's within-dataset rank on the
meta-features and the configuration's learner and hyperparameters, top five predicted;
the zero-shot surrogate of the HPO literature), ``screenK`` (the knn25 portfolio's first K,
ordered by their score on the first of the KB's three CV folds, the best n run in full, at
K one-fold fits, about K / 3 trials, on top of the n trials; MetaSelClassifier did this with
K = 20 in 67b548e, reverted: benchmarks/results/screen_ab), ``random`` (expected best of
five random).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from metasel.kb import KnowledgeBase
from metasel.meta._evaluation import (
    RANDOM_RIVAL,
    _chance_best_of_random_below,
    _expected_best_of_random,
    logo_folds,
)
from metasel.meta._scaling import FeatureScaler
from metasel.meta._table import build_meta_table, parse_params
from metasel.meta._warmstart import greedy_portfolio, relative_to_best

RESULTS = Path(__file__).resolve().parent / "results"
FIRST = (5, 10)
NEIGHBOURS = (10, 25, 50)
SCREENED = (10, 20, 30)


def config_features(configs: pd.DataFrame, columns: pd.Index) -> pd.DataFrame:
    """One row per configuration: its learner and its hyperparameters (``learner__name``),
    categorical where the values are not numbers."""
    first = configs.drop_duplicates("config_id").set_index("config_id").reindex(columns)
    rows = [{"learner": learner, **{f"{learner}__{k}": v for k, v in parse_params(p).items()}}
            for learner, p in zip(first["learner"], first["params"], strict=True)]
    frame = pd.DataFrame(rows, index=columns)
    for column in frame.columns:
        if frame[column].dtype == bool:
            frame[column] = frame[column].astype(float)
        elif not pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].astype(str).astype("category")
    return frame.reset_index(drop=True)


def fit_surrogate(meta: np.ndarray, configs: pd.DataFrame, target: np.ndarray,
                  seed: int) -> lgb.LGBMRegressor:
    """LightGBM on (dataset meta-features x configuration) -> ``target`` (datasets x configs)."""
    X = _cross(meta, configs)
    y = target.ravel()
    known = ~np.isnan(y)
    model = lgb.LGBMRegressor(n_estimators=300, learning_rate=0.05, num_leaves=63,
                              min_child_samples=40, subsample=0.8, subsample_freq=1,
                              colsample_bytree=0.8, random_state=seed, n_jobs=1, verbose=-1)
    return model.fit(X[known], y[known])


def _cross(meta: np.ndarray, configs: pd.DataFrame) -> pd.DataFrame:
    left = pd.DataFrame(np.repeat(meta, len(configs), axis=0),
                        columns=[f"mf{j}" for j in range(meta.shape[1])])
    right = pd.concat([configs] * len(meta), ignore_index=True)
    return pd.concat([left, right], axis=1)


def first_fold_scores(kb: KnowledgeBase, metric: str, wide: pd.DataFrame) -> np.ndarray:
    """(datasets x configurations) of ``wide``: each configuration's score on the first CV
    fold of the dataset (the same split for every configuration)."""
    ev = kb.evaluations
    ok = ev[(ev["status"] == "ok") & ev["dataset_id"].isin(wide.index)]
    first = ok[f"{metric}_folds"].map(lambda folds: folds[0] if folds is not None and len(folds)
                                      else np.nan)
    return (ok.assign(first=first)
            .pivot_table(index="dataset_id", columns="config_id", values="first", aggfunc="max")
            .reindex(index=wide.index, columns=wide.columns).to_numpy(float))


def run_metric(metric: str, seed: int) -> pd.DataFrame:
    kb = KnowledgeBase.default("kb")
    table = build_meta_table(kb, metric)
    wide = table.configs.pivot_table(index="dataset_id", columns="config_id", values="score",
                                     aggfunc="max").loc[table.scores.index]
    scores = wide.to_numpy(float)
    first_fold = np.nan_to_num(first_fold_scores(kb, metric, wide), nan=-np.inf)
    relative = relative_to_best(wide)
    rank = wide.rank(axis=1, pct=True).to_numpy()
    configs = config_features(table.configs, wide.columns)
    rows = []

    def record(strategy: str, dataset: int, chosen: list[int] | np.ndarray) -> None:
        pool = scores[dataset][~np.isnan(scores[dataset])]
        for n in FIRST:
            got = scores[dataset][list(chosen[:n])]
            value = np.nanmax(got) if np.isfinite(got).any() else -np.inf
            rows.append({"metric": metric, "strategy": strategy, "n": n,
                         "dataset_id": wide.index[dataset], "regret": pool.max() - value,
                         "beats_random50": _chance_best_of_random_below(pool, RANDOM_RIVAL,
                                                                         value)})

    for _, train, test in logo_folds(table.groups):
        scaler = FeatureScaler.fit(table.features.iloc[train])
        X_train = np.asarray(scaler.transform(table.features.iloc[train]), float)
        X_test = np.asarray(scaler.transform(table.features.iloc[test]), float)
        portfolio = greedy_portfolio(relative[train], max(FIRST))
        surrogate = fit_surrogate(X_train, configs, rank[train], seed)
        distances = ((X_test[:, None, :] - X_train[None, :, :]) ** 2).sum(axis=-1)
        for j, dataset in enumerate(test):
            record("global", dataset, portfolio)
            for k in NEIGHBOURS:
                near = np.argsort(distances[j], kind="stable")[:k]
                folio = greedy_portfolio(relative[train][near], max(SCREENED))
                record(f"knn{k}", dataset, folio)
                if k == 25:
                    for size in SCREENED:
                        candidates = np.array(folio[:size])
                        order = np.argsort(-first_fold[dataset][candidates], kind="stable")
                        record(f"screen{size}", dataset, candidates[order])
            predicted = surrogate.predict(_cross(X_test[j:j + 1], configs))
            record("meta_surrogate", dataset, np.argsort(-predicted, kind="stable"))
            pool = scores[dataset][~np.isnan(scores[dataset])]
            rows += [{"metric": metric, "strategy": "random", "n": n,
                      "dataset_id": wide.index[dataset],
                      "regret": pool.max() - _expected_best_of_random(pool, n),
                      "beats_random50": np.nan} for n in FIRST]
    return pd.DataFrame(rows)


def summarise(per_dataset: pd.DataFrame) -> pd.DataFrame:
    return (per_dataset.groupby(["metric", "n", "strategy"], sort=False)
            .agg(regret_x100=("regret", lambda r: 100 * r.mean()),
                 regret_median_x100=("regret", lambda r: 100 * r.median()),
                 beats_random50=("beats_random50", "mean"),
                 datasets=("dataset_id", "nunique"))
            .reset_index().sort_values(["metric", "n", "beats_random50"],
                                       ascending=[True, True, False]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metric", action="append", choices=["roc_auc", "accuracy"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    frames, seconds = [], {}
    for metric in args.metric or ["roc_auc", "accuracy"]:
        start = time.perf_counter()
        frames.append(run_metric(metric, args.seed))
        seconds[metric] = time.perf_counter() - start
    per_dataset = pd.concat(frames, ignore_index=True)
    summary = summarise(per_dataset)
    summary.to_csv(RESULTS / "first_trial_strategies.csv", index=False)
    shown = summary.round(3).astype(str)
    lines = ["# First trials of a warm search: strategies, offline", "",
             "Command: `python benchmarks/first_trial_strategies.py` (kb part, dense 231 "
             "configurations per dataset, leave-one-group-out; seconds: "
             f"{json.dumps({k: round(v) for k, v in seconds.items()})}).", "",
             "`beats_random50`: chance that the best of the first n reaches the best of 50 "
             "random configurations of the same dataset (the efficiency target needs > 0.5 "
             "at n = 5). Regret in points x 100 against the dataset's best configuration. "
             "`screenK` also costs K fits on one of the three CV folds (about K / 3 trials) "
             "before its n trials.", "",
             "| " + " | ".join(shown.columns) + " |", "|" + "---|" * len(shown.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in shown.itertuples(index=False)]
    (RESULTS / "first_trial_strategies.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
