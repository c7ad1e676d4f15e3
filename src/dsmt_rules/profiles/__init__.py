"""Profiles: the numbers and code sets behind the rules, as data (TOML), not code.

``medicare`` ships built in. A profile file may ``extends = "medicare"`` (or another file, relative to
itself) and change any parameter; tables such as ``[severity]`` are merged key by key.
"""

from __future__ import annotations

import functools
import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from dsmt_rules.exceptions import ConfigError
from dsmt_rules.findings import Severity
from dsmt_rules.records import errors_of

__all__ = [
    "BUILTIN_PROFILES",
    "CROSS_FIELD_CHECKS",
    "Profile",
    "load_profile",
    "profile_document",
    "profile_toml",
]

BUILTIN_PROFILES = ("medicare",)
_INCONSISTENT = "profile_inconsistent"

CROSS_FIELD_CHECKS = (
    "`group_min` ≤ `group_max`.",
    "`individual_code` ≠ `group_code`, and neither is one of `mnt_codes`.",
    "`initial_individual_max_units` ≤ `initial_max_units` (the individual units are part of the "
    "initial units).",
    "No modifier is in both `telehealth_modifiers` and `institutional_telehealth_modifiers`.",
    "No place of service is in both `inpatient_places_of_service` and "
    "`telehealth_places_of_service`.",
    "No type of bill is in both `rhc_bill_types` and `fqhc_bill_types`, or in both "
    "`rhc_bill_types` and `allowed_bill_types` (an RHC does not bill DSMT: DS205).",
    "Every `fqhc_bill_types` entry is in `allowed_bill_types` (an FQHC bills individual DSMT).",
    "No `prediabetes_code_prefixes` entry overlaps a `diabetes_code_prefixes` entry (one is a "
    "prefix of the other).",
)
"""The invariants :class:`Profile` checks across its fields (documented in docs/profile.md); a
profile that breaks any is a ConfigError naming each broken one, in one line."""

_PosInt = Annotated[int, Field(ge=1, strict=True)]
_NonNegInt = Annotated[int, Field(ge=0, strict=True)]
_Hcpcs = Annotated[str, Field(pattern=r"^[A-Z0-9]{5}$")]
"""A HCPCS or CPT code: five upper-case letters or digits (G0108, 97802)."""
_TwoDigits = Annotated[str, Field(pattern=r"^[0-9]{2}$")]
"""A place of service, or the first two digits of a type of bill (``13`` for 13x)."""
_Modifier = Annotated[str, Field(pattern=r"^[A-Z0-9]{2}$")]


