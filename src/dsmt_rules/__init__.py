"""dsmt-rules: claim scrubbing for Medicare Diabetes Self-Management Training (G0108 / G0109).

>>> from dsmt_rules import Claim, check
>>> report = check(Claim.model_validate_json(document))  # doctest: +SKIP
>>> report.status, [f.code for f in report.findings]  # doctest: +SKIP
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from dsmt_rules.catalog import CATALOG, rule_for
from dsmt_rules.engine import (
    Record,
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

try:
    __version__ = version("dsmt-rules")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

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
