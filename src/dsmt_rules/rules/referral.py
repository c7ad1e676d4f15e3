"""Rules of this family (see dsmt_rules.rules)."""

from __future__ import annotations

from dsmt_rules.rules._base import Rule

__all__ = ["RULES"]

RULES: tuple[type[Rule], ...] = ()
