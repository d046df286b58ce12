"""The knowledge base: datasets, their meta-features and how learners performed on them.

Storage is a folder of parquet files with a versioned schema (see :mod:`metasel.kb._schema`);
:class:`KBWriter` adds rows crash-safely, :class:`KnowledgeBase` reads them.
"""

from metasel.kb._build import BuildReport, build_kb
from metasel.kb._lcdb import import_lcdb
from metasel.kb._schema import (
    DATASET_FIXED_SCHEMA,
    EVALUATION_KEY,
    EVALUATIONS_SCHEMA,
    METRICS,
    SCHEMA_VERSION,
)
from metasel.kb._sources import SourceFilter, SourceSpec, iter_sources
from metasel.kb._store import DEFAULT_PARTS, KBWriter, KnowledgeBase, merge

__all__ = [
    "DATASET_FIXED_SCHEMA",
    "DEFAULT_PARTS",
    "EVALUATIONS_SCHEMA",
    "EVALUATION_KEY",
    "METRICS",
    "SCHEMA_VERSION",
    "BuildReport",
    "KBWriter",
    "KnowledgeBase",
    "SourceFilter",
    "SourceSpec",
    "build_kb",
    "import_lcdb",
    "iter_sources",
    "merge",
]
