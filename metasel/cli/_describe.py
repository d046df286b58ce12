"""`metasel describe`: a table's meta-features, as a table for people or JSON for machines."""

from __future__ import annotations

import json
import math
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from metasel.cli._errors import user_errors
from metasel.cli._source import NumericTarget, NumericTargetOption, TargetOption, load_source


def register(app: typer.Typer) -> None:
    app.command("describe")(describe)


def describe(
    source: Annotated[str, typer.Argument(help="CSV/parquet/ARFF path, 'openml:<id>', 'keel:<name>' or 'sklearn:<name>'.")],
    target: TargetOption = None,
    numeric_target: NumericTargetOption = NumericTarget.error,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    random_state: Annotated[int, typer.Option(help="Seed of the subsamples (landmarkers).")] = 0,
) -> None:
    """Load a dataset and print every meta-feature's name and value."""
    from metasel.metafeatures import METAFEATURES, extract_metafeatures

    with user_errors():
        dataset = load_source(source, target, numeric_target)
        values = extract_metafeatures(dataset, random_state=random_state)
    if as_json:
        payload = {
            "dataset": {"name": dataset.name, "source": dataset.source, "group": dataset.group,
                        "rows": dataset.shape[0], "features": dataset.shape[1],
                        "dropped_columns": dataset.dropped_columns},
            "metafeatures": {k: (None if math.isnan(v) else float(v)) for k, v in values.items()},
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    table = Table(title=f"{dataset.name}: {dataset.shape[0]} rows x {dataset.shape[1]} features")
    table.add_column("meta-feature")
    table.add_column("group")
    table.add_column("value", justify="right")
    for name, value in values.items():
        group = getattr(METAFEATURES.get(name), "group", "")
        table.add_row(name, str(group), "NaN" if math.isnan(value) else f"{value:.6g}")
    Console().print(table)
