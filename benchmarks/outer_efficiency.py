"""Warm-start efficiency on the outer test part: is a warm search of k trials as good a model
as a cold search of 50?

    python benchmarks/outer_efficiency.py                 # the documented run (resumable)
    python benchmarks/outer_efficiency.py --report-only   # rebuild outer_efficiency.md

compare.py's `--efficiency` counts trials to reach the cold search's best *CV* score, the
maximum of 50 noisy estimates, which even a second cold search repeats only late. A user
gets the refitted model, so this script asks the model-level question: MetaSelClassifier
with `n_trials=k` (warm) against the same estimator with `warm_start=False` and
`n_trials=50`, both refitted on the outer training part (ensemble selection included) and
scored on compare.py's outer 75/25 test part (its datasets, its seeds 0 and 1 and two more),
the same CV splits for both, one fresh process per run (compare.py's runner), n_jobs=1. The
cold search with `n_trials=5` is the control: what 5 trials give without the meta-learned
start; a second cold search of 50 trials with another search seed (same CV splits) is the
yardstick: how often a search as good as the reference reaches its test score. The
meta-model is compare.py's held-out one in results/efficiency_meta (trained without the
benchmark groups).

Trials to reach: per (dataset, seed), the smallest cap k from which the warm model scores at
least the reference's test score (within TIE, and exactly) at every larger cap measured.
The warm search's first trials are its enqueued first configurations whatever k, so the
model of `n_trials=k` is the one a longer search has after k trials. A test score is not
monotone in k (another model may be picked), and counting the first cap that reaches would
give the warm search several noisy chances; "from k on" does not.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import compare  # benchmarks/compare.py: its runner, held-out meta-model and markdown
import numpy as np
import pandas as pd

TIE = compare.TIE
REFERENCE = ("optuna_cold", 50)
#: trial caps of the warm search whose models are scored
WARM_CAPS = (1, 2, 3, 4, 5, 10)
YARDSTICK = ("optuna_cold_reseeded", 50)
RUNS = (*(("metasel", k) for k in WARM_CAPS), ("optuna_cold", 5), REFERENCE, YARDSTICK)
#: the issue's target: the warm search reaches the cold 50-trial score in this many trials
TARGET_TRIALS = 5
KEY = ["dataset", "method", "cap", "seed"]
COLUMNS = [*KEY, "n_trials", "n_probes", "fit_time", "roc_auc", "balanced_accuracy",
           "final_model", "best_learner", "trial_scores", "error"]
METRICS = ("roc_auc", "balanced_accuracy")
#: compare.py's two outer splits and two more: 32 (dataset, seed) pairs, as one pair moves a
#: median of 16 by a whole cap
SEEDS = (0, 1, 2, 3)


def pending_jobs(datasets: list[str], seeds: list[int], done: set[tuple]) -> list[dict]:
    """Dataset by dataset, so that a partial run already compares complete rows."""
    jobs = [{"dataset": dataset, "method": method, "cap": cap, "n_trials": cap, "seed": seed,
             "budget": compare.EFFICIENCY_BUDGET}
            for seed in seeds for dataset in datasets for method, cap in RUNS]
    return [j for j in jobs if tuple(j[k] for k in KEY) not in done]


def run(args) -> None:
    csv = args.out / "outer_efficiency.csv"
    jobs = pending_jobs(args.datasets, args.seeds, compare._done(csv, KEY))
    print(f"{len(jobs)} runs to do (rows already in {csv} are skipped)", flush=True)
    if not jobs:
        return
    meta_path = compare.folder_meta_model(args.out / "efficiency_meta", args.datasets)
    compare._run_jobs(jobs, meta_path, csv, KEY, COLUMNS)


def against_reference(df: pd.DataFrame) -> pd.DataFrame:
    """Per run (method, cap): mean outer scores, and its wins/ties/losses against the cold
    search of 50 trials on the (dataset, seed) pairs where both finished (tie < TIE)."""
    ok = df[df["error"].isna() | (df["error"] == "")]
    ok = ok.assign(run=ok["method"] + "@" + ok["cap"].astype(str))
    reference = "@".join(map(str, REFERENCE))
    rows = []
    for metric in METRICS:
        table = ok.pivot_table(index=["dataset", "seed"], columns="run", values=metric)
        if reference not in table:
            continue
        for name in dict.fromkeys(ok["run"]):
            both = table[name].notna() & table[reference].notna()
            own, ref = table.loc[both, name], table.loc[both, reference]
            diff = own - ref
            rows.append({"metric": metric, "run": name, "n": int(both.sum()),
                         "mean": own.mean(), "mean_reference": ref.mean(),
                         "median_diff": diff.median(),
                         "w/t/l": f"{(diff > TIE).sum()}/{(diff.abs() <= TIE).sum()}"
                                  f"/{(diff < -TIE).sum()}",
                         "at_least_tie": float((diff >= -TIE).mean()) if both.any() else np.nan,
                         "mean_fit_time": ok.loc[ok["run"] == name, "fit_time"].mean()})
    return pd.DataFrame(rows)


def trials_to_reach(df: pd.DataFrame) -> pd.DataFrame:
    """Per (metric, tolerance): the median over (dataset, seed) of the fewest warm trials
    from which the model reaches the reference's test score at every larger cap (``inf``
    when the largest cap does not), the share of pairs that reach it at TARGET_TRIALS
    trials, and the yardstick's share."""
    ok = df[df["error"].isna() | (df["error"] == "")]
    runs = ok["method"] + "@" + ok["cap"].astype(str)
    reference, yardstick = ("@".join(map(str, run)) for run in (REFERENCE, YARDSTICK))
    rows = []
    for metric in METRICS:
        table = ok.pivot_table(index=["dataset", "seed"], columns=runs, values=metric)
        warm = [f"metasel@{k}" for k in WARM_CAPS if f"metasel@{k}" in table]
        if reference not in table or not warm:
            continue
        table = table[table[reference].notna()]
        caps = np.array([int(name.split("@")[1]) for name in warm], dtype=float)
        at_target = f"metasel@{TARGET_TRIALS}"
        for tol in (TIE, 0.0):
            reached = table[warm].ge(table[reference] - tol, axis=0).to_numpy()
            # reached at this cap and every larger one (a missing run counts as not reached)
            stays = np.flip(np.cumprod(np.flip(reached, axis=1), axis=1), axis=1).astype(bool)
            first = np.where(stays.any(axis=1), caps[np.argmax(stays, axis=1)], np.inf)
            row = {"metric": metric, "tolerance": tol, "pairs": len(table),
                   "median_trials_to_reach": float(np.median(first)),
                   f"reached_at_{TARGET_TRIALS}": float(
                       table[at_target].ge(table[reference] - tol).mean())
                   if at_target in table else np.nan,
                   "per_pair": " ".join("-" if np.isinf(f) else str(int(f)) for f in first)}
            if yardstick in table:
                both = table[yardstick].notna()
                row["yardstick_reaches"] = float(
                    (table.loc[both, yardstick] >= table.loc[both, reference] - tol).mean())
            rows.append(row)
    return pd.DataFrame(rows)


