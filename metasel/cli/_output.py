"""Output helpers shared by the commands."""

from __future__ import annotations

from rich.console import Console


def print_line(console: Console, text: str) -> None:
    """One line as is, so it can be copied: not wrapped by rich (the terminal may), no
    markup or highlighting (a configuration's ``[...]`` is not rich markup)."""
    console.print(text, soft_wrap=True, highlight=False, markup=False)
