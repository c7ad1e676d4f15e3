"""Settings: what configures a check, whichever way it was given (command line, settings file,
Python).

:class:`Settings` holds the resolved values; :func:`build_ruleset` compiles the rule selection,
profile and MUE table they name. The command line only maps its options onto these fields.

A settings file (``[tool.dsmt-rules]`` in a ``pyproject.toml``, or a ``dsmt-rules.toml``) is found as
ruff finds its own (:func:`find_settings_file`) and read by :func:`read_settings_file`. Its keys are
derived from the fields of :class:`Settings` (``mue_file`` -> ``mue-file``; a new field is a new key
with no other edit), plus :data:`OPTION_KEYS`, which configure the command itself.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from dsmt_rules.engine import Ruleset, ruleset
from dsmt_rules.exceptions import ConfigError
from dsmt_rules.records import errors_of

__all__ = [
    "DEFAULT_BATCH_MEMORY",
    "OPTION_KEYS",
    "PATH_KEYS",
    "Settings",
    "SettingsFile",
    "build_ruleset",
    "find_settings_file",
    "key_of",
    "load_settings",
    "read_settings_file",
    "setting_keys",
    "split_codes",
]

DEFAULT_BATCH_MEMORY = 64
"""MiB a batch holds before it spills (each of its two stages)."""


def split_codes(values: Iterable[str]) -> tuple[str, ...]:
    """``("DS1,DS2", "DS301")`` -> ``("DS1", "DS2", "DS301")`` (empty items dropped)."""
    return tuple(code.strip() for value in values for code in value.split(",") if code.strip())


@dataclass(frozen=True, slots=True)
class Settings:
    """The options that choose and configure the rules and how records are read."""

    profile: str = "medicare"
    select: tuple[str, ...] | None = None
    """``None`` when no selection is given (every rule); ``()`` selects none."""
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity: tuple[str, ...] = ()
    reference: tuple[str, ...] = ()
    """Reference data files (JSON Lines) that complete the claims."""
    mue_file: str | None = None
    """A CMS MUE CSV file for DS109."""
    icd10cm_files: tuple[str, ...] = ()
    """CMS ICD-10-CM code files (``FY=PATH`` or ``PATH``) on top of the shipped releases."""
    batch_memory: int = DEFAULT_BATCH_MEMORY
    """MiB a batch holds (claims waiting for their beneficiary, then reports) before it spills."""
    temp_dir: str | None = None
    """Where a batch spills (None: the system's temporary directory)."""
    docs_url: str | None = None
    """A base URL for the rule docs: finding urls (and SARIF ``helpUri``) become
    ``docs_url`` joined with the documented relative path; None keeps the relative path."""
    x12_validate: bool = False
    """Read X12 837 input with pyx12's full implementation-guide validation (extra ``x12``)."""
    engine: Literal["default", "spark"] = "default"
    """``default`` (this process) or ``spark`` (:mod:`dsmt_rules.spark`; the same reports)."""
    spark_master: str | None = None
    """The Spark master for ``engine="spark"`` (``local[2]``, ...; None: spark-submit's, else
    ``local[*]``)."""


def build_ruleset(settings: Settings) -> Ruleset:
    """The compiled profile and rule selection (raises ConfigError on a bad setting)."""
    mue = None
    if settings.mue_file is not None:
        from dsmt_rules.mue import load_mue

        mue = load_mue(settings.mue_file)
    return ruleset(
        profile=settings.profile,
        select=settings.select,
        extend_select=settings.extend_select,
        ignore=settings.ignore,
        severity=settings.severity,
        mue=mue,
        icd10cm_files=settings.icd10cm_files,
    )


# --- settings files (pyproject.toml [tool.dsmt-rules], dsmt-rules.toml) ---------------------------

SETTINGS_FILE = "dsmt-rules.toml"
"""A settings file whose top-level keys are the settings."""
PYPROJECT = "pyproject.toml"
"""A settings file when it has a ``[tool.dsmt-rules]`` table (otherwise discovery skips it)."""
PYPROJECT_TABLE = ("tool", "dsmt-rules")

OPTION_KEYS: Mapping[str, Any] = {"format": str, "fail-on": str}
"""Keys of a settings file that configure the command (its output and exit status), not the rules:
they have no :class:`Settings` field; the command line checks their values (``--format``,
``--fail-on``)."""

_KEY_OF_FIELD: Mapping[str, str] = {"icd10cm_files": "icd10cm-file"}
"""Keys that mirror a command-line option whose name is not the field's (``--icd10cm-file``)."""

PATH_KEYS = frozenset({"profile", "reference", "mue-file", "icd10cm-file", "temp-dir"})
"""Keys whose relative paths are taken from the settings file's directory (``profile`` only when it
names a file, not a built-in profile; ``icd10cm-file`` also in its ``FY=PATH`` form)."""


def key_of(field_name: str) -> str:
    """The settings-file key of a :class:`Settings` field: its name with ``-`` for ``_``."""
    return _KEY_OF_FIELD.get(field_name, field_name.replace("_", "-"))


def setting_keys() -> dict[str, str]:
    """Every key a settings file may hold that sets a :class:`Settings` field: key -> field name."""
    return {key_of(f.name): f.name for f in dataclasses.fields(Settings)}


def all_keys() -> tuple[str, ...]:
    """Every key a settings file may hold, :class:`Settings` fields first, in field order."""
    return (*setting_keys(), *OPTION_KEYS)


@dataclass(frozen=True, slots=True)
class SettingsFile:
    """A settings file read and checked: its values by key (paths absolute)."""

    path: Path
    values: Mapping[str, Any]
    """Key -> value, as typed by :class:`Settings` (lists as tuples), in file order."""

    @property
    def origin(self) -> str:
        """Where the values came from, for messages: the path, with the table of a pyproject."""
        return f"{self.path} [tool.dsmt-rules]" if self.path.name == PYPROJECT else str(self.path)

    def fields(self) -> dict[str, Any]:
        """The :class:`Settings` field values this file gives: field name -> value."""
        keys = setting_keys()
        return {keys[key]: value for key, value in self.values.items() if key in keys}

    def apply(self, settings: Settings | None = None, *, keep: Iterable[str] = ()) -> Settings:
        """``settings`` (default: the defaults) with this file's values, except the fields ``keep``."""
        kept = set(keep)
        changes = {name: v for name, v in self.fields().items() if name not in kept}
        return dataclasses.replace(settings if settings is not None else Settings(), **changes)


def _has_table(data: Mapping[str, Any]) -> bool:
    tool = data.get(PYPROJECT_TABLE[0])
    return isinstance(tool, dict) and PYPROJECT_TABLE[1] in tool


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"settings file {path}: not valid TOML ({exc}); fix the file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"settings file {path}: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"settings file {path}: {exc.strerror or 'unreadable'}") from None


