"""The KB build loop: datasets x learners x (default + sampled configurations).

Breadth first, so a build stopped at any moment is as useful as possible: round 0 runs
every learner's default configuration on every dataset, round 1 the learning-curve points
of the defaults, then each further round adds one sampled configuration per
(dataset, learner). Sampled configurations come from a seeded Optuna sampler, one list
per learner shared by every dataset (paired results, stable across resumes).

Resume: every evaluation has a key ``(dataset_id, learner, config_id, train_size)``
known before it runs; keys the KB already holds are skipped. Results are written as they
arrive (buffered for at most ``flush_seconds``) through the store's atomic writer, so a
killed build loses at most that buffer.

Execution: locally through joblib (``n_jobs``), or on Dask (``scheduler`` address or
``dask_workers`` for a loopback ``LocalCluster``). Either way each evaluation runs in a
killable sandbox process with a time limit (:mod:`metasel.kb._sandbox`).
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import pandas as pd

from metasel.data import Dataset
from metasel.exceptions import KnowledgeBaseError
from metasel.kb._evaluate import (
    DEFAULT_FOLDS,
    DEFAULT_MAX_ROWS,
    EvaluationTask,
    dataset_fingerprint,
    failed_record,
    full_train_size,
    prepare_dataset,
    record_key,
)
from metasel.kb._sandbox import run_sandboxed
from metasel.kb._sources import SourceFilter, SourceSpec, iter_sources
from metasel.kb._store import KBWriter
from metasel.learners import LEARNERS, config_id, get_learner

logger = logging.getLogger(__name__)

DEFAULT_CURVE_SIZES = (64, 256, 1024)
"""Learning-curve training sizes for default configurations (a subset of LCDB's anchors)."""


@dataclass
class BuildProgress:
    """What a progress callback receives after every finished evaluation and at the start."""

    total: int
    done: int = 0
    failed: int = 0
    timeouts: int = 0
    datasets: int = 0
    skipped_datasets: int = 0
    started: float = field(default_factory=time.monotonic)
    last: dict[str, Any] | None = None

    @property
    def eta_seconds(self) -> float | None:
        """Remaining seconds at the mean pace so far (``None`` before the first result)."""
        if self.done == 0:
            return None
        elapsed = time.monotonic() - self.started
        return elapsed / self.done * (self.total - self.done)


@dataclass
class BuildReport:
    """What a build did: evaluations written, skipped as already stored, datasets skipped."""

    out: Path
    written: int = 0
    already_stored: int = 0
    failed: int = 0
    timeouts: int = 0
    datasets: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


ProgressCallback = Callable[[BuildProgress], None]


def sampled_configs(learner: str, n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` distinct sampled params of ``learner`` (seeded Optuna RandomSampler).

    The list for a larger ``n`` extends the one for a smaller ``n``, so raising
    ``n_configs`` on a resumed build only adds configurations.
    """
    entry = get_learner(learner)
    sampler = optuna.samplers.RandomSampler(seed=seed + zlib.crc32(learner.encode()))
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(sampler=sampler)
        seen = {config_id({"learner": learner, "params": entry.default_params()})}
        configs: list[dict[str, Any]] = []
        for _ in range(50 * max(n, 1)):
            if len(configs) >= n:
                break
            trial = study.ask()
            params = entry.suggest(trial)
            study.tell(trial, 0.0)
            cid = config_id({"learner": learner, "params": params})
            if cid not in seen:
                seen.add(cid)
                configs.append(params)
    finally:
        optuna.logging.set_verbosity(verbosity)
    return configs


@dataclass(frozen=True)
class _Prepared:
    dataset_id: str
    dataset: Dataset  # subsampled to max_rows
    key: str = ""  # dataset_fingerprint: what the sandboxes cache the table under

    @property
    def n_rows(self) -> int:
        return self.dataset.shape[0]


def plan_tasks(prepared: Sequence[_Prepared], learners: Sequence[str], *, n_configs: int,
               n_folds: int, seed: int, curve_sizes: Sequence[int]) -> Iterator[tuple[int, _Prepared, EvaluationTask]]:
    """``(round, dataset, task)`` in breadth-first order (see the module docstring).

    Within a round, the first dataset of every group comes before any second variant
    (keel's imbalanced sets), so an interrupted round still covers the most groups.
    """
    prepared = group_first(prepared)
    sampled = {name: sampled_configs(name, n_configs, seed) for name in learners}

    def task(p: _Prepared, name: str, params: dict, origin: str, size: int | None = None):
        return EvaluationTask(p.dataset_id, p.dataset.group, name, params, origin, seed, n_folds, size)

    for p in prepared:
        for name in learners:
            yield 0, p, task(p, name, get_learner(name).default_params(), "default")
    for p in prepared:
        full = full_train_size(p.n_rows, n_folds)
        for size in sorted(s for s in curve_sizes if s < full):
            for name in learners:
                yield 1, p, task(p, name, get_learner(name).default_params(), "default", size)
    for i in range(n_configs):
        for p in prepared:
            for name in learners:
                if i < len(sampled[name]):
                    yield 2 + i, p, task(p, name, sampled[name][i], "sampled")


def group_first(prepared: Sequence[_Prepared]) -> list[_Prepared]:
    """``prepared`` reordered by rank within its group, then by original position."""
    ranks: dict[str, int] = {}
    keyed = []
    for position, p in enumerate(prepared):
        rank = ranks.get(p.dataset.group, 0)
        ranks[p.dataset.group] = rank + 1
        keyed.append((rank, position, p))
    return [p for _, _, p in sorted(keyed, key=lambda k: (k[0], k[1]))]


def _dataset_row(item_id: str, dataset: Dataset, metafeatures: bool, seed: int) -> dict[str, Any]:
    row: dict[str, Any] = {
        "dataset_id": item_id, "name": dataset.name, "source": dataset.source,
        "source_id": dataset.source_id, "group": dataset.group, "task": dataset.task,
        "n_rows": dataset.shape[0], "n_features": dataset.shape[1],
        "n_classes": dataset.n_classes,
        "openml_id": int(dataset.source_id) if dataset.source == "openml" else None,
    }
    if metafeatures:
        from metasel.metafeatures import extract_metafeatures

        row.update(extract_metafeatures(dataset, random_state=seed).to_dict())
    return row


def _run_local(jobs: Iterable[tuple[_Prepared, EvaluationTask]], n_jobs: int,
               time_limit: float | None) -> Iterator[dict[str, Any]]:
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered", pre_dispatch="2*n_jobs")
    yield from parallel(
        delayed(run_sandboxed)(p.key, p.dataset, task, time_limit) for p, task in jobs
    )


def _run_dask(jobs: Sequence[tuple[int, _Prepared, EvaluationTask]], time_limit: float | None,
              scheduler: str | None, dask_workers: int | None) -> Iterator[dict[str, Any]]:
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=dask_workers or 1, threads_per_worker=1,
                               host="127.0.0.1", dashboard_address=None)
    client = Client(scheduler or cluster)
    try:
        scattered: dict[str, Any] = {}
        submitted: dict[Any, tuple[_Prepared, EvaluationTask]] = {}
        for round_, p, task in jobs:
            if p.dataset_id not in scattered:
                scattered[p.dataset_id] = client.scatter(p.dataset)
            future = client.submit(run_sandboxed, p.key, scattered[p.dataset_id], task,
                                   time_limit, pure=False, priority=-round_)
            submitted[future] = (p, task)
        for future in as_completed(list(submitted)):
            p, task = submitted.pop(future)
            try:
                yield future.result()
            except Exception as error:  # noqa: BLE001 - a lost worker fails one evaluation only
                yield failed_record(task, p.n_rows, "failed", f"Dask task failed: {error!r}")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _load_datasets(sources: Sequence[str | SourceSpec], filters: SourceFilter | None,
                   max_datasets: int | None, max_rows: int | None, seed: int,
                   report: BuildReport) -> list[tuple[Dataset, _Prepared]]:
    """Load the sources: (full dataset, prepared copy) pairs; skip reasons go to ``report``."""
    loaded: list[tuple[Dataset, _Prepared]] = []
    for item in iter_sources(sources, filters):
        if max_datasets is not None and len(loaded) >= max_datasets:
            break
        if item.dataset is None:
            report.skipped[item.dataset_id] = item.reason or "not loaded"
            continue
        table = prepare_dataset(item.dataset, max_rows, seed)
        prepared = _Prepared(item.dataset_id, table, dataset_fingerprint(item.dataset_id, table))
        loaded.append((item.dataset, prepared))
    return loaded


def _register_datasets(writer: KBWriter, loaded: Sequence[tuple[Dataset, _Prepared]],
                       skipped: dict[str, str], metafeatures: bool, seed: int) -> KBWriter:
    """Write the rows of datasets new to the KB, and the skip reasons into its manifest."""
    stored = writer.existing_dataset_ids()
    rows = []
    for full, prepared in loaded:
        if prepared.dataset_id in stored:
            continue
        try:
            rows.append(_dataset_row(prepared.dataset_id, full, metafeatures, seed))
        except Exception as error:  # noqa: BLE001 - one dataset's meta-features never stop a build
            logger.warning("meta-features of %s failed: %s", prepared.dataset_id, error)
            rows.append(_dataset_row(prepared.dataset_id, full, False, seed))
    if rows:
        writer.write_datasets(pd.DataFrame(rows))
    if not skipped:
        return writer
    known = writer.manifest.get("notes", {}).get("skipped_datasets", {})
    merged = dict(sorted({**known, **skipped}.items()))
    return KBWriter(writer.path, notes={"skipped_datasets": merged})


def _pending(plan: Iterable[tuple[int, _Prepared, EvaluationTask]], stored: set[tuple],
             report: BuildReport) -> list[tuple[int, _Prepared, EvaluationTask]]:
    """The planned tasks the KB does not hold yet (and that their learner's guard allows)."""
    jobs = []
    for round_, p, task in plan:
        limit = get_learner(task.learner).max_rows
        if limit is not None and p.n_rows > limit:
            continue
        if record_key(task, p.n_rows) in stored:
            report.already_stored += 1
            continue
        jobs.append((round_, p, task))
    return jobs


def _stream_to_store(results: Iterable[dict[str, Any]], writer: KBWriter, state: BuildProgress,
                     report: BuildReport, progress: ProgressCallback | None,
                     flush_seconds: float, compact_seconds: float | None) -> None:
    """Write results as they arrive: at least every ``flush_seconds``, and when interrupted."""
    buffer: list[dict[str, Any]] = []
    last_flush = last_compact = time.monotonic()
    try:
        for record in results:
            buffer.append(record)
            state.done += 1
            state.failed += record["status"] == "failed"
            state.timeouts += record["status"] == "timeout"
            state.last = record
            if progress is not None:
                progress(state)
            if time.monotonic() - last_flush >= flush_seconds:
                report.written += writer.write_evaluations(pd.DataFrame(buffer))
                buffer, last_flush = [], time.monotonic()
                if compact_seconds is not None and last_flush - last_compact >= compact_seconds:
                    writer.compact()
                    last_compact = time.monotonic()
    finally:  # an interrupted build (Ctrl-C, an error) still keeps what it finished
        if buffer:
            report.written += writer.write_evaluations(pd.DataFrame(buffer))
    report.failed, report.timeouts = state.failed, state.timeouts


def build_kb(
    sources: Sequence[str | SourceSpec],
    out: str | Path,
    *,
    learners: Sequence[str] | None = None,
    n_configs: int = 20,
    n_folds: int = DEFAULT_FOLDS,
    max_rows: int | None = DEFAULT_MAX_ROWS,
    time_limit: float | None = 120.0,
    curve_sizes: Sequence[int] = DEFAULT_CURVE_SIZES,
    seed: int = 0,
    n_jobs: int = 1,
    scheduler: str | None = None,
    dask_workers: int | None = None,
    max_datasets: int | None = None,
    filters: SourceFilter | None = None,
    metafeatures: bool = True,
    flush_seconds: float = 30.0,
    compact_seconds: float | None = 900.0,
    progress: ProgressCallback | None = None,
) -> BuildReport:
    """Evaluate every learner on every dataset of ``sources`` into the KB folder ``out``.

    Re-running the same call resumes: stored evaluations are skipped, nothing is written
    twice. ``max_rows`` subsamples large tables (stratified, seeded; the size is in each
    record's ``train_size``). ``time_limit`` bounds one evaluation (all folds), in seconds.
    Results are written every ``flush_seconds``; the KB is compacted (one file per table)
    every ``compact_seconds`` and at the end (``None``: never).
    """
    started = time.monotonic()
    names = list(learners) if learners is not None else list(LEARNERS)
    for name in names:
        get_learner(name)
    if n_folds < 2:
        raise KnowledgeBaseError(
            f"A KB build needs n_folds >= 2 for cross-validation; got {n_folds}. Use 3 (the default)."
        )
    writer = KBWriter(out)
    report = BuildReport(out=Path(out))
    stored = writer.existing_keys()
    loaded = _load_datasets(sources, filters, max_datasets, max_rows, seed, report)
    writer = _register_datasets(writer, loaded, report.skipped, metafeatures, seed)
    prepared = [p for _, p in loaded]
    report.datasets = [p.dataset_id for p in prepared]
    del loaded  # the full tables are no longer needed; the prepared copies are

    plan = plan_tasks(prepared, names, n_configs=n_configs, n_folds=n_folds, seed=seed,
                      curve_sizes=curve_sizes)
    jobs = _pending(plan, stored, report)
    state = BuildProgress(total=len(jobs), datasets=len(prepared), skipped_datasets=len(report.skipped))
    if progress is not None:
        progress(state)
    logger.info("KB build %s: %d evaluations to run, %d already stored, %d datasets (%d skipped)",
                out, len(jobs), report.already_stored, len(prepared), len(report.skipped))
    if scheduler is not None or dask_workers:
        results = _run_dask(jobs, time_limit, scheduler, dask_workers)
    else:
        results = _run_local(((p, t) for _, p, t in jobs), n_jobs, time_limit)
    _stream_to_store(results, writer, state, report, progress, flush_seconds, compact_seconds)
    if compact_seconds is not None:
        writer.compact()
    report.seconds = time.monotonic() - started
    return report
