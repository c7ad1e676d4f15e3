"""dsmt-rules: claim scrubbing for Medicare Diabetes Self-Management Training (G0108 / G0109).

>>> from dsmt_rules import Claim, check
>>> report = check(Claim.model_validate_json(document))  # doctest: +SKIP
>>> report.status, [f.code for f in report.findings]  # doctest: +SKIP

The names below are imported on first use (PEP 562), so that ``import dsmt_rules`` (and the
Hypothesis entry point, which runs whenever Hypothesis is imported) costs next to nothing; each name
comes from the module listed in ``_EXPORTS``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dsmt_rules.catalog import CATALOG, rule_for
    from dsmt_rules.engine import (
        Ruleset,
        check,
        check_many,
        check_records,
        iter_findings,
        ruleset,
    )
    from dsmt_rules.exceptions import AdapterError, ConfigError, DsmtRulesError, UnknownRuleError
    from dsmt_rules.findings import Finding, Report, Severity, Status
    from dsmt_rules.models import (
        Accreditation,
        BillingProvider,
        Claim,
        HistoryEntry,
        Instructor,
        Referral,
        ServiceLine,
        Session,
    )
    from dsmt_rules.profiles import Profile, load_profile
    from dsmt_rules.records import Record

    __version__: str

__all__ = [
    "CATALOG",
    "Accreditation",
    "AdapterError",
    "BillingProvider",
    "Claim",
    "ConfigError",
    "DsmtRulesError",
    "Finding",
    "HistoryEntry",
    "Instructor",
    "Profile",
    "Record",
    "Referral",
    "Report",
    "Ruleset",
    "ServiceLine",
    "Session",
    "Severity",
    "Status",
    "UnknownRuleError",
    "__version__",
    "check",
    "check_many",
    "check_records",
    "iter_findings",
    "load_profile",
    "rule_for",
    "ruleset",
]

_EXPORTS = {
    "CATALOG": "dsmt_rules.catalog",
    "rule_for": "dsmt_rules.catalog",
    "Ruleset": "dsmt_rules.engine",
    "check": "dsmt_rules.engine",
    "check_many": "dsmt_rules.engine",
    "check_records": "dsmt_rules.engine",
    "iter_findings": "dsmt_rules.engine",
    "ruleset": "dsmt_rules.engine",
    "AdapterError": "dsmt_rules.exceptions",
    "ConfigError": "dsmt_rules.exceptions",
    "DsmtRulesError": "dsmt_rules.exceptions",
    "UnknownRuleError": "dsmt_rules.exceptions",
    "Finding": "dsmt_rules.findings",
    "Report": "dsmt_rules.findings",
    "Severity": "dsmt_rules.findings",
    "Status": "dsmt_rules.findings",
    "Accreditation": "dsmt_rules.models",
    "BillingProvider": "dsmt_rules.models",
    "Claim": "dsmt_rules.models",
    "HistoryEntry": "dsmt_rules.models",
    "Instructor": "dsmt_rules.models",
    "Referral": "dsmt_rules.models",
    "ServiceLine": "dsmt_rules.models",
    "Session": "dsmt_rules.models",
    "Profile": "dsmt_rules.profiles",
    "load_profile": "dsmt_rules.profiles",
    "Record": "dsmt_rules.records",
}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dsmt-rules")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "0.0.0"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value: Any = _version()
    elif name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    else:
        raise AttributeError(f"module 'dsmt_rules' has no attribute {name!r}")
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
