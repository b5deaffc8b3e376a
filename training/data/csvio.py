"""Fast CSV reading (pyarrow, multithreaded C++) with exact line numbers on failure.

Good files are parsed once by ``pyarrow.csv`` with every column typed float64. When pyarrow
rejects a file (wrong field count, a non-numeric cell, a header where none belongs) it does not
say which line; only then the file is scanned line by line in Python to name it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from training.data import errors as rules
from training.data.errors import CandleDataError

_NULLS = {"", "nan", "NaN", "NA", "null", "NULL"}
_SMALL_FILE_BYTES = 4096


def read_numeric_csv(
    path: Path, *, column_names: list[str] | None, pair: str | None
) -> pd.DataFrame:
    """Read a CSV whose cells are all numbers (empty cells become NaN).

    Args:
        path: CSV file, comma-separated, no quoting.
        column_names: names for a headerless file; ``None`` if the first line is the header.
        pair: Hummingbot pair for error messages.

    Returns:
        Frame with float64 columns, one row per data line, in file order.

    Raises:
        CandleDataError: ``empty`` (no data line), ``header`` (a header line in a headerless
            file), ``field_count``, ``non_numeric`` (row = 1-based line number), ``unreadable``.
    """
    if path.stat().st_size < _SMALL_FILE_BYTES and not path.read_bytes().strip():
        raise CandleDataError("file is empty", path=str(path), row=None, rule=rules.EMPTY,
                              pair=pair)
    names = column_names if column_names is not None else _header(path)
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=names,
                                           skip_rows=0 if column_names else 1),
            parse_options=pacsv.ParseOptions(ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.float64()), null_values=sorted(_NULLS)),
        )
    except pa.ArrowInvalid as err:
        raise _locate(path, len(names), header=column_names is None, pair=pair, cause=err) from err
    if table.num_rows == 0:
        raise CandleDataError("no data lines", path=str(path), row=None, rule=rules.EMPTY,
                              pair=pair)
    frame: pd.DataFrame = table.to_pandas()
    # pyarrow reads a blank line as a row of nulls, not as a short line: report it as one.
    blank = frame.isna().all(axis=1).to_numpy()
    if blank.any():
        line_no = int(blank.argmax()) + (1 if column_names else 2)
        raise CandleDataError(f"blank line; expected {len(names)} comma-separated fields",
                              path=str(path), row=line_no, rule=rules.FIELD_COUNT, pair=pair)
    return frame


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as handle:
        return handle.readline().rstrip("\r\n").split(",")


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _locate(
    path: Path, n_fields: int, *, header: bool, pair: str | None, cause: Exception
) -> CandleDataError:
    """Scan the file for the first bad line (error path only) and build the error for it."""
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line_no, line in enumerate(handle, start=1):
            if header and line_no == 1:
                continue
            cells = line.rstrip("\r\n").split(",")
            bad = [c for c in cells if c.strip() not in _NULLS and not _is_number(c)]
            if line_no == 1 and bad and len(bad) == len(cells):
                return CandleDataError(
                    f"header line {line.strip()[:80]!r}; this format has no header",
                    path=str(path), row=line_no, rule=rules.HEADER, pair=pair)
            if len(cells) != n_fields:
                return CandleDataError(
                    f"expected {n_fields} comma-separated fields, found {len(cells)}: "
                    f"{line.strip()[:80]!r}", path=str(path), row=line_no,
                    rule=rules.FIELD_COUNT, pair=pair)
            if bad:
                return CandleDataError(f"value {bad[0]!r} is not a number", path=str(path),
                                       row=line_no, rule=rules.NON_NUMERIC, pair=pair)
    return CandleDataError(f"cannot parse CSV: {cause}", path=str(path), row=None,
                           rule=rules.UNREADABLE, pair=pair)
