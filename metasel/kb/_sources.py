"""Resolve ``--source`` specifications into the datasets a KB build evaluates.

A spec is a string (what the command line passes) or a :class:`SourceSpec`:

- a folder: every ``.arff``, ``.csv``, ``.tsv``, ``.parquet`` file below it (sorted); the
  target is the file's last column (ARFF: the class attribute, as Weka and OpenML do);
- a single file of those kinds;
- ``openml:31,37,44`` (data ids) or ``openml:suite:99`` (a benchmark suite or study);
- ``keel``, ``keel:balanced``, ``keel:imbalanced`` or ``keel:yeast1,ecoli1``;
- ``sklearn`` or ``sklearn:iris,wine``.

Loading is lazy (one dataset at a time) and never raises for one bad dataset: the item
carries the reason instead, so a build records it and moves on.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from metasel.data import (
    SKLEARN_SETS,
    Dataset,
    from_frame,
    keel_names,
    load_arff,
    load_keel,
    load_openml,
    load_sklearn,
    openml_suite_ids,
    read_csv,
    read_parquet,
)
from metasel.exceptions import DataError, MetaselError, SourceNotFoundError

logger = logging.getLogger(__name__)

SourceKind = Literal["folder", "file", "openml", "openml_suite", "keel", "sklearn"]
TABLE_SUFFIXES = (".arff", ".csv", ".tsv", ".parquet", ".pq")


@dataclass(frozen=True)
class SourceSpec:
    """A parsed source. ``names`` keeps only those file stems / dataset names; ``include``
    keeps only files under those sub-folders of a folder (ids stay relative to the folder);
    ``numeric_target="binarize"`` splits a numeric (regression) target of a table file or
    OpenML dataset at its mean into 'N'/'P' instead of skipping the dataset."""

    kind: SourceKind
    value: str = ""
    names: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    numeric_target: Literal["error", "binarize"] = "error"


@dataclass(frozen=True)
class SourceFilter:
    """Which loaded datasets a build keeps (bounds inclusive; ``None`` = unbounded)."""

    task: Literal["binary", "multiclass"] | None = None
    min_rows: int = 10
    max_rows: int | None = None
    min_classes: int = 2
    max_classes: int | None = None

    def reason(self, dataset: Dataset) -> str | None:
        """Why ``dataset`` is excluded, or ``None`` if it is kept."""
        n_rows, n_classes = dataset.shape[0], dataset.n_classes
        if self.task is not None and dataset.task != self.task:
            return f"task {dataset.task} is not {self.task}"
        if n_rows < self.min_rows or (self.max_rows is not None and n_rows > self.max_rows):
            return f"{n_rows} rows outside [{self.min_rows}, {self.max_rows}]"
        if n_classes < self.min_classes or (self.max_classes is not None and n_classes > self.max_classes):
            return f"{n_classes} classes outside [{self.min_classes}, {self.max_classes}]"
        if dataset.shape[1] == 0:
            return "no usable feature column"
        return None


@dataclass(frozen=True)
class SourceItem:
    """One dataset of a source: loaded, or the reason it is skipped."""

    dataset_id: str
    dataset: Dataset | None
    reason: str | None = None


def parse_source(spec: str | SourceSpec) -> SourceSpec:
    """A :class:`SourceSpec` from its command-line form (see the module docstring)."""
    if isinstance(spec, SourceSpec):
        return spec
    text = str(spec).strip()
    scheme, _, rest = text.partition(":")
    names = tuple(n.strip() for n in rest.split(",") if n.strip())
    if scheme == "openml":
        if rest.startswith("suite:"):
            return SourceSpec("openml_suite", rest.removeprefix("suite:"))
        if not names:
            raise DataError(f"An OpenML source lists data ids: 'openml:31,37'. Got {text!r}.")
        return SourceSpec("openml", names=names)
    if scheme == "keel":
        if rest in ("balanced", "imbalanced"):
            return SourceSpec("keel", rest)
        return SourceSpec("keel", names=names)
    if scheme == "sklearn":
        return SourceSpec("sklearn", names=names)
    path = Path(text).expanduser()
    if path.is_dir():
        return SourceSpec("folder", str(path))
    if path.is_file():
        return SourceSpec("file", str(path))
    raise SourceNotFoundError(
        f"A source must be a folder, a table file, 'openml:<ids>', 'openml:suite:<id>', "
        f"'keel[:...]' or 'sklearn[:...]'. Got {text!r}, which is none of these (no such path)."
    )


def _load_table_file(path: Path, numeric_target: str) -> Dataset:
    suffix = path.suffix.lower()
    if suffix == ".arff":
        return load_arff(path, numeric_target=numeric_target)
    frame = read_parquet(path) if suffix in (".parquet", ".pq") else read_csv(path)
    source = "parquet" if suffix in (".parquet", ".pq") else "csv"
    return from_frame(frame, target=frame.columns[-1], name=path.stem, source=source,
                      source_id=str(path), numeric_target=numeric_target)


def _file_id(path: Path, root: Path) -> str:
    kind = {".arff": "arff", ".parquet": "parquet", ".pq": "parquet"}.get(path.suffix.lower(), "csv")
    return f"{kind}:{path.relative_to(root).with_suffix('').as_posix()}"


def _guarded(dataset_id: str, load: Callable[[], Dataset]) -> SourceItem:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return SourceItem(dataset_id, load())
    except (MetaselError, ValueError, KeyError, OSError) as error:
        return SourceItem(dataset_id, None, f"{type(error).__name__}: {error}")


def _folder_items(spec: SourceSpec) -> Iterator[tuple[str, Callable[[], Dataset]]]:
    root = Path(spec.value).expanduser()
    wanted = set(spec.names)
    folders = [root / sub for sub in spec.include] or [root]
    files = sorted(
        p for folder in folders for p in folder.rglob("*")
        if p.suffix.lower() in TABLE_SUFFIXES and p.is_file()
    )
    for path in files:
        if wanted and path.stem not in wanted:
            continue
        yield _file_id(path, root), lambda p=path: _load_table_file(p, spec.numeric_target)


def _spec_items(spec: SourceSpec) -> Iterator[tuple[str, Callable[[], Dataset]]]:
    if spec.kind == "folder":
        yield from _folder_items(spec)
    elif spec.kind == "file":
        path = Path(spec.value)
        yield _file_id(path, path.parent), lambda: _load_table_file(path, spec.numeric_target)
    elif spec.kind in ("openml", "openml_suite"):
        ids = spec.names if spec.kind == "openml" else openml_suite_ids(spec.value)
        for data_id in ids:
            yield f"openml:{data_id}", lambda i=data_id: load_openml(
                i, numeric_target=spec.numeric_target)
    elif spec.kind == "keel":
        collections = keel_names()
        names = list(spec.names) or (
            collections[spec.value] if spec.value else collections["balanced"] + collections["imbalanced"]
        )
        for name in names:
            yield f"keel:{name}", lambda n=name: load_keel(n)
    elif spec.kind == "sklearn":
        for name in spec.names or tuple(SKLEARN_SETS):
            yield f"sklearn:{name}", lambda n=name: load_sklearn(n)


def iter_sources(specs: Iterable[str | SourceSpec],
                 filters: SourceFilter | None = None) -> Iterator[SourceItem]:
    """Every dataset of ``specs``, loaded lazily, filtered, each id at most once."""
    filters = filters or SourceFilter()
    seen: set[str] = set()
    for spec in map(parse_source, specs):
        for dataset_id, load in _spec_items(spec):
            if dataset_id in seen:
                continue
            seen.add(dataset_id)
            item = _guarded(dataset_id, load)
            if item.dataset is not None:
                reason = filters.reason(item.dataset)
                if reason is not None:
                    item = SourceItem(dataset_id, None, f"filtered: {reason}")
            if item.reason is not None:
                logger.info("skipping %s: %s", dataset_id, item.reason)
            yield item
