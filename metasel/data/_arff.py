"""ARFF files (OpenML's and Weka's native format) and folders of them."""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import arff
import numpy as np
import pandas as pd

from metasel.data._clean import DataWarning, binarize_at_mean, from_frame, iso_dates
from metasel.data._dataset import Dataset
from metasel.exceptions import DataError, MetaselError, SourceNotFoundError

logger = logging.getLogger(__name__)


# Weka's optional value range after a numeric type ('@attribute age integer [0,120]'),
# which liac-arff (OpenML's parser) rejects; the range carries no information we use.
_WEKA_RANGE = re.compile(r"(?im)^(\s*@attribute\s.*?\s(?:integer|real|numeric))\s*\[[^\]\n]*\]\s*$")
_TARGET_NAME = re.compile(r"(?i)^(class|.*[-_ ]class|diagnosis|.*_diagnosis)$")


def default_target(frame: pd.DataFrame, nominal: list[str]) -> str:
    """The last attribute, as Weka and OpenML do, unless it is numeric while a nominal
    attribute is named as the class ('class', 'LRS-class', 'OVERALL_DIAGNOSIS')."""
    last = frame.columns[-1]
    if last in nominal:
        return last
    named = [c for c in nominal if _TARGET_NAME.match(str(c))]
    return named[0] if len(named) == 1 else last


def read_arff(path: str | Path) -> tuple[pd.DataFrame, list[str]]:
    """The table of an ARFF file (nominal attributes as categoricals in declared order)
    and the names of its nominal attributes."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise SourceNotFoundError(f"No such ARFF file: {path}.")
    text = _WEKA_RANGE.sub(r"\1", path.read_text(encoding="utf-8", errors="replace"))
    if not text.strip():
        raise DataError(f"The ARFF file {path} is empty.")
    text, date_formats = _dates_as_strings(text)
    try:
        decoded = _decode(text)
    except arff.ArffException as error:
        decoded = _decode_lenient(text, path, error)
    frame, nominal = _to_frame(decoded, path)
    for position, java_format in date_formats.items():
        name = frame.columns[position]
        frame[name] = _parse_dates(frame[name], java_format, path, name)
    return frame, nominal


_DATA_LINE = re.compile(r"(?im)^\s*@data\b.*$")
_ATTRIBUTE_LINE = re.compile(r"(?im)^\s*@attribute\s")
# '@attribute name DATE [format]': Weka's date type, which liac-arff does not know
_DATE_ATTRIBUTE = re.compile(
    r"""(?i)^(\s*@attribute\s+(?:'[^']*'|"[^"]*"|\S+)\s+)date(?:\s+(?:'([^']*)'|"([^"]*)"|(\S+)))?\s*$""")
# Java SimpleDateFormat fields (a run of one letter) -> strptime directives
_JAVA_DATE_FIELDS = {"yyyy": "%Y", "yy": "%y", "MMMM": "%B", "MMM": "%b", "MM": "%m", "M": "%m",
                     "dd": "%d", "d": "%d", "HH": "%H", "H": "%H", "hh": "%I", "h": "%I",
                     "mm": "%M", "m": "%M", "ss": "%S", "s": "%S", "SSS": "%f", "a": "%p",
                     "EEEE": "%A", "EEE": "%a", "Z": "%z", "z": "%Z", "XXX": "%z", "X": "%z"}
_JAVA_DATE_TOKEN = re.compile(r"'[^']*'|([A-Za-z])\1*|[^A-Za-z']+")


def _dates_as_strings(text: str) -> tuple[str, dict[int, str | None]]:
    """The text with every DATE attribute declared STRING, and those attributes' positions
    with their Java date formats (None: Weka's default, ISO 8601)."""
    marker = _DATA_LINE.search(text)
    header_end = marker.start() if marker else len(text)
    lines = text[:header_end].split("\n")
    formats: dict[int, str | None] = {}
    position = -1
    for i, line in enumerate(lines):
        if not _ATTRIBUTE_LINE.match(line):
            continue
        position += 1
        match = _DATE_ATTRIBUTE.match(line)
        if match:
            formats[position] = next((f for f in match.groups()[1:] if f is not None), None)
            lines[i] = match.group(1) + "STRING"
    return ("\n".join(lines) + text[header_end:] if formats else text), formats


