"""How the commands that read a training table name and load it (fit, recommend, describe)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer


class NumericTarget(StrEnum):
    """What to do with a numeric target (a regression task): refuse it, or split it at its mean."""

    error = "error"
    binarize = "binarize"


TargetOption = Annotated[str | None, typer.Option("--target", "-t", help="Name of the label column.")]
NumericTargetOption = Annotated[NumericTarget, typer.Option(
    "--numeric-target", help="A numeric (regression) target: refuse it ('error'), or split it at "
    "its mean into classes N/P ('binarize').")]


def load_source(source: str, target: str | None, numeric_target: NumericTarget) -> Any:
    """The `Dataset` of a path (if one exists under that name) or a 'scheme:name' source."""
    from metasel.data import load_dataset

    path = Path(source)
    return load_dataset(path if path.exists() else source, target,
                        numeric_target=NumericTarget(numeric_target).value)
