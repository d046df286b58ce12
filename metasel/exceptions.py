"""One exception hierarchy for metasel.

Every message states the rule that was broken, the value received and how to fix it.
Subclasses also inherit from the matching built-in so callers that catch ``ValueError``
or ``FileNotFoundError`` keep working.
"""

from __future__ import annotations


class MetaselError(Exception):
    """Base class of every error metasel raises on purpose."""


class DataError(MetaselError, ValueError):
    """The input table cannot be used as a classification dataset."""


class SourceNotFoundError(MetaselError, FileNotFoundError):
    """A dataset source (file, folder, OpenML id, bundled name) does not exist or is unreachable."""


class KnowledgeBaseError(MetaselError):
    """A knowledge base is missing, corrupt or was written by an incompatible version."""


class ArtifactVersionError(KnowledgeBaseError):
    """A stored artifact carries a schema version this code cannot read."""


class LearnerError(MetaselError, ValueError):
    """An unknown learner or an invalid configuration for a known learner."""