def _parse_dates(values: pd.Series, java_format: str | None, path: Path, name: str) -> pd.Series:
    """A DATE attribute's text as datetimes (cleaning later turns them into seconds)."""
    # UTC: a date without offset is read as UTC, as CSV dates are
    if java_format is None:
        dates = iso_dates(values)
    else:
        dates = pd.to_datetime(values, format=_strptime_format(java_format, path, name),
                               errors="coerce", utc=True)
        if re.search(r"(?<!y)yy(?!y)", java_format):  # Java's pivot: at most 20 years ahead
            last = pd.Timestamp.now().year + 20
            ahead = dates.dt.year > last
            dates = dates.where(~ahead, dates - pd.DateOffset(years=100))
            warnings.warn(f"{path.name}: two-digit years of '{name}' are read as Weka reads them "
                          f"today, {last - 99}-{last}.", DataWarning, stacklevel=3)
    present, parsed = int(values.notna().sum()), int(dates.notna().sum())
    if present and not parsed:
        raise DataError(f"The ARFF file {path}: no value of the DATE attribute '{name}' matches "
                        f"its format {java_format or 'ISO 8601'!r} (first: {values.dropna().iloc[0]!r}).")
    if parsed < present:
        warnings.warn(f"{path.name}: {present - parsed} value(s) of the DATE "
                      f"attribute '{name}' do not match its format and are missing.",
                      DataWarning, stacklevel=3)
    return dates


def _strptime_format(java_format: str, path: Path, name: str) -> str:
    out = []
    for token in _JAVA_DATE_TOKEN.finditer(java_format):
        text = token.group(0)
        if text.startswith("'"):
            out.append(text[1:-1].replace("%", "%%") or "'")
        elif token.group(1):
            if text not in _JAVA_DATE_FIELDS:
                raise DataError(f"The ARFF file {path}: the DATE format {java_format!r} of "
                                f"'{name}' uses {text!r}, which metasel cannot read.")
            out.append(_JAVA_DATE_FIELDS[text])
        else:
            out.append(text.replace("%", "%%"))
    return "".join(out)


def _decode(text: str) -> dict:
    try:
        return arff.loads(text)
    except arff.BadLayout:  # a sparse file ('{index value, ...}' rows)
        return arff.loads(text, return_type=arff.COO)


def _decode_lenient(text: str, path: Path, error: arff.ArffException) -> dict:
    """Read data rows as Weka (OpenML's parser) does where liac-arff refuses them: blanks,
    doubled or trailing commas all separate values. A file that still fails is refused
    with liac-arff's own message."""
    repaired, n_rows = _resplit_data_rows(text)
    try:
        if not n_rows:
            raise error
        decoded = _decode(repaired)
    except arff.ArffException:
        raise DataError(f"The ARFF file {path} is malformed: {error}.") from error
    warnings.warn(f"Read {path.name} as Weka does: {n_rows} data row(s) separate their values "
                  "by blanks or by doubled or trailing commas.", DataWarning, stacklevel=4)
    return decoded


_WEKA_SEPARATORS = re.compile(r"[,\s]+")


def _resplit_data_rows(text: str) -> tuple[str, int]:
    """The text with every dense, unquoted data row whose values only line up with the
    attributes under Weka's separators rewritten comma-separated; how many were."""
    marker = _DATA_LINE.search(text)
    if marker is None:
        return text, 0
    n_attributes = len(_ATTRIBUTE_LINE.findall(text[:marker.start()]))
    lines = text[marker.end():].splitlines()
    n_rows = 0
    for i, line in enumerate(lines):
        row = line.strip()
        if not row or row[0] in "%{" or "'" in row or '"' in row:
            continue
        values = [v for v in _WEKA_SEPARATORS.split(row) if v]
        if len(values) == n_attributes and len(row.split(",")) != n_attributes:
            lines[i] = ",".join(values)
            n_rows += 1
    return text[:marker.end()] + "\n" + "\n".join(lines) + "\n", n_rows


