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
import datetime as dt
import functools
import importlib.util
import json
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from dsmt_rules.exceptions import ConfigError

__all__ = [
    "BILLABLE",
    "HEADER",
    "UNKNOWN",
    "CodeSets",
    "Release",
    "billable_codes",
    "code_list_path",
    "code_set_version",
    "dotted",
    "is_billable",
    "is_code_shaped",
    "is_known",
    "load_code_file",
    "normalize",
    "shipped",
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


# --- effective-dated releases ---------------------------------------------------------------------

BILLABLE, HEADER, UNKNOWN = "billable", "header", "unknown"
"""A code's standing in a release: billable (a leaf), a header (category or subcategory: known, not
billable), or unknown (not in the release)."""

_FY = re.compile(r"(?<!\d)(20\d\d)(?!\d)")


class Release:
    """One ICD-10-CM release: its codes, which of them are billable, and when it is in force."""

    __slots__ = ("_billable", "_codes", "_status", "effective", "name", "until")

    def __init__(
        self,
        name: str,
        effective: dt.date,
        until: dt.date,
        codes: Iterable[str],
        billable: Iterable[str],
    ) -> None:
        self.name = name
        """How messages name the release, e.g. ``FY2026 (April 2026)``."""
        self.effective = effective
        self.until = until
        """The last day the release is in force (September 30 of its fiscal year)."""
        self._codes = frozenset(codes)
        self._billable = frozenset(billable)
        self._status: dict[str, str] = {}

    def status(self, code: str) -> str:
        """:data:`BILLABLE`, :data:`HEADER` or :data:`UNKNOWN` for a code as written (any case,
        dotted or not; the answer is cached)."""
        found = self._status.get(code)
        if found is None:
            plain = _plain(code)
            if plain is not None and plain in self._billable:
                found = BILLABLE
            elif plain is not None and plain in self._codes:
                found = HEADER
            else:
                found = UNKNOWN
            self._status[code] = found
        return found


class CodeSets:
    """The ICD-10-CM releases loaded, by date: the one in force on a date of service decides.

    ``additions`` are codes whose first day in force is known (E11.A: 2025-10-01); on an earlier
    date they are unknown whatever release holds them. A date before the earliest release is judged
    against it; a date after the latest release's last day is *past every loaded release*
    (:meth:`past`): an unknown code may then be a newer one (DS311).
    """

    __slots__ = ("_additions", "_by_date", "_load", "_releases")

    def __init__(
        self,
        releases: Iterable[Release] = (),
        additions: Mapping[str, dt.date] | None = None,
        *,
        load: Callable[[], CodeSets] | None = None,
    ) -> None:
        """The releases and additions; or ``load``, which gives them on first use (the shipped code
        sets cost about 50 ms to read: a check that runs no diagnosis rule never reads them)."""
        self._releases: tuple[Release, ...] = tuple(sorted(releases, key=lambda r: r.effective))
        self._additions: Mapping[str, dt.date] = dict(additions or {})
        self._load = load
        if load is None and not self._releases:
            raise ConfigError("no ICD-10-CM release is loaded")
        self._by_date: dict[dt.date, Release] = {}

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its releases and additions (loaded first, when they are loaded on use)."""
        return (CodeSets, (self.releases, dict(self.additions)))

    def _loaded(self) -> None:
        if self._load is not None:
            other = self._load()
            self._releases, self._additions, self._load = other.releases, other.additions, None

    @property
    def releases(self) -> tuple[Release, ...]:
        """The releases, oldest first."""
        self._loaded()
        return self._releases

    @property
    def additions(self) -> Mapping[str, dt.date]:
        """Codes whose first day in force is known, by undotted prefix."""
        self._loaded()
        return self._additions

    @property
    def newest(self) -> Release:
        """The latest release loaded."""
        return self.releases[-1]

    def release_for(self, day: dt.date) -> Release:
        """The release in force on ``day`` (the nearest one outside every release's dates)."""
        found = self._by_date.get(day)
        if found is None:
            found = self.releases[0]
            for release in self.releases:
                if release.effective <= day:
                    found = release
            self._by_date[day] = found
        return found

    def additions_after(self, day: dt.date) -> bool:
        """Whether a code of ``additions`` comes into force after ``day``."""
        return any(since > day for since in self.additions.values())

    def past(self, day: dt.date) -> bool:
        """Whether ``day`` is after the last day of every loaded release."""
        return day > self.newest.until

    def status(self, code: str, day: dt.date) -> str:
        """A code's standing on a date of service (:class:`Release.status`, and ``additions``)."""
        status = self.release_for(day).status(code)
        if status != UNKNOWN and self.additions:
            plain = _plain(code)
            for prefix, since in self.additions.items():
                if plain is not None and plain.startswith(prefix) and day < since:
                    return UNKNOWN
        return status

    def with_files(self, files: Iterable[str | Path]) -> CodeSets:
        """These code sets and the CMS code files ``files`` (``FY=PATH`` or ``PATH``): a file's
        release replaces a loaded one of the same fiscal year. The files are read now (a bad one
        is a configuration error at once)."""
        added = [load_code_file(spec) for spec in files]

        def load() -> CodeSets:
            loaded = {r.name.split()[0]: r for r in self.releases}
            for release in added:
                loaded[release.name.split()[0]] = release
            return CodeSets(loaded.values(), self.additions)

        return CodeSets(load=load)


def fiscal_year_dates(year: int) -> tuple[dt.date, dt.date]:
    """The days a fiscal year's release is in force: October 1 of the year before to September 30."""
    return dt.date(year - 1, 10, 1), dt.date(year, 9, 30)


def load_code_file(spec: str | Path) -> Release:
    """A release from a CMS ICD-10-CM code file: ``FY=PATH`` or a ``PATH`` whose name holds the
    fiscal year (``icd10cm_order_2027.txt``).

    The order file (order number, code, a 0/1 billable flag, descriptions) marks the billable codes
    and lists the headers; the codes file (code and description, billable codes only) has no
    headers, so every three-character-or-longer prefix of a billable code is taken as one.

    Raises:
        ConfigError: the file cannot be read, its fiscal year is not known, or it holds no codes.
    """
    text = str(spec)
    year_text, sep, path_text = text.partition("=")
    if sep and year_text.strip().upper().removeprefix("FY").isdigit():
        year = int(year_text.strip().upper().removeprefix("FY"))
        path = Path(path_text)
    else:
        path = Path(text)
        found = _FY.findall(path.name)
        if not found:
            raise ConfigError(
                f"{path}: the ICD-10-CM file's fiscal year is not in its name; give it as "
                f"FY=PATH (e.g. 2027={path})"
            )
        year = int(found[-1])
    try:
        lines = path.read_bytes().decode("utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read the ICD-10-CM file ({exc.strerror or exc})"
        ) from None
    codes: set[str] = set()
    billable: set[str] = set()
    order_file = False
    for number, line in enumerate(lines, start=1):
        parts = line.split(None, 3)
        if not parts:
            continue
        if parts[0].isdigit() and len(parts) >= 3 and parts[2] in ("0", "1"):
            order_file = True
            code = parts[1].upper()
            codes.add(code)
            if parts[2] == "1":
                billable.add(code)
        elif _SHAPE.fullmatch(parts[0].upper()) and not order_file:
            code = parts[0].upper().replace(".", "")
            billable.add(code)
            codes.update(code[:end] for end in range(3, len(code) + 1))
        else:
            raise ConfigError(f"{path}:{number}: not a line of a CMS ICD-10-CM order or codes file")
    if not billable:
        raise ConfigError(f"{path}: no billable ICD-10-CM code in the file")
    start, end = fiscal_year_dates(year)
    return Release(f"FY{year} ({path.name})", start, end, codes, billable)


_HISTORY = "icd10cm-history.json"


@functools.cache
def shipped() -> CodeSets:
    """The releases that ship: the installed simple-icd-10-cm list and the earlier releases derived
    from earlier versions of it (``data/icd10cm-history.json``, scripts/gen_icd10cm_history.py).
    Read on first use."""
    return CodeSets(load=_read_shipped)


def _read_shipped() -> CodeSets:
    from importlib import resources

    data = json.loads(
        resources.files("dsmt_rules").joinpath("data", _HISTORY).read_text(encoding="utf-8")
    )
    index = _index()
    codes, billable = set(index.codes), set(index.billable)
    about = data["shipped"]
    releases = [
        Release(
            f"{about['name']} ({code_set_version()})",
            dt.date.fromisoformat(about["effective"]),
            dt.date.fromisoformat(about["until"]),
            codes,
            billable,
        )
    ]
    for earlier in data["earlier"]:
        month_year = earlier["list"].removeprefix("code-list-").removesuffix(".txt")
        releases.append(
            Release(
                f"{earlier['name']} ({month_year.replace('-', ' ')})",
                dt.date.fromisoformat(earlier["effective"]),
                dt.date.fromisoformat(earlier["until"]),
                (codes | set(earlier["codes_added"])) - set(earlier["codes_removed"]),
                (billable | set(earlier["billable_added"])) - set(earlier["billable_removed"]),
            )
        )
    additions = {code: dt.date.fromisoformat(day) for code, day in data["additions"].items()}
    return CodeSets(releases, additions)
