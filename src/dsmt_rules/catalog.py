"""The catalog: the one explicit table of rules, in code order.

Each family module lists its rules in an explicit ``RULES`` tuple; nothing registers itself by being
imported. A test asserts that every :class:`~dsmt_rules.rules._base.Rule` subclass is listed here,
that codes are unique and ordered, and that every rule has docs, a citation and runnable examples.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from dsmt_rules.exceptions import UnknownRuleError
from dsmt_rules.rules import coding, document, limits, provider, referral, same_day, setting
from dsmt_rules.rules._base import Rule

__all__ = ["CATALOG", "CODES", "rule_for"]

CATALOG: tuple[type[Rule], ...] = tuple(
    sorted(
        (
            *document.RULES,
            *coding.RULES,
            *provider.RULES,
            *referral.RULES,
            *limits.RULES,
            *same_day.RULES,
            *setting.RULES,
        ),
        key=lambda rule: rule.code,
    )
)
"""Every rule, in code order."""

CODES: tuple[str, ...] = tuple(rule.code for rule in CATALOG)

_BY_CODE: Mapping[str, type[Rule]] = MappingProxyType({rule.code: rule for rule in CATALOG})


def rule_for(code: str) -> type[Rule]:
    """The rule class with this exact code (case-insensitive)."""
    try:
        return _BY_CODE[code.strip().upper()]
    except KeyError:
        raise UnknownRuleError(
            f"no rule {code.strip()!r}; `dsmt-rules rules` lists the codes"
        ) from None
