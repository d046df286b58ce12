"""Speed and memory of ``extract_metafeatures`` against pymfe on the same synthetic tables.

Tables: numeric (50 float columns) and mixed (half float, half categorical with 2-12
levels, 2% missing cells), 1k to 1M rows, 3 classes. pymfe runs with its default groups
(general, statistical, info-theory, model-based, landmarking) on the numeric tables up to
``--pymfe-max-rows`` rows (it needs ~54 s at 20,000 x 50). Times are the best of 3 runs
(wall and process CPU: the machine may be shared); peak memory is tracemalloc's peak of
new allocations during one extraction, also as a multiple of the table's size. Writes
``benchmarks/results/metafeatures_speed.csv`` and ``.md``.

    python benchmarks/metafeatures_speed.py [--max-rows 1000000] [--pymfe-max-rows 20000]
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from metasel.data import Dataset  # noqa: E402
from metasel.metafeatures import extract_metafeatures  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def synthetic(n_rows: int, n_cols: int, kind: str, seed: int = 0) -> Dataset:
    """A 3-class table whose class depends on a few columns (so landmarkers have signal)."""
    rng = np.random.default_rng(seed)
    n_num = n_cols if kind == "numeric" else n_cols // 2
    num = rng.normal(size=(n_rows, n_num)) * rng.uniform(0.5, 5, n_num) + rng.normal(0, 3, n_num)
    score = num[:, 0] - num[:, 1] + 0.5 * rng.normal(size=n_rows)
    y = pd.Categorical(np.digitize(score, np.quantile(score, [0.5, 0.8])).astype(str))
    X = pd.DataFrame(num, columns=[f"x{j}" for j in range(n_num)])
    for j in range(n_cols - n_num):
        levels = 2 + j % 11
        codes = rng.integers(0, levels, n_rows)
        codes[rng.random(n_rows) < 0.02] = -1
        X[f"c{j}"] = pd.Categorical.from_codes(codes, categories=[f"v{v}" for v in range(levels)])
    if kind == "mixed":
        X.iloc[:, :n_num] = X.iloc[:, :n_num].mask(rng.random((n_rows, n_num)) < 0.02)
    return Dataset(X=X, y=pd.Series(y, name="class"), name=f"{kind}_{n_rows}x{n_cols}",
                   source="frame", source_id="synthetic", group="synthetic")


def time_ours(dataset: Dataset, repeats: int = 3) -> dict[str, float]:
    """Best-of-``repeats`` wall and CPU seconds, and tracemalloc's peak during one run."""
    extract_metafeatures(dataset)  # warm-up: imports and caches
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        extract_metafeatures(dataset)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    size = dataset.X.memory_usage(deep=True).sum()
    tracemalloc.start()
    extract_metafeatures(dataset)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"metasel_s": round(min(walls), 3), "metasel_cpu_s": round(min(cpus), 3),
            "table_mb": round(size / 1e6, 1), "peak_extra_mb": round(peak / 1e6, 1),
            "peak_x_table": round(peak / size, 2)}


def time_pymfe(dataset: Dataset) -> float:
    from pymfe.mfe import MFE

    X = dataset.X.to_numpy(dtype=float)
    y = dataset.y.cat.codes.to_numpy()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        MFE(random_state=0).fit(X, y, suppress_warnings=True).extract(suppress_warnings=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-rows", type=int, default=1_000_000)
    parser.add_argument("--pymfe-max-rows", type=int, default=20_000)
    args = parser.parse_args()
    cases = [(n, 50, "numeric") for n in (1_000, 5_000, 20_000, 100_000, 1_000_000)]
    cases += [(n, 100, "mixed") for n in (1_000, 10_000, 100_000, 1_000_000)]
    rows = []
    for n, p, kind in cases:
        if n > args.max_rows:
            continue
        ds = synthetic(n, p, kind)
        ours = time_ours(ds, repeats=1 if n >= 1_000_000 else 3)
        pymfe = time_pymfe(ds) if kind == "numeric" and n <= args.pymfe_max_rows else float("nan")
        row = {"kind": kind, "rows": n, "cols": p, **ours, "pymfe_s": round(pymfe, 2),
               "speedup_wall": round(pymfe / ours["metasel_s"], 1)}
        rows.append(row)
        print(row, flush=True)
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    RESULTS.mkdir(parents=True, exist_ok=True)
    table.to_csv(RESULTS / "metafeatures_speed.csv", index=False)
    lines = ["# Meta-feature extraction speed (metasel vs pymfe default groups)", "",
             "Command: `python benchmarks/metafeatures_speed.py`; 2-core machine shared with other jobs.", "",
             "| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(str(v) for v in r) + " |" for r in table.itertuples(index=False)]
    (RESULTS / "metafeatures_speed.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
