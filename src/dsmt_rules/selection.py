"""Rule selection with ruff's semantics: select / extend-select / ignore by code or prefix.

Each selector is ``ALL``, a full code (``DS104``) or a prefix of codes (``DS``, ``DS1``, ``DS10``).
For every rule the most specific matching selector decides; at equal specificity ``ignore`` wins.
A selector that matches no rule is an error (a typo must not silently select nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from dsmt_rules.exceptions import ConfigError, UnknownRuleError
from dsmt_rules.findings import Severity

__all__ = ["parse_severity_overrides", "resolve_selection", "validate_selectors"]

_ALL = "ALL"


def validate_selectors(selectors: Iterable[str], codes: Sequence[str], *, option: str) -> list[str]:
    """Normalise selectors (upper case, stripped) and reject those that match no rule."""
    out: list[str] = []
    for raw in selectors:
        sel = raw.strip().upper()
        if not sel:
            continue
        if sel != _ALL and not any(code.startswith(sel) for code in codes):
            raise UnknownRuleError(
                f"{option}: {raw.strip()!r} matches no rule; "
                "use a code such as DS104 or a prefix such as DS1 (see `dsmt-rules rules`)"
            )
        out.append(sel)
    return out


def _specificity(selector: str, code: str) -> int:
    """How specifically ``selector`` names ``code``: -1 for no match, 0 for ALL, else its length."""
    if selector == _ALL:
        return 0
    return len(selector) if code.startswith(selector) else -1


def resolve_selection(
    codes: Sequence[str],
    *,
    select: Iterable[str] | None = None,
    extend_select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
) -> frozenset[str]:
    """The set of enabled codes. ``select=None`` means every rule."""
    chosen = validate_selectors(select if select is not None else [_ALL], codes, option="select")
    chosen += validate_selectors(extend_select or (), codes, option="extend-select")
    ignored = validate_selectors(ignore or (), codes, option="ignore")
    enabled: set[str] = set()
    for code in codes:
        best_on = max((_specificity(s, code) for s in chosen), default=-1)
        best_off = max((_specificity(s, code) for s in ignored), default=-1)
        if best_on >= 0 and best_on > best_off:
            enabled.add(code)
    return frozenset(enabled)


def parse_severity_overrides(
    overrides: Mapping[str, str | Severity] | Iterable[str] | None, codes: Sequence[str]
) -> dict[str, Severity]:
    """``{"DS206": "error"}`` or ``["DS206=error"]`` to a mapping of exact codes to severities.

    A prefix (``DS2=warning``) applies to every code it matches; more specific entries win.
    """
    if not overrides:
        return {}
    pairs: list[tuple[str, str]] = []
    if isinstance(overrides, Mapping):
        pairs = [(k, str(v)) for k, v in overrides.items()]
    else:
        for item in overrides:
            key, sep, value = item.partition("=")
            if not sep:
                raise ConfigError(f"severity: {item!r} is not CODE=LEVEL (e.g. DS206=error)")
            pairs.append((key, value))
    result: dict[str, tuple[int, Severity]] = {}
    for key, value in pairs:
        (sel,) = validate_selectors([key], codes, option="severity")
        try:
            level = Severity(value.strip().lower())
        except ValueError:
            raise ConfigError(
                f"severity: {value.strip()!r} for {sel} is not one of error, warning, info"
            ) from None
        for code in codes:
            spec = _specificity(sel, code)
            if spec >= 0 and spec >= result.get(code, (-1, level))[0]:
                result[code] = (spec, level)
    return {code: level for code, (_, level) in result.items()}