def find_settings_file(start: str | Path | None = None) -> Path | None:
    """The settings file that applies in ``start`` (default: the working directory), as ruff finds
    its own: the nearest directory, from ``start`` upward, that holds a ``dsmt-rules.toml`` or a
    ``pyproject.toml`` with a ``[tool.dsmt-rules]`` table; in one directory ``dsmt-rules.toml`` wins.
    A ``pyproject.toml`` without the table is skipped. ``None`` when there is none.
    """
    folder = Path(start if start is not None else Path.cwd()).resolve()
    for directory in (folder, *folder.parents):
        candidate = directory / SETTINGS_FILE
        if candidate.is_file():
            return candidate
        pyproject = directory / PYPROJECT
        if pyproject.is_file() and _has_table(_read_toml(pyproject)):
            return pyproject
    return None


def _type_hints() -> dict[str, Any]:
    try:
        return typing.get_type_hints(Settings)
    except NameError:  # a field typed with a name only known to type checkers
        return {}


def _is_path_spec(value: str) -> bool:
    return bool(Path(value).suffix) or "/" in value or os.sep in value


def _resolved(key: str, value: Any, folder: Path) -> Any:
    if key == "profile":
        from dsmt_rules.profiles import BUILTIN_PROFILES

        if value in BUILTIN_PROFILES or not _is_path_spec(value):
            return value
        return str(folder / value)
    if key == "icd10cm-file":
        from dsmt_rules.profiles import code_file_relative_to

        return tuple(code_file_relative_to(folder, spec) for spec in value)
    if isinstance(value, tuple):
        return tuple(str(folder / item) for item in value)
    return value if value is None else str(folder / value)


def _checked(key: str, value: Any, hint: Any, origin: str) -> Any:
    if key == "severity" and isinstance(value, dict):  # a table: code or prefix = level
        table = _typed(key, value, dict[str, str], origin)
        value = [f"{code}={level}" for code, level in table.items()]
    return _typed(key, value, hint, origin)


def _typed(key: str, value: Any, hint: Any, origin: str) -> Any:
    """``value`` as ``hint`` types it, strictly (TOML arrays as tuples, no strings as numbers)."""
    try:
        return TypeAdapter(hint).validate_json(json.dumps(value), strict=True)
    except TypeError:  # a TOML date or time: no setting takes one
        raise ConfigError(f"{origin}: {key}: a date or time is not a valid value") from None
    except ValidationError as exc:
        _kind, loc, msg = errors_of(exc)[0]
        where = key + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)
        raise ConfigError(f"{origin}: {where}: {msg}") from None


def read_settings_file(path: str | Path) -> SettingsFile:
    """Read and check a settings file: ``[tool.dsmt-rules]`` of a ``pyproject.toml`` (a pyproject
    without the table gives no settings), else the file's top-level keys.

    Raises:
        ConfigError: the file cannot be read or is not TOML, a key is unknown, or a value has the
            wrong type (the message names the file and the key, in one line).
    """
    path = Path(path).resolve()
    data = _read_toml(path)
    if path.name == PYPROJECT:
        tool = data.get(PYPROJECT_TABLE[0])
        table = tool.get(PYPROJECT_TABLE[1], {}) if isinstance(tool, dict) else {}
        if not isinstance(table, dict):
            raise ConfigError(f"settings file {path}: [tool.dsmt-rules] must be a table")
        data = table
    found = SettingsFile(path, {})
    known = all_keys()
    hints = _type_hints()
    fields = setting_keys()
    values: dict[str, Any] = {}
    for key, raw in data.items():
        if key not in known:
            raise ConfigError(
                f"{found.origin}: unknown key {key!r} (the keys are: {', '.join(known)})"
            )
        hint = OPTION_KEYS[key] if key in OPTION_KEYS else hints.get(fields[key], Any)
        value = _checked(key, raw, hint, found.origin)
        values[key] = _resolved(key, value, path.parent) if key in PATH_KEYS else value
    return SettingsFile(path, values)


def load_settings(path: str | Path | None = None, *, start: str | Path | None = None) -> Settings:
    """The :class:`Settings` of a settings file: ``path``, else the one found from ``start`` (the
    working directory) upward; the defaults when there is none."""
    found = Path(path) if path is not None else find_settings_file(start)
    return Settings() if found is None else read_settings_file(found).apply()
