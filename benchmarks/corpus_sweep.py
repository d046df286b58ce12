"""MetaSelClassifier on the whole shared ARFF corpus at a small budget: does ``fit`` keep its
time and end on a usable model whatever the table, and how does it compare with LightGBM's
defaults on the same split?

    python benchmarks/corpus_sweep.py                    # the documented run (resumable)
    python benchmarks/corpus_sweep.py --budget 5 --every 20 --report-only

compare.py measures a few tables closely; this sweep measures breadth: every ARFF file of
../shared/datasets/arff except that only every ``--every``-th file of the 927 small
statlib/numeric tables is taken (the rest are alike). Numeric targets are split at their
mean (``--numeric-target binarize``). Each dataset is scored by a meta-model retrained
without its group (leave-one-group-out), with compare.py's runner: one fresh process per
fit, n_jobs=1, seed 0, outer 75/25 stratified split, scores on the outer test part.
Tables that metasel refuses (no usable feature, ...) are reported as such, not as fit
failures; a class with a single row is trained on, never scored (compare.outer_split).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare  # noqa: E402 - the benchmark runner shared with compare.py

from metasel.estimator import FIT_MARGIN_S, FIT_MARGIN_SHARE  # noqa: E402

OUT = compare.RESULTS / "corpus_sweep"
#: statlib/numeric holds 927 small regression tables of one collection: a sample suffices
SAMPLED_FOLDER, EVERY = "statlib/numeric", 20
METHODS = ("metasel", "lightgbm_default")


def corpus_datasets(every: int) -> list[str]:
    """``folder/name`` of every ARFF file, every ``every``-th of the sampled folder."""
    root = compare.ARFF.parent
    names = []
    for folder in sorted({p.parent for p in root.rglob("*.arff")}):
        files = sorted(folder.glob("*.arff"))
        relative = folder.relative_to(root).as_posix()
        if relative == SAMPLED_FOLDER:
            files = files[::every]
        names += [f"{relative}/{f.stem}" for f in files]
    return names


def run_sweep(args: argparse.Namespace) -> None:
    csv = args.out / "sweep.csv"
    done = compare._done(csv, compare.KEY)
    datasets = args.datasets or corpus_datasets(args.every)
    print(f"{len(datasets)} datasets; rows already in {csv} are skipped", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in datasets:
            jobs = [{"dataset": name, "method": m, "budget": args.budget if m == "metasel" else 0,
                     "seed": 0} for m in args.methods]
            jobs = [j for j in jobs if tuple(j[k] for k in compare.KEY) not in done]
            if not jobs:
                continue
            try:
                if args.max_rows and len(compare.load_benchmark_dataset(name).y) > args.max_rows:
                    continue
                meta_path, _ = compare.holdout_meta_model([name], Path(tmp) / "meta")
            except Exception as error:  # noqa: BLE001 - a table metasel refuses is a row
                _refused(csv, jobs, error)
                continue
            compare._run_jobs(jobs, meta_path, csv, compare.KEY, compare.COLUMNS)


def _refused(csv: Path, jobs: list[dict], error: Exception) -> None:
    rows = [{**job, "error": f"refused: {type(error).__name__}: {error}"[:500]} for job in jobs]
    frame = pd.DataFrame(rows).reindex(columns=compare.COLUMNS)
    frame.to_csv(csv, mode="a", header=not csv.exists(), index=False)
    print(jobs[0]["dataset"], "refused:", str(error)[:120], flush=True)


def outcome(row: pd.Series) -> str:
    """refused (metasel would not load the table) / no outer split (too few rows per class;
    the error came before any fit) / failed / AUC undefined (a test part of one class: a tiny
    table) / ok."""
    error = row["error"] if isinstance(row["error"], str) else ""
    if error.startswith("refused"):
        return "refused"
    if error:
        return "no outer split" if pd.isna(row["fit_time"]) else "failed"
    return "AUC undefined" if pd.isna(row["roc_auc"]) else "ok"


def read_sweep(out: Path) -> pd.DataFrame:
    df = pd.read_csv(out / "sweep.csv")
    return df.assign(outcome=df.apply(outcome, axis=1))


def versus(out: Path, other: Path) -> list[str]:
    """Markdown lines: this run's MetaSel rows against another run's, dataset by dataset
    (a before/after of a code change)."""
    def metasel(path: Path) -> pd.DataFrame:
        df = read_sweep(path)
        return df[df["method"] == "metasel"].set_index("dataset")

    pair = metasel(out).join(metasel(other), rsuffix="_other", how="inner")
    pair = pair[(pair["outcome"] == "ok") & (pair["outcome_other"] == "ok")]
    diff = pair["roc_auc"] - pair["roc_auc_other"]
    small = pair["n_rows"] < 300
    tie = compare.TIE
    rows = [{"datasets": label, "n": int(mask.sum()),
             "roc_auc": pair.loc[mask, "roc_auc"].mean(),
             "roc_auc_other": pair.loc[mask, "roc_auc_other"].mean(),
             "w/t/l": compare.wins_ties_losses(diff[mask]),
             "trials": pair.loc[mask, "n_trials"].mean(),
             "trials_other": pair.loc[mask, "n_trials_other"].mean()}
            for label, mask in (("all", diff.notna()), ("< 300 rows", small),
                                (">= 300 rows", ~small))]
    return [f"## Against `{other}`", "",
            f"MetaSel's test ROC AUC here vs there on the same datasets and splits (w/t/l: "
            f"this run's wins/ties/losses, tie < {tie}; `trials`: mean trials per fit).", "",
            compare._markdown(pd.DataFrame(rows)), ""]


def write_report(out: Path, budget: int, command: str, other: Path | None = None) -> None:
    """sweep.md and sweep_fit_time.png from sweep.csv; ``command`` is the run's command line."""
    df = read_sweep(out)
    warm = df[df["method"] == "metasel"].set_index("dataset")
    default = df[df["method"] == "lightgbm_default"].set_index("dataset")
    limit = budget + FIT_MARGIN_S + FIT_MARGIN_SHARE * budget
    fitted = warm[warm["fit_time"].notna()]
    over = fitted[fitted["fit_time"] > limit]
    both = warm.join(default[["roc_auc", "outcome"]], rsuffix="_default", how="inner")
    both = both[(both["outcome"] == "ok") & (both["outcome_default"] == "ok")]
    diff = both["roc_auc"] - both["roc_auc_default"]
    tie = compare.TIE
    lines = [
        "# MetaSelClassifier across the ARFF corpus", "",
        f"Command: `{command}` (one fresh process per fit, n_jobs=1, seed 0, outer 75/25 "
        "stratified split; every dataset scored by a meta-model retrained without its group). Numeric targets split at their mean.", "",
        f"Datasets: {len(warm)}. Outcomes of `MetaSelClassifier(time_budget={budget})`: "
        + ", ".join(f"{k} {v}" for k, v in warm["outcome"].value_counts().items()) + ".", "",
        "## Time", "",
        f"Documented limit: budget + {FIT_MARGIN_S:g} s + {FIT_MARGIN_SHARE:.0%} = {limit:.2f} s. "
        f"Fit wall time over {len(fitted)} fits: median {fitted['fit_time'].median():.2f} s, "
        f"95th percentile {fitted['fit_time'].quantile(0.95):.2f} s, "
        f"max {fitted['fit_time'].max():.2f} s; **{len(over)} over the limit**"
        + (f" ({', '.join(f'{d} {t:.2f} s' for d, t in over['fit_time'].items())})"
           if len(over) else "") + ".", ""]
    if len(both):  # a sweep run with --methods metasel has no LightGBM rows to compare with
        lines += [
            f"## Test ROC AUC against LightGBM defaults ({len(both)} datasets where both "
            "scored)", "",
            f"Mean {both['roc_auc'].mean():.4f} vs {both['roc_auc_default'].mean():.4f}; "
            f"median difference {diff.median():+.4f}; MetaSel wins/ties/losses "
            f"{compare.wins_ties_losses(diff)} (tie < {tie}).",
            "", "Largest losses:", "",
            compare._markdown(_cases(both, diff[diff < -tie].nsmallest(10).index)), "",
            "Largest wins:", "",
            compare._markdown(_cases(both, diff[diff > tie].nlargest(5).index)), ""]
    problems = warm[warm["outcome"] != "ok"]
    if len(problems):
        lines += ["## Not scored", "", compare._markdown(
            problems.reset_index()[["dataset", "outcome", "n_rows", "error"]].assign(
                error=lambda f: f["error"].astype(str).str.slice(0, 160))), ""]
    if other is not None:
        lines += versus(out, other)
    (out / "sweep.md").write_text("\n".join(lines))
    _plot(fitted, limit, budget, out)


