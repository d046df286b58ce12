"""CSV and parquet files: sniff the dialect and encoding, fail clearly on what is not a table."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from metasel.data._clean import MISSING_TOKENS
from metasel.exceptions import DataError, SourceNotFoundError

ENCODINGS = ("utf-8-sig", "latin-1")
SNIFF_BYTES = 64 * 1024


def read_csv(path: str | Path, *, sep: str | None = None, encoding: str | None = None) -> pd.DataFrame:
    """Read a delimited text file; the delimiter and encoding are sniffed unless given, and
    a ';'-separated file reads ',' as its decimal mark."""
    path = _existing_file(path)
    head = path.read_bytes()[:SNIFF_BYTES]
    if not head.strip():
        raise DataError(f"The file {path} is empty: a table needs a header row and data rows.")
    if b"\x00" in head:
        raise DataError(f"The file {path} is binary, not a delimited text table (CSV/TSV).")
    encoding = encoding or _sniff_encoding(head, path)
    text = head.decode(encoding, errors="replace")
    sep = sep or _sniff_separator(text)
    try:
        frame = pd.read_csv(
            path, sep=sep, encoding=encoding, na_values=list(MISSING_TOKENS),
            keep_default_na=True, skipinitialspace=True, low_memory=False,
            # the European convention: ';' separates values because ',' is the decimal mark
            decimal="," if sep == ";" else ".",
        )
    except pd.errors.EmptyDataError as error:
        raise DataError(f"The file {path} has no data: {error}.") from error
    except pd.errors.ParserError as error:
        raise DataError(
            f"The file {path} has malformed rows (a row with more fields than the header): "
            f"{error}. Fix the row or pass the right separator with sep=..."
        ) from error
    if frame.empty:
        raise DataError(f"The file {path} has a header but no data rows.")
    if frame.shape[1] == 1 and len(text.splitlines()[0]) > 200:
        raise DataError(f"The file {path} does not look like a table: no separator was found.")
    # ' label ' is the column a user calls label (--target label)
    return frame.rename(columns=lambda c: c.strip() if isinstance(c, str) else c)


def read_parquet(path: str | Path) -> pd.DataFrame:
    path = _existing_file(path)
    try:
        frame = pd.read_parquet(path)
    except Exception as error:  # pyarrow raises several unrelated types for a bad file
        raise DataError(f"The file {path} is not a readable parquet table: {error}") from error
    if frame.empty:
        raise DataError(f"The parquet file {path} has no rows.")
    return frame


def _existing_file(path: str | Path) -> Path:
    path = Path(path).expanduser()
    if not path.is_file():
        raise SourceNotFoundError(f"No such file: {path}.")
    return path


def _sniff_encoding(head: bytes, path: Path) -> str:
    for encoding in ENCODINGS:
        try:
            head.decode(encoding)
            return encoding
        except UnicodeDecodeError:
            continue
    raise DataError(f"Cannot decode {path} as UTF-8 or Latin-1 text; pass encoding=...")


def _sniff_separator(text: str) -> str:
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","