def write_report(out: Path) -> None:
    df = pd.read_csv(out / "outer_efficiency.csv")
    summary = against_reference(df)
    summary.to_csv(out / "outer_efficiency_summary.csv", index=False)
    reach = trials_to_reach(df)
    reference = "@".join(map(str, REFERENCE))
    lines = ["# Warm-start efficiency on the outer test part", "",
             "Command: `python benchmarks/outer_efficiency.py` (see its docstring). "
             "`metasel@k`: MetaSelClassifier with `n_trials=k`; `optuna_cold@k`: the same "
             "with `warm_start=False`. Scores of the refitted models on the outer 25% test "
             f"part; each row is compared with `{reference}` on the same (dataset, seed): "
             f"`w/t/l` = wins/ties/losses (tie < {TIE}), `at_least_tie` = share of pairs "
             f"where the row is no worse than `{reference}` by more than {TIE}, i.e. reaches the "
             "cold 50-trial model's test score. Not the issue's CV-based figure (compare.py "
             "`--efficiency`); a model-level view of the same question.", "",
             compare._markdown(summary), "",
             "## Trials to reach the cold 50-trial model's test score", "",
             "`median_trials_to_reach`: median over (dataset, seed) pairs of the fewest "
             f"warm trials (caps {', '.join(map(str, WARM_CAPS))}) from which the model "
             f"scores at least `{reference}`'s test score minus `tolerance` at every larger "
             f"cap (`-` in `per_pair`, and `inf`: not even at {WARM_CAPS[-1]}); the issue's "
             f"target is a median of at most {TARGET_TRIALS}. `reached_at_{TARGET_TRIALS}`: "
             f"share of pairs where the {TARGET_TRIALS}-trial model reaches it; "
             "`yardstick_reaches`: the same share for a second cold search of 50 trials with "
             "another search seed.", "",
             compare._markdown(reach), "",
             "## Per dataset (roc_auc)", "",
             compare._markdown(df.pivot_table(index=["dataset", "seed"],
                                      columns=df["method"] + "@" + df["cap"].astype(str),
                                      values="roc_auc").reset_index()), ""]
    (out / "outer_efficiency.md").write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(compare.DATASETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    parser.add_argument("--out", type=Path, default=compare.RESULTS)
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        run(args)
    write_report(args.out)


if __name__ == "__main__":
    main()
