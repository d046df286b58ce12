"""Cost-aware first trials, offline: when the budget holds only a few trials, should a warm
search order its first configurations by expected gain per expected fit time?

Run: python benchmarks/first_trial_costs.py [--metric roc_auc --metric accuracy] [--out DIR]
Writes DIR/first_trial_costs.{md,csv} (default: benchmarks/results/first_trial_costs).

The KB part we built is dense: every dataset has the same 231 configurations measured with
the same cross-validation, with their fit times. A strategy orders configurations for a
held-out dataset from its 25 nearest training datasets (leave-one-group-out, as
``WarmStarter.first_trials`` does); the search is then replayed on the held-out dataset's own
recorded scores and fit times: configurations run in that order while they fit in a budget
of ``m`` times the dataset's median configuration fit time (one that does not fit is skipped
at no cost: the search's own estimate skips it after at most one fold). Regret: the
dataset's best recorded score minus the best one run (the spread of its scores when none ran).

Strategies: ``gain`` (the cost-blind greedy portfolio ``first_trials`` used before),
``gain_per_cost`` (greedy on the mean gain over the neighbours divided by the configuration's
expected relative cost, the geometric mean over the neighbours of its fit time over their
median one: :func:`metasel.meta._warmstart.relative_cost`), ``gain_per_cost_sqrt`` (divided by
its square root: what ``first_trials`` does now), ``gain_per_cost_sqrt_first5`` (its first
five, then ``gain``'s order: closest to the search, whose first five trials are this set),
``gain_fitting`` (``gain`` over the configurations expected to fit at least three times in the
budget first).

Caveat: the KB measured at most 1,333 training rows, so fit times are those of small tables,
where per-tree and per-epoch overheads weigh more than on tables of 10,000 rows.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from metasel.kb import KnowledgeBase
from metasel.meta._evaluation import logo_folds
from metasel.meta._scaling import FeatureScaler
from metasel.meta._table import build_meta_table
from metasel.meta._warmstart import COST_POWER, greedy_portfolio, relative_cost, relative_to_best

RESULTS = Path(__file__).resolve().parent / "results" / "first_trial_costs"
NEIGHBOURS = 25
ORDER_LENGTH = 40
#: budgets in units of the held-out dataset's median configuration fit time
BUDGETS = (1, 2, 4, 8, 16, 32)
#: the first trials MetaSelClassifier chooses as a set (the rest of its warm starts and TPE
#: follow)
FIRST_TRIALS = 5


def replay(order: list[int], scores: np.ndarray, cost: np.ndarray, budget: float) -> tuple[float, int]:
    """(best score run, configurations run) of running ``order`` within ``budget``."""
    spent, best, ran = 0.0, -np.inf, 0
    for config in order:
        if not np.isfinite(cost[config]) or spent + cost[config] > budget:
            continue
        spent += cost[config]
        ran += 1
        if np.isfinite(scores[config]):
            best = max(best, scores[config])
    return best, ran


def strategies(relative: np.ndarray, expected_cost: np.ndarray,
               budget: float) -> dict[str, list[int]]:
    """Each strategy's order of configurations for one held-out dataset and budget."""
    fitting = np.flatnonzero(expected_cost * 3 <= budget)
    fitting_order = ([int(fitting[i]) for i in greedy_portfolio(relative[:, fitting], ORDER_LENGTH)]
                     if len(fitting) else [])
    gain = greedy_portfolio(relative, ORDER_LENGTH)
    per_sqrt_cost = greedy_portfolio(relative, ORDER_LENGTH, expected_cost ** COST_POWER)
    return {
        "gain": gain,
        "gain_per_cost": greedy_portfolio(relative, ORDER_LENGTH, expected_cost),
        "gain_per_cost_sqrt": per_sqrt_cost,
        "gain_per_cost_sqrt_first5": per_sqrt_cost[:FIRST_TRIALS] + [
            c for c in gain if c not in set(per_sqrt_cost[:FIRST_TRIALS])],
        "gain_fitting": fitting_order + [c for c in greedy_portfolio(relative, ORDER_LENGTH)
                                         if c not in set(fitting_order)],
    }


def run(metric: str) -> pd.DataFrame:
    kb = KnowledgeBase.default("kb")
    table = build_meta_table(kb, metric)
    wide = table.configs.pivot_table(index="dataset_id", columns="config_id", values="score",
                                     aggfunc="max").loc[table.scores.index]
    scores = wide.to_numpy(float)
    times = (table.configs.pivot_table(index="dataset_id", columns="config_id",
                                       values="fit_time", aggfunc="mean")
             .reindex_like(wide).to_numpy(float))
    own_costs = times / np.nanmedian(times, axis=1, keepdims=True)
    relative = relative_to_best(wide)
    rows = []
    for fold, (_, train, test) in enumerate(logo_folds(table.groups)):
        if fold % 50 == 0:
            print(f"{metric}: group {fold}", flush=True)
        scaler = FeatureScaler.fit(table.features.iloc[train])
        X_train = np.asarray(scaler.transform(table.features.iloc[train]), float)
        X_test = np.asarray(scaler.transform(table.features.iloc[test]), float)
        distances = ((X_test[:, None, :] - X_train[None, :, :]) ** 2).sum(axis=-1)
        for j, dataset in enumerate(test):
            near = train[np.argsort(distances[j], kind="stable")[:NEIGHBOURS]]
            expected_cost = relative_cost(times[near])
            own_scores = scores[dataset]
            own_cost = own_costs[dataset]
            best, worst = np.nanmax(own_scores), np.nanmin(own_scores)
            for budget in BUDGETS:
                for name, order in strategies(relative[near], expected_cost, budget).items():
                    got, ran = replay(order, own_scores, own_cost, budget)
                    rows.append({"metric": metric, "budget": budget, "strategy": name,
                                 "dataset_id": wide.index[dataset],
                                 "regret": best - (got if np.isfinite(got) else worst),
                                 "ran": ran, "none_ran": not np.isfinite(got)})
    return pd.DataFrame(rows)


def summarise(per_dataset: pd.DataFrame) -> pd.DataFrame:
    return (per_dataset.groupby(["metric", "budget", "strategy"], sort=False)
            .agg(regret_x100=("regret", lambda r: 100 * r.mean()),
                 regret_median_x100=("regret", lambda r: 100 * r.median()),
                 trials_run=("ran", "median"), none_ran=("none_ran", "mean"),
                 datasets=("dataset_id", "nunique"))
            .reset_index())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metric", action="append", choices=["roc_auc", "accuracy"])
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    metrics = args.metric or ["roc_auc", "accuracy"]
    per_dataset = pd.concat([run(metric) for metric in metrics], ignore_index=True)
    args.out.mkdir(parents=True, exist_ok=True)
    per_dataset.to_csv(args.out / "first_trial_costs_per_dataset.csv", index=False)
    summary = summarise(per_dataset)
    summary.to_csv(args.out / "first_trial_costs.csv", index=False)
    shown = summary.round(3).astype(str)
    lines = ["# Cost-aware first trials, offline", "",
             "Command: `python benchmarks/first_trial_costs.py"
             f"{''.join(f' --metric {m}' for m in metrics)}` (kb "
             "part, leave-one-group-out, 25 nearest datasets). Budget: multiples of the held-out "
             "dataset's median configuration fit time. Regret in points x 100.", "",
             "| " + " | ".join(shown.columns) + " |", "|" + "---|" * len(shown.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in shown.itertuples(index=False)]
    (args.out / "first_trial_costs.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
