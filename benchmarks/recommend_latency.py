"""Latency of `metasel.recommend` beyond meta-feature extraction (issue: under one second).

    python benchmarks/recommend_latency.py [--rows 10000] [--repeats 5]

On a synthetic mixed-type table (numeric, categorical, missing values) of ``--rows`` rows it
times, separately: loading the shipped meta-model from disk (every repeat reads the files
again; the first is also the process's first import of the readers), meta-feature
extraction, and ranking + explanations + warm-start configurations. Writes results/recommend_latency.{md,csv}.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from metasel.data import load_dataset
from metasel.meta import MetaModel
from metasel.metafeatures import extract_metafeatures
from metasel.recommend import recommend_from_metafeatures

RESULTS = Path(__file__).resolve().parent / "results"


def mixed_table(n_rows: int, seed: int = 0) -> pd.DataFrame:
    """20 numeric and 5 categorical columns, 5% missing, a binary target tied to both."""
    rng = np.random.default_rng(seed)
    numeric = rng.normal(size=(n_rows, 20))
    frame = pd.DataFrame(numeric, columns=[f"x{i}" for i in range(20)])
    for j in range(5):
        frame[f"c{j}"] = pd.Categorical(rng.choice(list("abcdefgh"[: 3 + j]), n_rows))
    logit = numeric[:, 0] - numeric[:, 1] + (frame["c0"] == "a").to_numpy()
    frame["y"] = np.where(logit + rng.normal(size=n_rows) > 0, "yes", "no")
    mask = rng.random((n_rows, 25)) < 0.05
    for j, column in enumerate(frame.columns[:25]):
        frame.loc[mask[:, j], column] = np.nan
    return frame


def _timed(fn, *args, **kwargs):
    tic = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - tic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    dataset = load_dataset(mixed_table(args.rows), target="y")
    rows = []
    for repeat in range(args.repeats):
        model, load_s = _timed(MetaModel.default, "roc_auc")
        mf, extract_s = _timed(extract_metafeatures, dataset, random_state=repeat)
        recs, rank_s = _timed(recommend_from_metafeatures, mf, model, top=5)
        rows.append({"repeat": repeat, "rows": args.rows, "load_meta_model_s": load_s,
                     "extract_metafeatures_s": extract_s, "rank_and_explain_s": rank_s,
                     "beyond_extraction_s": load_s + rank_s, "top_learner": recs[0].learner})
    frame = pd.DataFrame(rows)
    RESULTS.mkdir(exist_ok=True)
    frame.to_csv(RESULTS / "recommend_latency.csv", index=False)
    numeric = frame.drop(columns=["repeat", "rows", "top_learner"])
    lines = ["# recommend latency", "",
             f"Command: `python benchmarks/recommend_latency.py --rows {args.rows} "
             f"--repeats {args.repeats}`. Every repeat reads the meta-model from disk again; "
             "the first call is also the process's first.", "",
             "| seconds | " + " | ".join(numeric.columns) + " |",
             "|---|" + "---|" * len(numeric.columns)]
    for label, values in (("first call", numeric.iloc[0]), ("median", numeric.median()),
                          ("max", numeric.max())):
        lines.append(f"| {label} | " + " | ".join(f"{v:.3f}" for v in values) + " |")
    (RESULTS / "recommend_latency.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
