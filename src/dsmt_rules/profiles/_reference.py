"""Render the profile reference (docs/profile.md) from the :class:`Profile` model: each parameter's
type and constraints (its JSON Schema), its ``medicare`` value and its description (the field's
``description``). Used by scripts/gen_profile_docs.py; output is deterministic.
"""

from __future__ import annotations

from typing import Any

from dsmt_rules.profiles import (
    CROSS_FIELD_CHECKS,
    Profile,
    load_profile,
    profile_document,
    profile_toml,
    toml_value,
)

__all__ = ["render_profile_reference"]

_PATTERNS = {
    "^[A-Z0-9]{5}$": ("HCPCS/CPT code (5 characters)", "HCPCS/CPT codes (5 characters)"),
    "^[0-9]{2}$": ("2-digit code", "2-digit codes"),
    "^[A-Z0-9]{2}$": ("2-character modifier", "2-character modifiers"),
}
"""Words for the code formats the model's patterns check: (one, several)."""


def _pattern_words(pattern: str, plural: bool) -> str:
    words = _PATTERNS.get(pattern)
    if words is None:
        return f"{'strings' if plural else 'string'} matching `{pattern}`"
    return words[plural]


def _scalar_type(schema: dict[str, Any]) -> str:
    pattern = schema.get("pattern")
    if pattern is not None:
        return _pattern_words(pattern, plural=False)
    kind = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}
    text = kind.get(str(schema.get("type")), str(schema.get("type")))
    if "minimum" in schema:
        text += f" ≥ {schema['minimum']}"
    if "exclusiveMinimum" in schema:
        text += f" > {schema['exclusiveMinimum']}"
    return text


def _type_text(name: str, schema: dict[str, Any]) -> str:
    if name == "severity":
        return "table: code or prefix = `error`, `warning` or `info`"
    if schema.get("type") != "array":
        return _scalar_type(schema)
    items: dict[str, Any] = schema.get("items", {})
    pattern = items.get("pattern")
    of = _pattern_words(pattern, plural=True) if pattern else "strings"
    text = f"{'set' if schema.get('uniqueItems') else 'list'} of {of}"
    if schema.get("minItems"):
        text += ", not empty"
    return text


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_profile_reference() -> str:
    """docs/profile.md: every parameter, its type, its medicare value and what it does."""
    schema = Profile.model_json_schema()["properties"]
    medicare = profile_document(load_profile("medicare"))
    default_fields = {n for n, f in Profile.model_fields.items() if not f.is_required()}
    rows = []
    for name, field in Profile.model_fields.items():
        value = profile_toml_value(name, medicare[name])
        optional = " (optional)" if name in default_fields else ""
        rows.append(
            f"| `{name}`{optional} | {_type_text(name, schema[name])} | {_cell(value)} "
            f"| {_cell(field.description or '')} |"
        )
    checks = [f"- {check}" for check in CROSS_FIELD_CHECKS]
    return "\n".join(
        [
            "# Profile reference",
            "",
            "A profile holds every number and code set the rules read: rules have no numbers of "
            "their own. `medicare` is built in (`src/dsmt_rules/profiles/medicare.toml`, where each "
            "parameter names its source). A payer profile is a TOML file that says "
            '`extends = "medicare"` (or another profile file, relative to itself) and sets only '
            "what differs; tables such as `[severity]` are merged key by key.",
            "",
            "```toml",
            'extends = "medicare"',
            'name = "payer"',
            "group_max = 12",
            "",
            "[severity]",
            'DS206 = "error"',
            "```",
            "",
            'Use it with `dsmt-rules check --profile payer.toml` or `profile = "payer.toml"` in '
            "the [settings file](configuration.md). `dsmt-rules profile show [NAME|FILE]` prints "
            "the effective profile (after `extends`) as a complete TOML file, or JSON with "
            "`--format json`.",
            "",
            "This page is generated from the field descriptions of the `Profile` model by "
            "`scripts/gen_profile_docs.py` (`make docs`); do not edit it by hand.",
            "",
            "## Parameters",
            "",
            "Every parameter is required in a profile without `extends` unless marked optional. "
            "Sets are written as TOML arrays; their order does not matter.",
            "",
            "| Parameter | Type | `medicare` | Description |",
            "|---|---|---|---|",
            *rows,
            "",
            "## Cross-field checks",
            "",
            "A profile must also be consistent; one that is not is a configuration error (exit "
            "status 2) that names every check it fails, in one line:",
            "",
            *checks,
            "",
            "## The medicare profile",
            "",
            "As `dsmt-rules profile show medicare` prints it:",
            "",
            "```toml",
            profile_toml(load_profile("medicare")).rstrip("\n"),
            "```",
            "",
        ]
    )


def profile_toml_value(name: str, value: Any) -> str:
    """A medicare value as the table shows it (inline code; the severity table summarised)."""
    if name == "severity":
        return ", ".join(f"`{code} = {level}`" for code, level in value.items()) or "(none)"
    return f"`{toml_value(value)}`"
