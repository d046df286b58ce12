"""Declarative, define-by-run Optuna search spaces.

A space is an ordered tuple of :class:`Param`. One declaration yields the three things the
zoo needs and keeps them consistent: the library-default configuration, the Optuna
``suggest`` calls (conditional parameters only when their parent has the triggering value)
and the set of parameter names a stored configuration may contain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import optuna

ParamKind = Literal["float", "int", "categorical"]
JsonScalar = None | bool | int | float | str


@dataclass(frozen=True)
class Param:
    """One hyperparameter: its range, its library default and an optional condition.

    ``when=("limit_depth", True)`` makes the parameter exist only in configurations whose
    ``limit_depth`` is ``True`` (Optuna's define-by-run conditional space).
    """

    name: str
    kind: ParamKind
    default: JsonScalar
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[JsonScalar, ...] = ()
    when: tuple[str, JsonScalar] | None = None

    def active(self, values: Mapping[str, Any]) -> bool:
        """Whether this parameter exists given the values chosen so far."""
        if self.when is None:
            return True
        parent, value = self.when
        return parent in values and values[parent] == value

    def suggest(self, trial: optuna.Trial, name: str) -> JsonScalar:
        """Ask ``trial`` for a value under the Optuna name ``name``."""
        if self.kind == "float":
            return float(trial.suggest_float(name, self.low, self.high, log=self.log))
        if self.kind == "int":
            return int(trial.suggest_int(name, int(self.low), int(self.high), log=self.log))
        return trial.suggest_categorical(name, list(self.choices))


def Float(name: str, low: float, high: float, default: float, *, log: bool = False,
          when: tuple[str, JsonScalar] | None = None) -> Param:  # noqa: N802 - reads as a type
    """A float parameter in ``[low, high]``."""
    return Param(name, "float", float(default), low=low, high=high, log=log, when=when)


def Int(name: str, low: int, high: int, default: int, *, log: bool = False,
        when: tuple[str, JsonScalar] | None = None) -> Param:  # noqa: N802
    """An integer parameter in ``[low, high]``."""
    return Param(name, "int", int(default), low=low, high=high, log=log, when=when)


def Cat(name: str, choices: Sequence[JsonScalar], default: JsonScalar, *,
        when: tuple[str, JsonScalar] | None = None) -> Param:  # noqa: N802
    """A categorical parameter; ``choices`` are JSON scalars (never tuples)."""
    return Param(name, "categorical", default, choices=tuple(choices), when=when)


def default_values(space: Sequence[Param]) -> dict[str, Any]:
    """The default configuration: every parameter that is active under the defaults."""
    values: dict[str, Any] = {}
    for param in space:
        if param.active(values):
            values[param.name] = param.default
    return values


def suggest_values(space: Sequence[Param], trial: optuna.Trial, prefix: str = "") -> dict[str, Any]:
    """Sample one configuration; Optuna names are ``prefix + name``, the result is unprefixed."""
    values: dict[str, Any] = {}
    for param in space:
        if param.active(values):
            values[param.name] = param.suggest(trial, prefix + param.name)
    return values


def complete_values(space: Sequence[Param], params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with every missing active parameter set to its default, in space order."""
    values: dict[str, Any] = {}
    for param in space:
        if param.active(values):
            values[param.name] = params.get(param.name, param.default)
    return values
