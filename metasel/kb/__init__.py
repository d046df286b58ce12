"""The knowledge base: datasets, their meta-features and how learners performed on them.

Storage is a folder of parquet files with a versioned schema (see :mod:`metasel.kb._schema`);
:class:`KBWriter` adds rows crash-safely, :class:`KnowledgeBase` reads them.
"""

from metasel.kb._build import BuildReport, build_kb
from metasel.kb._copies import (
    COPY_STATISTICS,
    FEATURE_SLACK,
    LABEL_COUNTS,
    copies_across_groups,
    copy_candidates,
    same_label_counts,
)
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
    "COPY_STATISTICS",
    "DATASET_FIXED_SCHEMA",
    "DEFAULT_PARTS",
    "EVALUATIONS_SCHEMA",
    "EVALUATION_KEY",
    "FEATURE_SLACK",
    "LABEL_COUNTS",
    "METRICS",
    "SCHEMA_VERSION",
    "BuildReport",
    "KBWriter",
    "KnowledgeBase",
    "SourceFilter",
    "SourceSpec",
    "build_kb",
    "copies_across_groups",
    "copy_candidates",
    "import_lcdb",
    "iter_sources",
    "merge",
    "same_label_counts",
]
