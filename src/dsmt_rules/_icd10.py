"""The ICD-10-CM code set: which codes exist and which are billable (leaf) codes.

The source is the maintained package ``simple-icd-10-cm``, but not its Python module: importing
``simple_icd_10_cm`` parses a 10 MB XML file (about 2 s). Its package folder also ships a plain list of
every code, ``data/code-list-<Month>-<Year>.txt`` (one undotted code per line, chapters and blocks
included). This module finds that file without importing the package and builds, on first use and once
per process, the set of codes and the set of billable codes: a code is billable iff no other code of
the list extends it (``E11`` and ``E11.6`` are not billable; ``E11.65`` is).

Nothing is read at import time: ``import dsmt_rules`` costs nothing here, and a check that runs no
diagnosis rule never builds the index.
"""

from __future__ import annotations

import bisect
import functools
import importlib.util
import re
from pathlib import Path
from typing import NamedTuple

from dsmt_rules.exceptions import ConfigError

__all__ = [
    "billable_codes",
    "code_list_path",
    "code_set_version",
    "dotted",
    "is_billable",
    "is_code_shaped",
    "is_known",
    "normalize",
]

_PACKAGE = "simple_icd_10_cm"
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_LIST_NAME = re.compile(r"code-list-(?P<month>[A-Za-z]+)-(?P<year>\d{4})\.txt")
_CATEGORY = (
    r"[A-Z](?:[0-9][0-9A-Z]|[A-Z][0-9])"  # E11, C7A, QA0 (2026): a digit in 2nd or 3rd place
)
_SHAPE = re.compile(_CATEGORY + r"(?:\.?[0-9A-Z]{1,4})?")
"""What a code looks like as written on a claim: the optional dot comes after the third character."""


class _Index(NamedTuple):
    codes: tuple[str, ...]
    """Every code of the list (categories, subcategories, billable codes), undotted, sorted."""
    billable: frozenset[str]
    """The leaf codes: the ones that may be reported on a claim."""


def _version_key(path: Path) -> tuple[int, int]:
    match = _LIST_NAME.fullmatch(path.name)
    if match is None or match["month"] not in _MONTHS:
        return (0, 0)
    return (int(match["year"]), _MONTHS.index(match["month"]) + 1)


@functools.cache
def code_list_path() -> Path:
    """The newest ``code-list-<Month>-<Year>.txt`` shipped with simple-icd-10-cm (not imported).

    Raises:
        ConfigError: simple-icd-10-cm is not installed, or ships no code list.
    """
    spec = importlib.util.find_spec(_PACKAGE)  # a top-level name: finds, does not import
    folders = list(spec.submodule_search_locations or ()) if spec is not None else []
    candidates = [
        path for folder in folders for path in Path(folder, "data").glob("code-list-*.txt")
    ]
    if not candidates:
        raise ConfigError(
            "the ICD-10-CM code list was not found: install the simple-icd-10-cm package "
            "(pip install 'simple-icd-10-cm>=1.1,<2')"
        )
    return max(candidates, key=lambda path: (_version_key(path), path.name))


def code_set_version() -> str:
    """The code set's version as its file names it, e.g. ``"April 2026"``."""
    match = _LIST_NAME.fullmatch(code_list_path().name)
    if match is None:  # pragma: no cover - the glob only finds code-list-*.txt
        return code_list_path().stem
    return f"{match['month']} {match['year']}"


@functools.cache
def _index() -> _Index:
    """Read the code list once: its codes, and the billable ones among them (about 50 ms)."""
    text = code_list_path().read_text(encoding="utf-8")
    lines = text.splitlines()
    if " " in text or "." in text:  # the package's reader also accepts "E11.9 description" lines
        lines = [line.partition(" ")[0].replace(".", "") for line in lines]
    # Chapter numbers ("4") and block ranges ("E08-E13") are not codes.
    codes = [line for line in lines if line and "-" not in line and not line.isdigit()]
    codes.sort()  # the file is nearly sorted already: cheap
    # zip stops at the shorter list: each code is paired with the one before it, then after it.
    codes = [code for code, before in zip(codes, ["", *codes], strict=False) if code != before]
    # In sorted order a code's descendants follow it directly: a code is a leaf iff the next code
    # does not extend it.
    after = [*codes[1:], ""] if codes else []
    billable = frozenset(
        [code for code, next_ in zip(codes, after, strict=True) if not next_.startswith(code)]
    )
    return _Index(tuple(codes), billable)


def normalize(code: str) -> str:
    """The undotted, upper-case form of a code: ``"e11.65"`` -> ``"E1165"``."""
    return code.replace(".", "").upper()


def dotted(code: str) -> str:
    """The usual written form of a code, dot after the third character: ``"E1165"`` -> ``"E11.65"``.

    A value that is not shaped like a code is returned unchanged.
    """
    if not is_code_shaped(code):
        return code
    plain = normalize(code)
    return plain if len(plain) <= 3 else f"{plain[:3]}.{plain[3:]}"


@functools.lru_cache(maxsize=1 << 16)
def is_code_shaped(code: str) -> bool:
    """Whether a value is written like an ICD-10-CM code (``E11.65`` or ``E1165``, any case).

    Cached: claims repeat a few thousand codes, and the answer depends on the value alone.
    """
    return _SHAPE.fullmatch(code.upper()) is not None


@functools.lru_cache(maxsize=1 << 16)
def _plain(code: str) -> str | None:
    """The undotted, upper-case form of a value written like a code, else None (cached)."""
    return normalize(code) if is_code_shaped(code) else None


def is_known(code: str) -> bool:
    """Whether a code exists in the code set at any level (``E11`` does; ``E11.99`` does not)."""
    plain = _plain(code)
    if plain is None:
        return False
    codes = _index().codes
    i = bisect.bisect_left(codes, plain)
    return i < len(codes) and codes[i] == plain


def is_billable(code: str) -> bool:
    """Whether a code is a valid, billable (leaf) ICD-10-CM code, dotted or not, any case.

    ``E11.9`` and ``e119`` are billable; ``E11`` (a category) is not; ``E11.99`` does not exist.
    """
    plain = _plain(code)
    return plain is not None and plain in _index().billable


def billable_codes() -> frozenset[str]:
    """Every billable ICD-10-CM code, undotted (for generators and reports; built on first use)."""
    return _index().billable
