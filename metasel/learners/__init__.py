"""The learner zoo: pipelines, search spaces and library defaults; configurations as JSON.

A configuration is ``{"learner": "lightgbm", "params": {...}}``; ``build_pipeline`` turns it
into an unfitted scikit-learn pipeline anywhere, ``config_id`` names it stably.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sklearn.pipeline import Pipeline

from metasel.exceptions import LearnerError
from metasel.learners._anytime import (
    grew_too_little,
    grow_until,
    grown_params,
    in_native_fit,
    stop_thread,
)
from metasel.learners._base import Learner, canonical_json, config_id
from metasel.learners._proba import MarginProbaClassifier
from metasel.learners._space import Cat, Float, Int, Param
from metasel.learners._zoo import LEARNERS

__all__ = [
    "LEARNERS",
    "Cat",
    "Float",
    "Int",
    "Learner",
    "MarginProbaClassifier",
    "Param",
    "build_pipeline",
    "canonical_json",
    "config_id",
    "default_config",
    "eligible",
    "get_learner",
    "grew_too_little",
    "grow_until",
    "grown_params",
    "in_native_fit",
    "register_learner",
    "stop_thread",
]


def get_learner(name: str) -> Learner:
    """The zoo entry called ``name``."""
    try:
        return LEARNERS[name]
    except KeyError:
        raise LearnerError(
            f"The learner must be one of {sorted(LEARNERS)}; got {name!r}. "
            "Check the spelling or add an entry to metasel/learners/_zoo.py."
        ) from None


def eligible(name: str, n_rows: int) -> bool:
    """A learner can be searched on a table of ``n_rows``: it is in the zoo and its row limit
    allows it."""
    learner = LEARNERS.get(name)
    return learner is not None and (learner.max_rows is None or n_rows <= learner.max_rows)


def register_learner(learner: Learner, *, replace: bool = False) -> None:
    """Add ``learner`` to the zoo at run time (plugins; see ``METASEL_PLUGINS``).

    The zoo's own entries live in ``_zoo.py``; this is for learners defined elsewhere.
    Evaluation sandboxes import the modules named in the ``METASEL_PLUGINS`` environment
    variable (comma-separated), so a plugin module that calls this on import is seen there too.
    """
    if learner.name in LEARNERS and not replace:
        raise LearnerError(
            f"A learner named {learner.name!r} is already in the zoo. Pick another name or pass "
            "replace=True."
        )
    LEARNERS[learner.name] = learner


def default_config(name: str) -> dict[str, Any]:
    """The library-default configuration of learner ``name`` as JSON-ready dict."""
    return {"learner": name, "params": get_learner(name).default_params()}


def build_pipeline(config: Mapping[str, Any], *, random_state: int | None = None) -> Pipeline:
    """An unfitted pipeline for a JSON configuration ``{"learner": ..., "params": ...}``."""
    if not isinstance(config, Mapping) or "learner" not in config:
        raise LearnerError(
            "A configuration must be a mapping with a 'learner' key and optional 'params'; "
            f"got {config!r}. Use e.g. {{'learner': 'lightgbm', 'params': {{}}}}."
        )
    return get_learner(config["learner"]).build(config.get("params") or {},
                                                random_state=random_state)
