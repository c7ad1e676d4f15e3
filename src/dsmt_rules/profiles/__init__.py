"""Profiles: the numbers and code sets behind the rules, as data (TOML), not code.

``medicare`` ships built in. A profile file may ``extends = "medicare"`` (or another file, relative to
itself) and change any parameter; tables such as ``[severity]`` are merged key by key.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dsmt_rules.exceptions import ConfigError
from dsmt_rules.findings import Severity
from dsmt_rules.records import errors_of

__all__ = ["BUILTIN_PROFILES", "Profile", "load_profile"]

BUILTIN_PROFILES = ("medicare",)

_PosInt = Annotated[int, Field(ge=1, strict=True)]
_NonNegInt = Annotated[int, Field(ge=0, strict=True)]


class Profile(BaseModel):
    """Every parameter a rule reads. Rules never hold numbers of their own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    individual_code: str
    group_code: str
    mnt_codes: frozenset[str]
    unit_minutes: _PosInt
    min_session_minutes: _NonNegInt
    group_min: _PosInt
    group_max: _PosInt
    initial_period_months: _PosInt
    initial_max_units: _NonNegInt
    initial_individual_max_units: _NonNegInt
    initial_order_max_hours: Annotated[float, Field(ge=0)]
    follow_up_max_units_per_year: _NonNegInt
    follow_up_in_initial_end_year: bool
    accrediting_organizations: frozenset[str]
    qualified_credentials: frozenset[str]
    qualified_referrer_roles: frozenset[str]
    diabetes_code_prefixes: tuple[str, ...]
    prediabetes_code_prefixes: tuple[str, ...]
    inpatient_places_of_service: frozenset[str]
    telehealth_places_of_service: frozenset[str]
    telehealth_modifiers: frozenset[str]
    """Modifiers that code a line as telehealth on every claim (medicare: 95 video, 93 audio-only)."""
    institutional_telehealth_modifiers: frozenset[str] = frozenset()
    """Modifiers that code telehealth on institutional claims only (medicare: GT)."""
    allowed_bill_types: frozenset[str]
    rhc_bill_types: frozenset[str]
    fqhc_bill_types: frozenset[str]
    icd10cm_files: tuple[str, ...] = ()
    """CMS ICD-10-CM code files loaded on top of the shipped releases (``FY=PATH`` or a path whose
    name holds the fiscal year; a relative path is relative to the profile file)."""
    severity: tuple[tuple[str, Severity], ...] = ()
    """Default severity overrides (``[severity]`` table: code or prefix = level), in file order."""

    @field_validator("severity", mode="before")
    @classmethod
    def _severity_pairs(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return tuple(value.items())
        return value

    @field_validator("diabetes_code_prefixes", "prediabetes_code_prefixes")
    @classmethod
    def _undotted(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(p.replace(".", "").upper() for p in value)

    @functools.cached_property
    def dsmt_codes(self) -> frozenset[str]:
        """The DSMT HCPCS codes (individual and group)."""
        return frozenset((self.individual_code, self.group_code))

    @functools.cached_property
    def ledger_codes(self) -> frozenset[str]:
        """The codes a beneficiary's ledger keeps: DSMT and MNT."""
        return self.dsmt_codes | self.mnt_codes


def _read_toml(text: str, origin: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"profile {origin}: not valid TOML ({exc}); fix the file") from None


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _builtin_data(name: str) -> dict[str, Any]:
    text = resources.files(__package__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return _read_toml(text, name)


def _file_data(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "unreadable"
        raise ConfigError(f"profile file {path}: {reason}") from None
    data = _read_toml(text, str(path))
    files = data.get("icd10cm_files")
    if isinstance(files, list):
        data["icd10cm_files"] = [code_file_relative_to(path.parent, f) for f in files]
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ConfigError(f"profile file {path}: 'extends' must be a profile name or a file path")
    if parent in BUILTIN_PROFILES:
        base = _builtin_data(parent)
    else:
        parent_path = (path.parent / parent).resolve()
        if parent_path in seen:
            raise ConfigError(f"profile file {path}: 'extends' makes a cycle")
        base = _file_data(parent_path, (*seen, parent_path))
    return _merge(base, data)


def code_file_relative_to(folder: Path, spec: object) -> object:
    """A code file of a profile (``FY=PATH`` or ``PATH``), its path taken from the profile's folder."""
    if not isinstance(spec, str):
        return spec
    year, sep, rest = spec.partition("=")
    if sep and year.strip().upper().removeprefix("FY").isdigit():
        return f"{year}={folder / rest}"
    return str(folder / spec)


def _validate(data: dict[str, Any], origin: str) -> Profile:
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        _kind, loc, msg = errors_of(exc)[0]
        where = ".".join(str(p) for p in loc) or "(top level)"
        raise ConfigError(
            f"profile {origin}: {where}: {msg} ({exc.error_count()} error(s))"
        ) from None


@functools.cache
def _builtin(name: str) -> Profile:
    return _validate(_builtin_data(name), name)


def load_profile(profile: str | Path | Profile = "medicare") -> Profile:
    """Return a profile: a built-in name (``"medicare"``), a TOML file path, or a Profile as is.

    Raises:
        ConfigError: the name is unknown, or the file is missing, unreadable or not a valid profile.
    """
    if isinstance(profile, Profile):
        return profile
    if isinstance(profile, str) and profile in BUILTIN_PROFILES:
        return _builtin(profile)
    path = Path(profile)
    if not path.suffix and isinstance(profile, str):
        known = ", ".join(BUILTIN_PROFILES)
        raise ConfigError(f"unknown profile {profile!r}: use one of {known} or a .toml file path")
    resolved = path.resolve()
    return _validate(_file_data(resolved, (resolved,)), str(path))
