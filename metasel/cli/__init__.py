"""The `metasel` command line: a thin typer app; each command group registers itself."""

from __future__ import annotations

import logging

import typer

from metasel.cli import _describe, _fit, _kb, _recommend

app = typer.Typer(
    name="metasel",
    help="Meta-learned model selection for tabular classification.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _module in (_describe, _recommend, _fit, _kb):
    _module.register(app)


def main() -> None:
    """Console-script entry point."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