class Profile(BaseModel):
    """Every parameter a rule reads. Rules never hold numbers of their own.

    Each field's description is its documentation (docs/profile.md is generated from it); the
    cross-field invariants are checked after the fields (:meth:`_consistent`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="The profile's name, shown in messages (`medicare`).")
    individual_code: _Hcpcs = Field(
        description="The HCPCS code of individual DSMT, per unit of `unit_minutes` (G0108)."
    )
    group_code: _Hcpcs = Field(
        description="The HCPCS code of group DSMT, per unit of `unit_minutes` (G0109); a group "
        "session has `group_min` to `group_max` attendees (DS104, DS105, DS106)."
    )
    mnt_codes: frozenset[_Hcpcs] = Field(
        description="Medical nutrition therapy codes that may not be billed with DSMT on the same "
        "date of service (DS501); the beneficiary's ledger keeps them too."
    )
    unit_minutes: _PosInt = Field(
        description="Minutes of training one unit bills (30: the HCPCS descriptors are per 30 "
        "minutes); units may not exceed the linked sessions' minutes divided by it (DS103)."
    )
    min_session_minutes: _NonNegInt = Field(
        description="The shortest session that may be billed, in minutes (DS102)."
    )
    group_min: _PosInt = Field(
        description="The fewest attendees of a group session (everyone present counts): fewer is "
        "DS104, and a session this large billed as individual is DS106."
    )
    group_max: _PosInt = Field(
        description="The most attendees of a group session (DS105); at least `group_min`."
    )
    initial_period_months: _PosInt = Field(
        description="Length of the initial training period, in months from the first DSMT date "
        "of service on record (DS401, DS402, DS310)."
    )
    initial_max_units: _PosInt = Field(
        description="Units of initial training (individual and group) billable within the initial "
        "period (DS401); at least `initial_individual_max_units`."
    )
    initial_individual_max_units: _NonNegInt = Field(
        description="Of those, the individual (`individual_code`) units billable without a "
        "documented exception in the referral (DS402)."
    )
    initial_order_max_hours: Annotated[float, Field(gt=0, allow_inf_nan=False)] = Field(
        description="The most hours an initial referral may order (DS306)."
    )
    follow_up_max_units_per_year: _PosInt = Field(
        description="Units of follow-up training billable per calendar year after the initial "
        "period (DS403)."
    )
    follow_up_in_initial_end_year: bool = Field(
        description="Whether follow-up may be billed in the calendar year in which the initial "
        "period ends, once it has ended (false: from January 1 of the next year)."
    )
    accrediting_organizations: frozenset[str] = Field(
        min_length=1,
        description="Organizations whose accreditation of the DSMT program is accepted (DS201, "
        "DS202).",
    )
    qualified_credentials: frozenset[str] = Field(
        min_length=1,
        description="Instructor credentials that qualify a session's instructor (DS204).",
    )
    qualified_referrer_roles: frozenset[str] = Field(
        min_length=1,
        description="Roles of the practitioner who may order DSMT (DS303).",
    )
    diabetes_code_prefixes: tuple[str, ...] = Field(
        min_length=1,
        description="ICD-10-CM categories (prefixes, dots optional) that show diabetes: a DSMT "
        "line must point to one (DS308).",
    )
    prediabetes_code_prefixes: tuple[str, ...] = Field(
        description="ICD-10-CM prefixes of prediabetes and abnormal glucose, named in DS308's "
        "message; none may overlap `diabetes_code_prefixes`."
    )
    inpatient_places_of_service: frozenset[_TwoDigits] = Field(
        description="Places of service where DSMT, an outpatient benefit, is not billable (DS601)."
    )
    telehealth_places_of_service: frozenset[_TwoDigits] = Field(
        description="Places of service that code a line as telehealth (DS603); none may be an "
        "inpatient place of service."
    )
    telehealth_modifiers: frozenset[_Modifier] = Field(
        description="Modifiers that code a line as telehealth on every claim (DS603; medicare: 95 "
        "video, 93 audio-only)."
    )
    institutional_telehealth_modifiers: frozenset[_Modifier] = Field(
        default=frozenset(),
        description="Modifiers that code telehealth on institutional claims only (DS603; "
        "medicare: GT); none may be in `telehealth_modifiers`.",
    )
    allowed_bill_types: frozenset[_TwoDigits] = Field(
        description="Types of bill (first two digits) accepted for DSMT on an institutional claim "
        "(DS602); they include every `fqhc_bill_types` and no `rhc_bill_types`."
    )
    rhc_bill_types: frozenset[_TwoDigits] = Field(
        description="Types of bill of a rural health clinic, which does not bill DSMT (DS205)."
    )
    fqhc_bill_types: frozenset[_TwoDigits] = Field(
        description="Types of bill of a federally qualified health center, which bills DSMT but "
        "not group sessions as visits (DS206)."
    )
    icd10cm_files: tuple[str, ...] = Field(
        default=(),
        description="CMS ICD-10-CM code files loaded on top of the shipped releases (`FY=PATH` or "
        "a path whose name holds the fiscal year; a relative path is relative to the profile "
        "file) (DS309, DS311).",
    )
    severity: tuple[tuple[str, Severity], ...] = Field(
        default=(),
        description="Default severity overrides: a `[severity]` table of code or prefix = level "
        "(`error`, `warning`, `info`), in file order; `--severity` overrides them.",
    )

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

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        problems = self._inconsistencies()
        if problems:
            raise PydanticCustomError(_INCONSISTENT, "; ".join(problems))
        return self

    def _inconsistencies(self) -> list[str]:
        """The cross-field invariants this profile breaks, each as a sentence for the user."""
        problems: list[str] = []
        if self.group_min > self.group_max:
            problems.append(
                f"group_min ({self.group_min}) is greater than group_max ({self.group_max})"
            )
        if self.individual_code == self.group_code:
            problems.append(f"individual_code and group_code are both {self.individual_code}")
        if self.initial_individual_max_units > self.initial_max_units:
            problems.append(
                f"initial_individual_max_units ({self.initial_individual_max_units}) is greater "
                f"than initial_max_units ({self.initial_max_units})"
            )
        overlaps = (
            ("mnt_codes", self.mnt_codes, "the DSMT codes", self.dsmt_codes),
            (
                "telehealth_modifiers",
                self.telehealth_modifiers,
                "institutional_telehealth_modifiers",
                self.institutional_telehealth_modifiers,
            ),
            (
                "inpatient_places_of_service",
                self.inpatient_places_of_service,
                "telehealth_places_of_service",
                self.telehealth_places_of_service,
            ),
            ("rhc_bill_types", self.rhc_bill_types, "fqhc_bill_types", self.fqhc_bill_types),
            ("rhc_bill_types", self.rhc_bill_types, "allowed_bill_types", self.allowed_bill_types),
        )
        for name, values, other_name, others in overlaps:
            if values & others:
                shared = ", ".join(sorted(values & others))
                problems.append(f"{name} and {other_name} share {shared}")
        if not self.fqhc_bill_types <= self.allowed_bill_types:
            missing = ", ".join(sorted(self.fqhc_bill_types - self.allowed_bill_types))
            problems.append(f"fqhc_bill_types {missing} not in allowed_bill_types")
        nested = sorted(
            {
                f"{pre}/{dia}"
                for pre in self.prediabetes_code_prefixes
                for dia in self.diabetes_code_prefixes
                if pre.startswith(dia) or dia.startswith(pre)
            }
        )
        if nested:
            problems.append(
                "prediabetes_code_prefixes overlap diabetes_code_prefixes ("
                + ", ".join(nested)
                + ")"
            )
        return problems

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
        kind, loc, msg = errors_of(exc)[0]
        if kind == _INCONSISTENT:
            raise ConfigError(f"profile {origin}: {msg}") from None
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


def profile_document(profile: Profile) -> dict[str, Any]:
    """A profile's parameters as plain data, in field order: sets sorted, ``severity`` a table.

    Written as TOML (:func:`profile_toml`) or JSON, it loads back to an equal profile.
    """
    document: dict[str, Any] = {}
    for name in Profile.model_fields:
        value = getattr(profile, name)
        if name == "severity":
            value = {code: level.value for code, level in value}
        elif isinstance(value, frozenset):
            value = sorted(value)
        elif isinstance(value, tuple):
            value = list(value)
        document[name] = value
    return document


def toml_value(value: Any) -> str:
    """A TOML literal for a profile value: a boolean, number, string or list of them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    raise TypeError(f"no TOML form for a {type(value).__name__}")


def profile_toml(profile: Profile) -> str:
    """A profile as a complete TOML profile file (no ``extends``): one ``key = value`` per
    parameter, then the ``[severity]`` table."""
    document = profile_document(profile)
    severity: dict[str, str] = document.pop("severity")
    lines = [f"{key} = {toml_value(value)}" for key, value in document.items()]
    lines += ["", "[severity]"]
    lines += [f"{toml_value(code)} = {toml_value(level)}" for code, level in severity.items()]
    return "\n".join(lines) + "\n"
