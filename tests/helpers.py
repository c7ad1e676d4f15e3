"""Helpers for tests: claims built from the base example claim and a merge patch.

Import as ``from helpers import claim_from, codes_of`` (pytest puts tests/ on the path).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dsmt_rules import Claim, check
from dsmt_rules.rules._examples import BASE_CLAIM, apply_patch


def claim_from(patch: Mapping[str, Any] | None = None) -> Claim:
    """The base example claim with a JSON merge patch applied (arrays are replaced whole)."""
    return Claim.model_validate(apply_patch(BASE_CLAIM, patch or {}))


def codes_of(claim: Claim, **options: Any) -> list[str]:
    """The finding codes ``check`` gives a claim, in report order."""
    return [f.code for f in check(claim, **options).findings]
