"""The ``Learner`` type and the JSON configuration helpers every module speaks."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import optuna
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from metasel.exceptions import LearnerError
from metasel.learners._preprocess import Encoding, make_preprocessor
from metasel.learners._space import Param, complete_values, default_values, suggest_values

EstimatorFactory = Callable[[dict[str, Any], "int | None"], BaseEstimator]


@dataclass(frozen=True)
class Learner:
    """One zoo entry: a model, the preprocessing it needs and its search space.

    ``space`` declares every tunable parameter with its library default, so
    ``default_params()`` is the library's own configuration. ``fixed`` declares settings a
    configuration may carry but the search never varies: an anytime fit's reached size
    (an MLP's epochs), kept only where given, so that configuration ids do not change.
    ``make_estimator(params, random_state)`` receives complete params (defaults filled in,
    fixed ones too). ``max_rows`` marks learners whose cost grows too fast with n (kernel
    SVM): callers skip them above it.
    """

    name: str
    space: tuple[Param, ...]
    make_estimator: EstimatorFactory
    encoding: Encoding
    description: str
    max_rows: int | None = None
    fixed: tuple[Param, ...] = ()

    @property
    def param_names(self) -> frozenset[str]:
        """Every parameter name a configuration of this learner may contain."""
        return frozenset(p.name for p in (*self.space, *self.fixed))

    def default_params(self) -> dict[str, Any]:
        """The library-default configuration (plain JSON values)."""
        return default_values(self.space)

    def suggest(self, trial: optuna.Trial, prefix: str = "") -> dict[str, Any]:
        """Sample params from ``trial``; each Optuna parameter is named ``prefix + name``."""
        return suggest_values(self.space, trial, prefix)

    def complete(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Validate ``params`` and fill the missing ones with their defaults."""
        unknown = sorted(set(params) - self.param_names)
        if unknown:
            raise LearnerError(
                f"Parameters of learner {self.name!r} must be among "
                f"{sorted(self.param_names)}; got unknown {unknown}. Remove them or pick the "
                "learner they belong to."
            )
        given = {p.name: params[p.name] for p in self.fixed if p.name in params}
        return {**complete_values(self.space, params), **given}

    def build(self, params: Mapping[str, Any] | None = None, *,
              random_state: int | None = None) -> Pipeline:
        """An unfitted pipeline (preprocessing + model) for ``params``."""
        full = {**default_values(self.fixed), **self.complete(params or {})}
        try:
            model = self.make_estimator(full, random_state)
        except (TypeError, ValueError) as error:
            raise LearnerError(
                f"Parameters {full} do not build learner {self.name!r}: {error}. "
                "Use values inside its search space."
            ) from error
        return Pipeline([("preprocess", make_preprocessor(self.encoding)), ("model", model)])


def canonical_json(config: Mapping[str, Any]) -> str:
    """Sorted-key, compact JSON: the same configuration always gives the same text."""
    return json.dumps(config, sort_keys=True, separators=(",", ":"), allow_nan=False)


def config_id(config: Mapping[str, Any]) -> str:
    """A stable 16-hex id of ``{"learner": ..., "params": ...}`` (SHA-1 of canonical JSON)."""
    payload = {"learner": config["learner"], "params": dict(config.get("params", {}))}
    return hashlib.sha1(canonical_json(payload).encode()).hexdigest()[:16]
