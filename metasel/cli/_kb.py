"""`metasel kb ...`: summarise, merge, import and build knowledge bases."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from metasel.cli._errors import user_errors
from metasel.cli._source import NumericTarget, NumericTargetOption
from metasel.exceptions import DataError

if TYPE_CHECKING:
    from metasel.kb import KnowledgeBase
    from metasel.kb._build import BuildProgress

kb_app = typer.Typer(
    name="kb",
    help="Knowledge bases: summarise, merge, import LCDB, build from datasets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def register(app: typer.Typer) -> None:
    """Attach the `kb` command group to the root app."""
    app.add_typer(kb_app, name="kb")


@kb_app.command("info")
def info(
    path: Annotated[Path | None, typer.Argument(help="KB folder; the shipped KB when omitted.")] = None,
    part: Annotated[str | None, typer.Option(help="Shipped part only: 'kb' (own evaluations) or 'lcdb'.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Summarise a knowledge base: datasets, groups, learners, evaluations, compute time."""
    from metasel.kb import KnowledgeBase

    with user_errors():
        kb = KnowledgeBase.open(path) if path is not None else KnowledgeBase.default(part)
        summary = kb.summary()
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    _print_summary(summary)


def open_kb(kb: str | Path) -> KnowledgeBase:
    """A KB folder, or 'default' ('all'), 'kb' or 'lcdb' for the shipped parts."""
    from metasel.kb import KnowledgeBase

    name = str(kb)
    if name in ("default", "all"):
        return KnowledgeBase.default()
    if name in ("lcdb", "kb") and not Path(name).exists():
        return KnowledgeBase.default(name)
    return KnowledgeBase.open(kb)


