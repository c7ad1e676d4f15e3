"""The CMS quarterly Medically Unlikely Edit (MUE) table, for rule DS109.

CMS publishes the MUE tables each quarter as CSV files, one per edition (practitioner services,
outpatient hospital services, DME supplier services). Each starts with a few lines of notice text,
then a header row and one row per code::

    "HCPCS/CPT Code","Practitioner Services MUE Values","MUE Adjudication Indicator","MUE Rationale"
    "G0108","8","3 Date of Service Edit: Clinical","Clinical: Data"

:func:`load_mue` finds the header row (the cells that name the code and the MUE value, however the
edition words them), reads the rows after it, and returns the values by code, ready for
``dsmt_rules.engine.ruleset(mue=...)``. The adjudication indicator and rationale are checked to be
present in the header but not used: DS109 compares units per code, beneficiary and date of service.

A file that cannot be read as an MUE table is a configuration error (:class:`ConfigError`), with a
one-line message naming the file and, where it applies, the line.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType

from dsmt_rules.exceptions import ConfigError

__all__ = ["load_mue", "parse_mue"]

_CODE = re.compile(r"[A-Z0-9]{5}")
_MAX_BYTES = 64 * 1024 * 1024


def load_mue(path: str | Path) -> Mapping[str, int]:
    """Read a CMS MUE CSV file: MUE values by HCPCS/CPT code (read-only mapping).

    Raises:
        ConfigError: the file cannot be read, has no MUE header row, or a row is not valid.
    """
    p = Path(path)
    try:
        with p.open("rb") as fh:
            data = fh.read(_MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the MUE file ({exc.strerror or exc})") from None
    if len(data) > _MAX_BYTES:
        raise ConfigError(f"{p}: larger than {_MAX_BYTES // (1024 * 1024)} MiB; not an MUE table")
    return parse_mue(data, origin=str(p))


def parse_mue(data: bytes | str, *, origin: str = "MUE table") -> Mapping[str, int]:
    """Parse the text of a CMS MUE CSV file (see :func:`load_mue`); ``origin`` names it in errors."""
    text = _decode(data) if isinstance(data, bytes) else data
    rows = csv.reader(io.StringIO(text, newline=""))
    columns: tuple[int, int] | None = None
    values: dict[str, int] = {}
    try:
        for row in rows:
            lineno = rows.line_num
            cells = [c.strip().strip('="').strip() for c in row]
            if columns is None:
                columns = _header(cells)
                continue
            _row(cells, columns, lineno, origin, values)
    except csv.Error as exc:
        raise ConfigError(f"{origin}:{rows.line_num}: not valid CSV ({exc})") from None
    if columns is None:
        raise ConfigError(
            f"{origin}: no header row naming the HCPCS/CPT code and MUE value columns; "
            "is this a CMS MUE CSV file?"
        )
    if not values:
        raise ConfigError(f"{origin}: the MUE table has no rows")
    return MappingProxyType(values)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _norm(cell: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", cell.lower()).strip()


def _header(cells: list[str]) -> tuple[int, int] | None:
    """(code column, value column) when this row is the table's header row."""
    names = [_norm(c) for c in cells]
    code = next(
        (i for i, n in enumerate(names) if ("hcpcs" in n or "cpt" in n) and "mue" not in n), None
    )
    value = next(
        (i for i, n in enumerate(names) if "mue" in n and "value" in n and "rationale" not in n),
        None,
    )
    if value is None:  # some editions say just "MUE" or "MUE Values" without the edition name
        value = next((i for i, n in enumerate(names) if n in ("mue", "mues")), None)
    if code is None or value is None or code == value:
        return None
    return code, value


def _row(
    cells: list[str], columns: tuple[int, int], lineno: int, origin: str, out: dict[str, int]
) -> None:
    code_col, value_col = columns
    code = cells[code_col].upper() if code_col < len(cells) else ""
    raw = cells[value_col] if value_col < len(cells) else ""
    if not code and not raw:
        return  # a blank or spacer row
    number = _integer(raw)
    if not _CODE.fullmatch(code):
        if number is None:
            return  # a note or footer line after the table
        raise ConfigError(f"{origin}:{lineno}: the HCPCS/CPT code is not a 5-character code")
    if number is None:
        raise ConfigError(f"{origin}:{lineno}: the MUE value of {code} is not a whole number")
    if number < 0:
        raise ConfigError(f"{origin}:{lineno}: the MUE value of {code} is negative")
    previous = out.get(code)
    if previous is not None and previous != number:
        raise ConfigError(
            f"{origin}:{lineno}: {code} is listed twice with different MUE values "
            f"({previous} and {number})"
        )
    out[code] = number


def _integer(raw: str) -> int | None:
    try:
        number = Decimal(raw.replace(",", ""))
    except InvalidOperation:
        return None
    if not number.is_finite() or number != number.to_integral_value():
        return None
    return int(number)
