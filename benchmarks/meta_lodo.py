"""Leave-one-group-out benchmark of the meta-model on each shipped KB part.

Run: python benchmarks/meta_lodo.py [--part lcdb:accuracy --part kb:roc_auc ...]
Writes benchmarks/results/meta_lodo.{md,csv,png}. Every number comes from
metasel.meta.evaluate_lodo: the held-out group (all variants of one source) is never seen
by the scaler, the rankers or the warm-start proposer of its fold.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from metasel.exceptions import KnowledgeBaseError  # noqa: E402
from metasel.kb import KnowledgeBase  # noqa: E402
from metasel.meta import evaluate_lodo, result_tables  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_PARTS = ("lcdb:accuracy", "lcdb:roc_auc", "kb:roc_auc", "kb:accuracy")


def _markdown(frame: pd.DataFrame) -> str:
    shown = frame.copy()
    for column in shown.columns:
        if pd.api.types.is_float_dtype(shown[column]):
            shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
    header = "| " + " | ".join(map(str, shown.columns)) + " |"
    rule = "|" + "---|" * len(shown.columns)
    rows = ["| " + " | ".join(map(str, r)) + " |" for r in shown.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def run_part(part: str, min_coverage: float) -> tuple[str, list[pd.DataFrame], str]:
    name, _, metric = part.partition(":")
    kb = KnowledgeBase.default(name)
    start = time.perf_counter()
    result = evaluate_lodo(kb, metric, min_coverage=min_coverage)
    seconds = time.perf_counter() - start
    tables = result_tables(result)
    lines = [f"## {name} part, {metric} ({result.n_datasets} datasets, {result.n_groups} "
             f"groups, {seconds:.0f} s)", "",
             f"Interval coverage: {result.interval_coverage:.1%} of held-out (dataset, learner) "
             "scores fall inside the recommended 10-90% interval.", ""]
    frames = []
    for table_name, frame in tables.items():
        lines += [f"### {table_name}", "", _markdown(frame), ""]
        frames.append(frame.assign(part=name, metric=metric, table=table_name))
    return part, frames, "\n".join(lines)


def plot(frames: pd.DataFrame, path: Path) -> None:
    rankers = frames[frames["table"] == "rankers"]
    probes = frames[frames["table"] == "probes"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for key, rows in rankers.groupby(["part", "metric"]):
        axes[0].plot(rows["method"], rows["closed_gap"], marker="o", label=":".join(key))
    axes[0].axhline(0, color="grey", lw=0.8)
    axes[0].axhline(0.4, color="red", lw=0.8, ls="--", label="target 40%")
    axes[0].set_title("Closed gap (single best = 0, oracle = 1), meta-features only")
    axes[0].legend(fontsize=8)
    axes[0].tick_params(axis="x", rotation=30)
    for (part, metric, method, anchor), rows in probes.groupby(["part", "metric", "method", "anchor"]):
        if method == "probe_only" or method.endswith("w=0.1)"):
            axes[1].plot(rows["probed"], rows["closed_gap"], marker=".",
                         label=f"{part}:{metric} {method} @{anchor}")
    axes[1].set_title("Prior + learning-curve probes: closed gap by probe budget")
    axes[1].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", action="append", default=None,
                        help="<kb part>:<metric>, e.g. lcdb:accuracy (repeatable)")
    parser.add_argument("--min-coverage", type=float, default=0.9)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    RESULTS.mkdir(parents=True, exist_ok=True)
    sections, frames = [], []
    for part in args.part or DEFAULT_PARTS:
        try:
            _, part_frames, text = run_part(part, args.min_coverage)
        except KnowledgeBaseError as exc:
            print(f"skipping {part}: {exc}")
            continue
        print(text)
        sections.append(text)
        frames.extend(part_frames)
    if not frames:
        raise SystemExit("no KB part could be evaluated")
    table = pd.concat(frames, ignore_index=True)
    table.to_csv(RESULTS / "meta_lodo.csv", index=False)
    intro = ("# Meta-model, leave-one-group-out\n\nCommand: `python benchmarks/meta_lodo.py`. "
             "Regrets are in metric points (x100). closed_gap = (regret single_best - regret "
             "method) / regret single_best. Warm-start regrets are against the best "
             "configuration recorded for that dataset and learner.\n")
    (RESULTS / "meta_lodo.md").write_text(intro + "\n" + "\n".join(sections))
    plot(table, RESULTS / "meta_lodo.png")
    print(f"wrote {RESULTS / 'meta_lodo.md'}, .csv, .png")


if __name__ == "__main__":
    main()