@kb_app.command("train-meta")
def train_meta(
    sources: Annotated[list[str], typer.Argument(help="KB folders, or 'default', 'kb', 'lcdb' for the shipped parts; combined.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the meta-model to.")],
    metric: Annotated[str, typer.Option(help="roc_auc, accuracy, balanced_accuracy or log_loss.")] = "roc_auc",
    min_coverage: Annotated[float, typer.Option(help="Share of its source's learners a dataset needs scores for.")] = 0.9,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Train a meta-model on KBs (e.g. the shipped one plus your own) for fit/recommend --meta-model."""
    from metasel.kb import KnowledgeBase
    from metasel.meta import MetaModel

    with user_errors():
        if out.exists() and not out.is_dir():
            raise DataError(f"--out must be a folder for the meta-model; {out} is a file.")
        kbs = [open_kb(source) for source in sources]
        model = MetaModel.fit(KnowledgeBase.combine(kbs), metric, min_coverage=min_coverage)
        path = model.save(out)
    used = set(model.train_info.index)
    ids = [set(kb.datasets["dataset_id"]) for kb in kbs]  # one table conversion per KB
    per_source = [{"kb": source, "datasets": len(known), "used": len(used & known)}
                  for source, known in zip(sources, ids, strict=True)]
    if as_json:
        typer.echo(json.dumps({"out": str(path), "metric": metric, "n_datasets": len(used),
                               "learners": list(model.learners), "fingerprint": model.fingerprint,
                               "sources": per_source}, indent=2))
        return
    for entry in per_source:
        typer.echo(f"{entry['kb']}: {entry['used']} of {entry['datasets']} datasets used")
    typer.echo(f"Trained a {metric} meta-model on {len(used)} datasets and "
               f"{len(model.learners)} learners; saved to {path}. Use it with "
               f"`metasel fit DATA --meta-model {path}` or `metasel recommend DATA --meta-model "
               f"{path}`. A dataset scored for fewer than {min_coverage:.0%} of its source's "
               "learners is left out (--min-coverage).")


def _print_summary(summary: dict) -> None:
    console = Console()
    head = Table(title=f"Knowledge base: {', '.join(summary['paths'])}", show_header=False)
    head.add_column("what")
    head.add_column("value", justify="right")
    rows = [
        ("datasets", summary["n_datasets"]),
        ("dataset groups", summary["n_groups"]),
        ("datasets with evaluations", summary["n_datasets_with_evaluations"]),
        ("meta-features", summary["n_metafeatures"]),
        ("learners", len(summary["learners"])),
        ("evaluations", summary["n_evaluations"]),
        ("median configurations per learner x dataset", f"{summary['median_configs_per_learner_dataset']:g}"),
        ("failed (timeouts included)", summary["n_failed"]),
        ("timeouts", summary["n_timeout"]),
        ("compute (fit + predict)", f"{summary['compute_seconds'] / 3600:.1f} h"),
        ("sources", ", ".join(f"{k}: {v}" for k, v in summary["sources"].items())),
        ("origins", ", ".join(f"{k}: {v}" for k, v in summary["origins"].items())),
    ]
    for name, value in rows:
        head.add_row(name, str(value))
    console.print(head)
    learners = Table(title="Evaluations per learner")
    learners.add_column("learner")
    learners.add_column("evaluations", justify="right")
    for name, count in summary["evaluations_per_learner"].items():
        learners.add_row(name, str(count))
    console.print(learners)


@kb_app.command("merge")
def merge_cmd(
    inputs: Annotated[list[Path], typer.Argument(help="KB folders to combine.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="KB folder to write (created or extended).")],
) -> None:
    """Combine KBs into one compact KB, dropping duplicate evaluations (newest kept)."""
    from metasel.kb import merge

    with user_errors():
        merged = merge(inputs, out)
        summary = merged.summary()
    typer.echo(f"Merged {len(inputs)} KB(s) into {out}: {summary['n_datasets']} datasets, "
               f"{summary['n_evaluations']} evaluations.")


@kb_app.command("import-lcdb")
def import_lcdb_cmd(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="KB folder to write; default: the shipped LCDB part.")] = None,
    source: Annotated[Path | None, typer.Option(help="Folder of LCDB's CSVs; default: the installed lcdb package.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the resulting summary as JSON.")] = False,
) -> None:
    """Import the Learning Curve Database (20 learners x ~250 OpenML datasets) into a KB."""
    from metasel.kb import DEFAULT_PARTS, import_lcdb

    target = out if out is not None else DEFAULT_PARTS["lcdb"]
    started = time.perf_counter()
    with user_errors():
        kb = import_lcdb(target, source=source)
        summary = kb.summary()
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    typer.echo(f"Imported LCDB into {target} in {time.perf_counter() - started:.1f} s.")
    _print_summary(summary)


@kb_app.command("build")
def build(
    sources: Annotated[list[str], typer.Option("--source", "-s", help="Folder/file, 'openml:<ids>', 'openml:suite:<id>', 'keel[:...]', 'sklearn[:...]'; repeatable.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="KB folder to create or resume.")],
    learners: Annotated[list[str] | None, typer.Option("--learner", "-l", help="Zoo learner to evaluate; repeatable (default: all).")] = None,
    n_configs: Annotated[int, typer.Option(help="Sampled configurations per learner and dataset, besides the default.")] = 20,
    folds: Annotated[int, typer.Option(help="Stratified cross-validation folds.")] = 3,
    max_rows: Annotated[int, typer.Option(help="Subsample larger tables to this many rows (0: never).")] = 5000,
    time_limit: Annotated[float, typer.Option(help="Seconds one evaluation (all folds) may take (0: no limit).")] = 120.0,
    curve_sizes: Annotated[str, typer.Option(help="Learning-curve training sizes of the defaults, comma separated ('' for none).")] = "64,256,1024",
    seed: Annotated[int, typer.Option(help="Seed of the splits, subsamples and sampled configurations.")] = 0,
    n_jobs: Annotated[int, typer.Option(help="Local parallel evaluations (joblib).")] = 1,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address, e.g. tcp://host:8786.")] = None,
    dask_workers: Annotated[int | None, typer.Option(help="Run on a local Dask cluster with this many workers.")] = None,
    max_datasets: Annotated[int | None, typer.Option(help="Stop after this many usable datasets.")] = None,
    task: Annotated[str | None, typer.Option(help="Keep only 'binary' or 'multiclass' datasets.")] = None,
    min_rows: Annotated[int, typer.Option(help="Skip datasets with fewer rows.")] = 10,
    max_dataset_rows: Annotated[int | None, typer.Option(help="Skip datasets with more rows (before subsampling).")] = None,
    min_classes: Annotated[int, typer.Option(help="Skip datasets with fewer classes.")] = 2,
    max_classes: Annotated[int | None, typer.Option(help="Skip datasets with more classes.")] = None,
    metafeatures: Annotated[bool, typer.Option(help="Compute meta-features of new datasets.")] = True,
    compact_seconds: Annotated[float, typer.Option(help="Compact the KB to one file per table this often and at the end (0: never).")] = 900.0,
    flush_seconds: Annotated[float, typer.Option(help="Write buffered results at least this often.")] = 30.0,
    numeric_target: NumericTargetOption = NumericTarget.error,
    as_json: Annotated[bool, typer.Option("--json", help="Print the build report as JSON (no progress bar).")] = False,
) -> None:
    """Evaluate learners x configurations on datasets into a KB; re-running resumes."""
    from metasel.kb._build import build_kb
    from metasel.kb._sources import SourceFilter, parse_source

    if task not in (None, "binary", "multiclass"):
        raise typer.BadParameter(f"--task must be 'binary' or 'multiclass'; got {task!r}.")
    try:
        sizes = [int(s) for s in curve_sizes.split(",") if s.strip()]
    except ValueError:
        raise typer.BadParameter(f"--curve-sizes must be integers separated by commas; got {curve_sizes!r}.") from None
    filters = SourceFilter(task=task, min_rows=min_rows, max_rows=max_dataset_rows,
                           min_classes=min_classes, max_classes=max_classes)
    options = dict(learners=learners or None, n_configs=n_configs, n_folds=folds,
                   max_rows=max_rows or None, time_limit=time_limit or None, curve_sizes=sizes,
                   seed=seed, n_jobs=n_jobs, scheduler=scheduler, dask_workers=dask_workers,
                   max_datasets=max_datasets, filters=filters, metafeatures=metafeatures,
                   flush_seconds=flush_seconds, compact_seconds=compact_seconds or None)
    with user_errors():
        specs = [dataclasses.replace(parse_source(s), numeric_target=NumericTarget(numeric_target).value)
                 for s in sources]
        if as_json:
            report = build_kb(specs, out, **options)
        else:
            with _BuildProgressBar() as bar:
                report = build_kb(specs, out, progress=bar.update, **options)
    payload = {**dataclasses.asdict(report), "out": str(report.out)}
    if as_json:
        typer.echo(json.dumps(payload, indent=2))
        return
    typer.echo(f"Built {out}: {report.written} evaluations written ({report.failed} failed, "
               f"{report.timeouts} timed out), {report.already_stored} already stored, "
               f"{len(report.datasets)} datasets, {len(report.skipped)} skipped, "
               f"{report.seconds:.0f} s.")


class _BuildProgressBar:
    """A rich progress bar fed by the build's progress callback (evaluations, ETA, failures)."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn(), console=Console(stderr=True), transient=False,
        )
        self._task = None

    def __enter__(self) -> _BuildProgressBar:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(*exc)

    def update(self, state: BuildProgress) -> None:
        status = f"{state.datasets} datasets, {state.failed} failed, {state.timeouts} timeouts"
        if self._task is None:
            self._task = self._progress.add_task("evaluations", total=state.total, status=status)
        last = state.last or {}
        description = f"{last.get('dataset_id', 'evaluations')} {last.get('learner', '')}".strip()
        self._progress.update(self._task, completed=state.done, total=state.total,
                              status=status, description=description[:40])


@kb_app.command("compact")
def compact_cmd(
    path: Annotated[Path, typer.Argument(help="KB folder to compact (e.g. before shipping or committing).")],
) -> None:
    """Merge a KB's partition files into one de-duplicated file per table (safe while others write)."""
    from metasel.kb import KBWriter, KnowledgeBase

    with user_errors():
        KnowledgeBase.open(path)  # refuse to create a KB where none exists
        merged = KBWriter(path).compact()
    typer.echo(f"Compacted {path}: merged {merged['datasets']} dataset file(s) and "
               f"{merged['evaluations']} evaluation file(s).")
