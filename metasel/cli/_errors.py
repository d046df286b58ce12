"""Turn metasel's errors into one clear line on stderr and exit code 2 (no traceback)."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import typer
from rich.console import Console

from metasel.exceptions import MetaselError

stderr = Console(stderr=True)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Report `MetaselError` as 'Error: …' and exit 2; show data warnings as plain notes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        except MetaselError as error:
            stderr.print(f"[bold red]Error:[/] {error}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=2) from None
        finally:
            for warning in caught:
                if issubclass(warning.category, UserWarning):
                    stderr.print(f"[yellow]Warning:[/] {warning.message}", highlight=False, soft_wrap=True)
