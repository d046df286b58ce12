"""Low-level file handling of a KB folder: atomic parquet writes, safe reads, the manifest.

Atomicity rests on one rule: a file is written under a unique hidden temporary name in its
final folder and then ``os.replace``-d onto a unique visible name. Readers only see
complete files; a writer killed mid-write leaves a hidden ``.tmp-*`` file that readers
ignore and :func:`remove_stale_temps` later deletes.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from metasel.exceptions import ArtifactVersionError, KnowledgeBaseError
from metasel.kb._schema import METADATA_KEY, SCHEMA_VERSION, library_versions

MANIFEST = "manifest.json"
TABLES = ("datasets", "evaluations")
TEMP_PREFIX = ".tmp-"
STALE_TEMP_SECONDS = 600.0
_REBUILD = (
    "Rebuild it with the metasel version that reads it, or re-create it: "
    "`metasel kb build ...` for evaluations of our own, `metasel kb import-lcdb` for the LCDB part."
)


def safe_segment(value: str) -> str:
    """A file-name-safe folder name for a dataset id or learner name, unique per value."""
    cleaned = re.sub(r"[^0-9A-Za-z._-]+", "_", value).strip("._")[:60] or "x"
    if cleaned == value:
        return cleaned
    return f"{cleaned}-{uuid.uuid5(uuid.NAMESPACE_URL, value).hex[:8]}"


#: how often a writer re-creates a partition folder that a concurrent compaction removed
MKDIR_ATTEMPTS = 5


def unique_name(prefix: str = "part") -> str:
    """A file name that sorts by creation time and never collides across processes."""
    return f"{prefix}-{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:12]}.parquet"


def write_parquet_atomic(table: pa.Table, folder: Path, prefix: str = "part") -> Path:
    """Write ``table`` as a new file in ``folder``: hidden temp name, fsync, then rename.

    A concurrent compaction removes empty partition folders, possibly between our ``mkdir``
    and the temp file's creation; the folder is then created again (a folder holding our
    temp file is never empty, so it cannot vanish later).
    """
    final = folder / unique_name(prefix)
    temp = folder / f"{TEMP_PREFIX}{uuid.uuid4().hex}.parquet"
    try:
        for attempt in range(MKDIR_ATTEMPTS):
            folder.mkdir(parents=True, exist_ok=True)
            try:
                pq.write_table(table, temp, compression="zstd")
                break
            except FileNotFoundError:
                if attempt == MKDIR_ATTEMPTS - 1 or folder.exists():
                    raise
        with open(temp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(temp, final)
    finally:
        if temp.exists():
            temp.unlink(missing_ok=True)
    return final


def write_json_atomic(data: dict, path: Path) -> None:
    """Write JSON to ``path`` through a temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.parent / f"{TEMP_PREFIX}{uuid.uuid4().hex}.json"
    temp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(temp, path)


def table_files(root: Path, table: str) -> list[Path]:
    """Visible parquet files of ``table``, in creation order (names embed a timestamp)."""
    folder = root / table
    if not folder.is_dir():
        return []
    files = [p for p in folder.rglob("*.parquet") if not p.name.startswith(".")]
    return sorted(files, key=lambda p: (p.name.split("-", 2)[1:2], str(p)))


def read_parquet_checked(path: Path, table: str, columns: list[str] | None = None) -> pa.Table:
    """Read one KB file, failing with the file's name if it is corrupt or of another schema."""
    try:
        result = pq.read_table(path, columns=columns)
        meta = (pq.read_schema(path).metadata or {}) if columns is not None else (result.schema.metadata or {})
    except FileNotFoundError:
        raise
    except (pa.ArrowException, OSError) as exc:
        raise KnowledgeBaseError(
            f"KB file {path} is not a readable parquet file ({exc}). Every KB file must be intact; "
            "delete this file and re-run the build or import that wrote it (only its rows are lost)."
        ) from exc
    check_file_metadata(meta, path, table)
    return result


def check_file_metadata(meta: dict, path: Path, table: str) -> None:
    """Raise unless ``meta`` stamps the file as ``table`` of the current schema version."""
    raw = meta.get(METADATA_KEY)
    if raw is None:
        raise KnowledgeBaseError(
            f"KB file {path} lacks metasel's schema stamp; a KB folder must only hold files metasel "
            "wrote. Move the file out of the KB folder."
        )
    info = json.loads(raw)
    if info.get("schema_version") != SCHEMA_VERSION:
        raise ArtifactVersionError(
            f"KB file {path} has schema version {info.get('schema_version')}, this metasel reads "
            f"version {SCHEMA_VERSION}. {_REBUILD}"
        )
    if info.get("table") != table:
        raise KnowledgeBaseError(
            f"KB file {path} holds the {info.get('table')!r} table but sits in the {table!r} folder. "
            "Move it to its table's folder."
        )


def read_manifest(root: Path) -> dict:
    """The manifest of the KB at ``root``, checked for its schema version."""
    path = root / MANIFEST
    if not path.is_file():
        raise KnowledgeBaseError(
            f"No knowledge base at {root}: {MANIFEST} is missing. Pass the folder of a KB built by "
            "`metasel kb build` or `metasel kb import-lcdb`."
        )
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise KnowledgeBaseError(
            f"KB manifest {path} is not valid JSON ({exc}). Restore it or re-create the KB."
        ) from exc
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise ArtifactVersionError(
            f"The KB at {root} has schema version {manifest.get('schema_version')}, this metasel "
            f"reads version {SCHEMA_VERSION}. {_REBUILD}"
        )
    return manifest


def ensure_manifest(root: Path, notes: dict | None = None) -> dict:
    """Create the manifest if absent (or check it); merge ``notes`` into it when given."""
    path = root / MANIFEST
    if path.is_file():
        manifest = read_manifest(root)
        if not notes:
            return manifest
    else:
        manifest = {
            "format": "metasel-kb",
            "schema_version": SCHEMA_VERSION,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "versions": library_versions(),
            "notes": {},
        }
    manifest.setdefault("notes", {}).update(notes or {})
    write_json_atomic(manifest, path)
    return manifest


def remove_stale_temps(root: Path, older_than: float = STALE_TEMP_SECONDS) -> int:
    """Delete temp files left by killed writers (older than ``older_than`` seconds)."""
    removed = 0
    now = time.time()
    for temp in root.rglob(f"{TEMP_PREFIX}*"):
        try:
            if now - temp.stat().st_mtime > older_than:
                temp.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


@contextmanager
def exclusive_lock(root: Path, timeout: float = 600.0) -> Iterator[None]:
    """An inter-process lock on the KB folder itself (``fcntl.flock`` on its directory).

    Locking the directory leaves no lock file behind in a shipped KB, and the OS releases
    the lock if its holder dies, so a killed compaction never blocks the next one.
    """
    import fcntl

    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root, os.O_RDONLY)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise KnowledgeBaseError(
                        f"Could not lock the KB at {root} within {timeout:g} s: another process is "
                        "compacting it. Wait for it to finish and retry."
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