def _to_frame(decoded: dict, path: Path) -> tuple[pd.DataFrame, list[str]]:
    attributes = decoded["attributes"]
    names = [name for name, _ in attributes]
    data = decoded["data"]
    if isinstance(data, tuple):  # COO: (values, rows, cols) of a sparse file
        values, rows, cols = data
        dense = np.full((max(rows, default=-1) + 1, len(names)), None, dtype=object)
        dense[rows, cols] = values
        frame = pd.DataFrame(dense, columns=names)
        frame = frame.where(frame.notna(), 0)  # sparse ARFF: absent means zero
    else:
        if not data:
            raise DataError(f"The ARFF file {path} declares attributes but holds no data rows.")
        frame = pd.DataFrame.from_records(data, columns=names)
    nominal = []
    for name, kind in attributes:
        if isinstance(kind, list):
            frame[name] = pd.Categorical(frame[name], categories=list(dict.fromkeys(kind)))
            nominal.append(name)
        elif kind.upper() in {"NUMERIC", "REAL", "INTEGER"}:
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(np.float64)
    return frame, nominal


def load_arff(
    path: str | Path,
    target: str | None = None,
    *,
    name: str | None = None,
    group: str | None = None,
    numeric_target: str = "error",
    drop_uninformative: bool = True,
) -> Dataset:
    """Load one ARFF file; the target is the last attribute unless ``target`` names another.

    A numeric target is refused (``numeric_target="error"``) or binarised at its mean
    (``"binarize"``: 'P' above the mean, 'N' otherwise — how OpenML made binary versions of
    regression sets); a binarised dataset shares its source's group.
    """
    path = Path(path).expanduser()
    frame, nominal = read_arff(path)
    target = target if target is not None else default_target(frame, nominal)
    if target not in frame.columns:
        raise DataError(
            f"The target attribute {target!r} is not in {path}. Attributes: {list(frame.columns)[:12]}."
        )
    name = name or path.stem
    if target not in nominal and pd.api.types.is_numeric_dtype(frame[target]):
        frame = _numeric_target(frame, target, numeric_target, path, nominal)
    return from_frame(
        frame, target=target, name=name, source="arff", source_id=str(path), group=group,
        drop_uninformative=drop_uninformative,
    )


def _numeric_target(frame: pd.DataFrame, target: str, mode: str, path: Path,
                    nominal: list[str]) -> pd.DataFrame:
    if mode == "binarize":
        frame = frame.copy()  # not assign(): a column may be called 'self' (sleuth_ex0428)
        frame[target] = binarize_at_mean(frame[target], path.stem)
        return frame
    choices = f"its nominal attributes: {nominal[:12]}" if nominal else "it has no nominal attribute"
    raise DataError(
        f"The target {target!r} of {path} is numeric (a regression task). metasel does "
        "classification: choose a nominal target with target=... (--target on the command "
        f"line; {choices}), or split this one at its mean with load_dataset(..., "
        "numeric_target='binarize') (--numeric-target binarize on the command line)."
    )


@dataclass(frozen=True)
class FolderItem:
    """One file of a folder: the dataset, or the reason it could not be used."""

    path: Path
    dataset: Dataset | None
    error: str | None


def iter_arff_folder(
    folder: str | Path,
    *,
    numeric_target: str = "error",
    min_rows: int = 0,
    max_rows: int | None = None,
    max_classes: int | None = None,
    recursive: bool = True,
) -> Iterator[FolderItem]:
    """Every ARFF file under ``folder`` (sorted), each loaded or with the reason it was skipped.

    A bad file never stops the iteration: its error is reported in the item.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise SourceNotFoundError(f"No such folder: {folder}.")
    pattern = "**/*.arff" if recursive else "*.arff"
    for path in sorted(folder.glob(pattern)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                dataset = load_arff(path, numeric_target=numeric_target)
        except MetaselError as error:
            yield FolderItem(path, None, str(error))
            continue
        n_rows = dataset.shape[0]
        if n_rows < min_rows or (max_rows is not None and n_rows > max_rows):
            yield FolderItem(path, None, f"{n_rows} rows outside [{min_rows}, {max_rows}]")
        elif max_classes is not None and dataset.n_classes > max_classes:
            yield FolderItem(path, None, f"{dataset.n_classes} classes > {max_classes}")
        else:
            yield FolderItem(path, dataset, None)
