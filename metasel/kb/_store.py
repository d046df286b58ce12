"""Knowledge-base storage: the crash-safe writer, the read API and merging.

Concurrency model (no server, just files):

* every write adds new immutable parquet files (atomic temp + rename, unique names), so two
  processes writing the same KB never touch the same file and a killed writer loses only
  the rows it had not yet renamed into place;
* readers read every visible file and de-duplicate on the table's key (the newest
  ``created_at`` wins for evaluations, the newest file for datasets), so duplicates left by
  racing writers or an interrupted compaction are invisible;
* :meth:`KBWriter.compact` merges the files it sees into one file per table under an
  inter-process lock, renames it into place, then deletes exactly the files it merged;
  files written meanwhile by other processes are left alone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from metasel.data import group_key
from metasel.exceptions import KnowledgeBaseError
from metasel.kb import _files
from metasel.kb._schema import (
    DATASET_FIXED_SCHEMA,
    DATASET_KEY,
    EVALUATION_KEY,
    EVALUATIONS_SCHEMA,
    METRICS,
    SCHEMA_VERSION,
    datasets_to_arrow,
    evaluations_to_arrow,
    table_metadata,
)

logger = logging.getLogger(__name__)

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
DEFAULT_PARTS = {"kb": RESOURCES / "kb", "lcdb": RESOURCES / "kb_lcdb"}
"""Shipped KB parts: our own evaluations (``kb``) and the LCDB import (``lcdb``)."""


def _read_table(root: Path, table: str, columns: list[str] | None = None) -> tuple[pa.Table, list[Path]]:
    """All rows of ``table`` (not yet de-duplicated) and the files they came from.

    A file deleted between listing and reading was merged by a concurrent compaction:
    the listing is then taken again, so the rows are read from the compacted file.
    """
    for _ in range(20):
        files = _files.table_files(root, table)
        try:
            parts = [_files.read_parquet_checked(f, table, columns) for f in files]
        except FileNotFoundError:
            time.sleep(0.05)
            continue
        if not parts:
            return _empty(table, columns), files
        parts = [p.replace_schema_metadata(None) for p in parts]
        return pa.concat_tables(parts, promote_options="permissive"), files
    raise KnowledgeBaseError(
        f"Files of the KB at {root} kept disappearing while reading {table}; another process is "
        "rewriting it. Retry when it has finished."
    )


def _empty(table: str, columns: list[str] | None) -> pa.Table:
    schema = EVALUATIONS_SCHEMA if table == "evaluations" else DATASET_FIXED_SCHEMA
    if columns is not None:
        schema = pa.schema([schema.field(c) for c in columns if c in schema.names])
    return schema.empty_table()


def _dedupe(table: pa.Table, key: Sequence[str], order: str | None) -> pa.Table:
    """Keep one row per ``key``: the largest ``order`` value, ties to the later row."""
    if table.num_rows == 0:
        return table
    frame = table.select(list(key)).to_pandas()
    if order is not None and order in table.column_names:
        frame["_order"] = table.column(order).to_pandas()
        frame = frame.sort_values("_order", kind="stable")
    keep = ~frame.duplicated(subset=list(key), keep="last")
    indices = np.sort(frame.index.to_numpy()[keep.to_numpy()])
    if len(indices) == table.num_rows:
        return table
    return table.take(pa.array(indices))


def _load(root: Path, table: str) -> pa.Table:
    rows, _ = _read_table(root, table)
    if table == "evaluations":
        return _dedupe(rows, EVALUATION_KEY, "created_at")
    return _dedupe(rows, DATASET_KEY, None)


class KBWriter:
    """Adds rows to a KB folder; safe to use from several processes at once.

    Typical build loop (resumable)::

        writer = KBWriter("cache/kb")                # creates the folder and manifest
        done = writer.existing_keys()                # {(dataset_id, learner, config_id, train_size)}
        writer.write_datasets(datasets_frame)        # one row per dataset (meta-features as floats)
        writer.write_evaluations(evals_frame)        # call once per finished batch
        writer.compact()                             # optional: one file per table, for shipping

    Each ``write_*`` call is atomic: its rows are all visible or none are. Evaluations are
    partitioned into one new file per (dataset, learner) in the call, so write a batch per
    (dataset, learner) rather than one row at a time to keep the file count low (or compact
    now and then). Re-writing an existing key is allowed; readers keep the newest row.
    """

    def __init__(self, path: str | Path, *, notes: dict | None = None) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.manifest = _files.ensure_manifest(self.path, notes)

    def write_evaluations(self, rows: pd.DataFrame | pa.Table, *, partition: bool = True) -> int:
        """Append evaluation rows (columns of :data:`EVALUATIONS_SCHEMA`); returns rows written.

        Required: ``dataset_id``, ``group``, ``learner``, ``config_id``, ``train_size``,
        ``status``; missing optional columns are filled (``created_at`` = now, ``params`` =
        ``"{}"``, ``versions`` = current library versions). ``partition=False`` writes a
        single file (for bulk imports that are compacted straight away).
        """
        table = rows if isinstance(rows, pa.Table) else evaluations_to_arrow(rows)
        if isinstance(rows, pa.Table):
            table = _conform(table, EVALUATIONS_SCHEMA)
        table = _dedupe(table, EVALUATION_KEY, "created_at")
        if table.num_rows == 0:
            return 0
        folder = self.path / "evaluations"
        if not partition:
            _files.write_parquet_atomic(table, folder)
            return table.num_rows
        keys = table.select(["dataset_id", "learner"]).to_pandas()
        for (dataset_id, learner), index in keys.groupby(["dataset_id", "learner"], sort=False).indices.items():
            part = table.take(pa.array(np.sort(index)))
            target = folder / _files.safe_segment(dataset_id) / _files.safe_segment(learner)
            _files.write_parquet_atomic(part, target)
        return table.num_rows

    def write_datasets(self, rows: pd.DataFrame | pa.Table) -> int:
        """Append dataset rows (fixed columns + float meta-features); returns rows written."""
        table = rows if isinstance(rows, pa.Table) else datasets_to_arrow(rows)
        if table.num_rows == 0:
            return 0
        table = table.replace_schema_metadata(table_metadata("datasets"))
        _files.write_parquet_atomic(table, self.path / "datasets")
        return table.num_rows

    def existing_keys(self, statuses: Iterable[str] | None = None) -> set[tuple[str, str, str, int]]:
        """Keys ``(dataset_id, learner, config_id, train_size)`` already stored.

        ``statuses`` restricts to rows with those statuses (e.g. ``{"ok"}`` to retry
        failures); by default every stored row counts, so a resumed build skips failures too.
        """
        columns = [*EVALUATION_KEY, "status"]
        rows, _ = _read_table(self.path, "evaluations", columns)
        if statuses is not None:
            rows = rows.filter(pc.is_in(rows.column("status"), pa.array(list(statuses), pa.string())))
        frame = rows.select(list(EVALUATION_KEY)).to_pandas()
        return set(frame.itertuples(index=False, name=None))

    def existing_dataset_ids(self) -> set[str]:
        """``dataset_id`` values already in the datasets table."""
        rows, _ = _read_table(self.path, "datasets", ["dataset_id"])
        return set(rows.column("dataset_id").to_pylist())

    def compact(self) -> dict[str, int]:
        """Merge each table's files into one (de-duplicated); returns files merged per table.

        Safe against concurrent writers (their new files are not touched), concurrent
        compactions (serialised by a lock) and being killed (the merged file is renamed into
        place before its inputs are deleted; leftovers are duplicates readers ignore).
        """
        merged = {}
        with _files.exclusive_lock(self.path):
            _files.remove_stale_temps(self.path)
            for table in _files.TABLES:
                rows, files = _read_table(self.path, table)
                if len(files) <= 1:
                    merged[table] = len(files)
                    continue
                rows = _dedupe(rows, EVALUATION_KEY if table == "evaluations" else DATASET_KEY,
                               "created_at" if table == "evaluations" else None)
                rows = rows.replace_schema_metadata(table_metadata(table))
                _files.write_parquet_atomic(rows, self.path / table, prefix="compact")
                for f in files:
                    f.unlink(missing_ok=True)
                _remove_empty_dirs(self.path / table)
                merged[table] = len(files)
        logger.info("compacted %s: %s", self.path, merged)
        return merged


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Cast an arrow table to ``schema``'s columns and order (missing ones as nulls)."""
    arrays = [
        table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(arrays, schema=schema.with_metadata(table_metadata("evaluations")))


def _remove_empty_dirs(folder: Path) -> None:
    for sub in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        try:
            sub.rmdir()
        except OSError:
            continue


def _rekeyed(table: pa.Table) -> pa.Table:
    """``table`` with its stored group keys mapped through today's aliases, so that a KB
    written before an alias was known still keeps that source's variants together."""
    if "group" not in table.column_names:
        return table
    stored = table.column("group").to_pandas()
    mapping = {key: group_key(key) for key in stored.dropna().unique()}
    if all(key == canonical for key, canonical in mapping.items()):
        return table
    column = pa.Array.from_pandas(stored.map(mapping), type=table.schema.field("group").type)
    return table.set_column(table.column_names.index("group"), "group", column)


class KnowledgeBase:
    """A read-only, de-duplicated view of one or more KB folders.

    ``datasets``: one row per dataset (``dataset_id``, ``name``, ``source``, ``source_id``,
    ``group``, ``task``, ``n_rows``, ``n_features``, ``n_classes``, ``openml_id``, then float
    meta-feature columns). ``evaluations``: one row per (dataset, learner, configuration,
    train size); see docs/ARCHITECTURE.md. Both are fresh DataFrames on every access.
    """

    def __init__(self, datasets: pa.Table, evaluations: pa.Table, *, paths: Sequence[Path] = ()) -> None:
        self._datasets = _rekeyed(datasets)
        self._evaluations = _rekeyed(evaluations)
        self.paths = [Path(p) for p in paths]

    @classmethod
    def open(cls, path: str | Path) -> KnowledgeBase:
        """Read the KB folder at ``path``; :class:`KnowledgeBaseError` if missing or corrupt."""
        root = Path(path)
        _files.read_manifest(root)
        return cls(_load(root, "datasets"), _load(root, "evaluations"), paths=[root])

    @classmethod
    def default(cls, part: str | None = None) -> KnowledgeBase:
        """The KB shipped with metasel.

        ``part=None``: every shipped part that exists, combined (our own evaluations under
        ``resources/kb`` plus the LCDB import under ``resources/kb_lcdb``); ``part="kb"`` or
        ``part="lcdb"``: only that part, so a meta-model can be evaluated on each alone.
        """
        if part is not None and part not in DEFAULT_PARTS:
            raise KnowledgeBaseError(
                f"The part of the default KB must be one of {sorted(DEFAULT_PARTS)} or None; "
                f"got {part!r}."
            )
        if part is not None:
            return cls.open(DEFAULT_PARTS[part])
        present = [p for p in DEFAULT_PARTS.values() if (p / _files.MANIFEST).is_file()]
        if not present:
            raise KnowledgeBaseError(
                f"No shipped knowledge base found at {[str(p) for p in DEFAULT_PARTS.values()]}. "
                "Reinstall metasel, or build one with `metasel kb build` / `metasel kb import-lcdb`."
            )
        for missing in set(DEFAULT_PARTS.values()) - set(present):
            logger.warning("shipped KB part %s is missing; using the other parts only", missing)
        return cls.combine([cls.open(p) for p in present])

    @classmethod
    def combine(cls, kbs: Sequence[KnowledgeBase]) -> KnowledgeBase:
        """One de-duplicated view of several KBs (newest evaluation wins; first dataset row wins)."""
        if not kbs:
            raise KnowledgeBaseError("combine needs at least one knowledge base; got none.")
        datasets = pa.concat_tables([k._datasets for k in kbs], promote_options="permissive")
        evaluations = pa.concat_tables([k._evaluations for k in kbs], promote_options="permissive")
        frame = datasets.select(["dataset_id"]).to_pandas()
        first = np.flatnonzero(~frame.duplicated(keep="first").to_numpy())
        datasets = datasets.take(pa.array(first))
        evaluations = _dedupe(evaluations, EVALUATION_KEY, "created_at")
        return cls(datasets, evaluations, paths=[p for k in kbs for p in k.paths])

    @property
    def datasets(self) -> pd.DataFrame:
        return self._datasets.to_pandas()

    @property
    def evaluations(self) -> pd.DataFrame:
        return self._evaluations.to_pandas()

    @property
    def metafeature_columns(self) -> list[str]:
        """Names of the meta-feature columns of the datasets table."""
        fixed = set(DATASET_FIXED_SCHEMA.names)
        return [c for c in self._datasets.column_names if c not in fixed]

    def summary(self) -> dict:
        """Counts that describe the KB (the ``metasel kb info`` JSON)."""
        ev = self._evaluations.select(
            ["dataset_id", "group", "learner", "config_id", "status", "n_folds", "fit_time", "predict_time", "origin"]
        ).to_pandas()
        ds = self._datasets.select(["dataset_id", "group", "source"]).to_pandas()
        per_pair = ev.groupby(["dataset_id", "learner"])["config_id"].nunique()
        folds = ev["n_folds"].fillna(1).to_numpy(dtype=float)
        seconds = np.nansum(ev["fit_time"].to_numpy(dtype=float) * folds) + np.nansum(
            ev["predict_time"].to_numpy(dtype=float) * folds
        )
        groups = set(ds["group"].dropna()) | set(ev["group"].dropna())
        return {
            "paths": [str(p) for p in self.paths],
            "schema_version": SCHEMA_VERSION,
            "n_datasets": int(len(set(ds["dataset_id"]) | set(ev["dataset_id"]))),
            "n_groups": len(groups),
            "n_datasets_with_evaluations": int(ev["dataset_id"].nunique()),
            "n_metafeatures": len(self.metafeature_columns),
            "sources": {str(k): int(v) for k, v in ds["source"].value_counts().sort_index().items()},
            "learners": sorted(ev["learner"].unique().tolist()),
            "evaluations_per_learner": {str(k): int(v) for k, v in ev["learner"].value_counts().sort_index().items()},
            "n_evaluations": len(ev),
            "origins": {str(k): int(v) for k, v in ev["origin"].value_counts().sort_index().items()},
            "median_configs_per_learner_dataset": float(per_pair.median()) if len(per_pair) else 0.0,
            "n_failed": int((ev["status"] != "ok").sum()),
            "n_timeout": int((ev["status"] == "timeout").sum()),
            "compute_seconds": float(seconds),
            "metrics": list(METRICS),
        }

    def __repr__(self) -> str:
        return (
            f"KnowledgeBase(paths={[str(p) for p in self.paths]}, datasets={self._datasets.num_rows}, "
            f"evaluations={self._evaluations.num_rows})"
        )


def merge(kbs: Sequence[str | Path | KnowledgeBase], out: str | Path) -> KnowledgeBase:
    """Write the de-duplicated union of ``kbs`` into the KB folder ``out`` (compacted).

    ``out`` may already hold a KB: its rows are kept and the new ones added, so merging
    the same inputs twice changes nothing.
    """
    opened = [k if isinstance(k, KnowledgeBase) else KnowledgeBase.open(k) for k in kbs]
    combined = KnowledgeBase.combine(opened)
    writer = KBWriter(out)
    existing = writer.existing_dataset_ids()
    datasets = combined._datasets
    mask = pc.invert(pc.is_in(datasets.column("dataset_id"), pa.array(sorted(existing), pa.string())))
    writer.write_datasets(datasets.filter(mask))
    writer.write_evaluations(combined._evaluations, partition=False)
    writer.compact()
    return KnowledgeBase.open(out)