def _cases(both: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    table = both.loc[index, ["n_rows", "n_features", "n_classes", "roc_auc", "roc_auc_default",
                             "final_model", "best_learner", "n_trials", "fit_time"]]
    counts = ["n_rows", "n_features", "n_classes", "n_trials"]
    return table.astype(dict.fromkeys(counts, "Int64")).reset_index().round(4)


def _plot(fitted: pd.DataFrame, limit: float, budget: int, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = fitted["n_rows"] * fitted["n_features"].clip(lower=1)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.scatter(cells, fitted["fit_time"], s=12, alpha=0.7)
    ax.axhline(budget, color="grey", linestyle=":", label=f"budget {budget} s")
    ax.axhline(limit, color="red", linestyle="--", label=f"documented limit {limit:.2f} s")
    ax.set(xscale="log", xlabel="table cells (rows x features)",
           ylabel="fit wall time (s)", title="MetaSelClassifier fit time across the corpus")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "sweep_fit_time.png", dpi=120)
    plt.close(fig)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=5)
    parser.add_argument("--every", type=int, default=EVERY,
                        help=f"take every N-th table of {SAMPLED_FOLDER}")
    parser.add_argument("--datasets", nargs="+", help="folder/name under the ARFF root")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--max-rows", type=int, help="only tables with at most this many rows")
    parser.add_argument("--versus", type=Path,
                        help="another sweep's folder: add a before/after table of MetaSel")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--report-only", action="store_true")
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.WARNING)
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        run_sweep(args)
    write_report(args.out, args.budget, run_command(args), args.versus)


def run_command(args: argparse.Namespace) -> str:
    """The command line of the sweep whose rows the report reads (without report options)."""
    parts = ["python benchmarks/corpus_sweep.py", f"--budget {args.budget}"]
    if args.every != EVERY:
        parts.append(f"--every {args.every}")
    if args.datasets:
        parts.append("--datasets " + " ".join(args.datasets))
    if list(args.methods) != list(METHODS):
        parts.append("--methods " + " ".join(args.methods))
    if args.max_rows:
        parts.append(f"--max-rows {args.max_rows}")
    if args.out != OUT:
        parts.append(f"--out {args.out}")
    return " ".join(parts)


if __name__ == "__main__":
    main()
