"""DS3xx: the order (referral) for the training, and the diagnoses the DSMT lines point to.

DS305 (units billed under the order) and DS310 (the order's phase) read the beneficiary's history
(``ctx.ledger``); the others read the claim alone.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Any, ClassVar

from dsmt_rules import _icd10
from dsmt_rules._icd10 import BILLABLE as _BILLABLE
from dsmt_rules._icd10 import HEADER as _HEADER
from dsmt_rules._icd10 import UNKNOWN as _UNKNOWN
from dsmt_rules._icd10 import CodeSets
from dsmt_rules.findings import Severity
from dsmt_rules.history import referral_cap
from dsmt_rules.models import Claim, Training
from dsmt_rules.rules._base import Context, LedgerContext, Rule, Screen, Violation, violation
from dsmt_rules.rules._caps import MBPM, overage_violations, period_dates
from dsmt_rules.rules._examples import FOLLOW_UP_ORDER, base_line, base_session, history_entries

__all__ = [
    "RULES",
    "CodeSetNotLoaded",
    "DiagnosisCodeInvalid",
    "DiagnosisMissing",
    "DiagnosisNotDiabetes",
    "InitialOrderOverLimit",
    "ReferralAfterService",
    "ReferralHoursExceeded",
    "ReferralMissing",
    "ReferralPhaseMismatch",
    "ReferralUnsigned",
    "ReferrerNotQualified",
]

_MBPM = f"{MBPM} §300"
_INITIAL = Training.INITIAL
"""An enum member as a module constant: a member lookup on its class is slow in Python 3.11."""


@functools.cache
def _code_ranges(prefixes: tuple[str, ...]) -> str:
    """Code prefixes as people write them: ``E08, E09, E10, E11, E13, O24`` -> ``E08-E13, O24``.

    Three or more successive three-character prefixes of the same letter become a range.
    """
    shown = [_icd10.dotted(p) for p in prefixes]
    parts: list[str] = []
    run: list[str] = []
    for code in [*shown, ""]:
        if run and (len(code) != 3 or len(run[0]) != 3 or code[0] != run[0][0]):
            parts.append(f"{run[0]}-{run[-1]}" if len(run) >= 3 else ", ".join(run))
            run = []
        if code:
            run.append(code)
    return ", ".join(parts)


class ReferralMissing(Rule):
    """A claim for DSMT with no referral (order) for the training.

    ## What it checks
    That the claim carries the order for the training (`referral`). One finding per claim.

    ## Why it matters
    Medicare covers DSMT only when the physician or qualified non-physician practitioner treating
    the beneficiary's diabetes orders it in writing. Without the order on file there is no covered
    service, and the other referral checks (signature, referrer, dates, hours) cannot run.

    ## References
    Medicare Benefit Policy Manual (Pub. 100-02), chapter 15, §300; Medicare.gov, "Diabetes
    self-management training".
    """

    code = "DS301"
    name = "referral-missing"
    default_severity = Severity.ERROR
    message = (
        "The claim has no referral; DSMT must be ordered in writing by the physician or qualified "
        "non-physician practitioner treating the diabetes (add the referral to the claim)."
    )
    citation = f"{_MBPM}; Medicare.gov DSMT coverage"
    carc_hint = "16"
    needs = "referral"
    facts = frozenset({"referral"})
    screen = Screen(claim="referral is None")
    fix = "Add the written, signed order (referral) for the training."
    example: ClassVar[dict[str, object]] = {"referral": None}
    use_instead: ClassVar[dict[str, object]] = {
        "referral": {"referral_id": "R-77", "date": "2026-01-05", "signed": True}
    }

    def check(self, ctx: Context) -> Iterable[Violation]:
        if ctx.claim.referral is None:
            return [violation(("referral",))]
        return ()


class ReferralUnsigned(Rule):
    """A referral that is not signed.

    ## What it checks
    That the referral on the claim is marked as signed (`referral.signed`).

    ## Why it matters
    The order for DSMT must be written and signed by the ordering practitioner. An unsigned order
    does not support the service on review, and the training billed under it is denied.

    ## References
    Medicare Benefit Policy Manual (Pub. 100-02), chapter 15, §300.
    """

    code = "DS302"
    name = "referral-unsigned"
    default_severity = Severity.ERROR
    message = (
        "The referral dated {referral_date} is not signed; the order for DSMT must be signed by "
        "the ordering practitioner (obtain the signature before billing)."
    )
    citation = _MBPM
    carc_hint = "16"
    needs = "referral.signed"
    facts = frozenset({"referral"})
    screen = Screen(claim="referral is not None and not referral.signed")
    fix = "Obtain the ordering practitioner's signature on the referral."
    example: ClassVar[dict[str, object]] = {"referral": {"signed": False}}
    use_instead: ClassVar[dict[str, object]] = {"referral": {"signed": True}}

    def check(self, ctx: Context) -> Iterable[Violation]:
        referral = ctx.claim.referral
        if referral is not None and not referral.signed:
            return [violation(("referral", "signed"), referral_date=referral.date.isoformat())]
        return ()


class ReferrerNotQualified(Rule):
    """A referral from a practitioner who may not order DSMT.

    ## What it checks
    That the referring practitioner's role (`referral.practitioner_role`) is one the profile
    accepts (`qualified_referrer_roles`; medicare: physician, nurse practitioner, physician
    assistant, clinical nurse specialist).

    ## Why it matters
    Only the physician or qualified non-physician practitioner treating the beneficiary's diabetes
    may order DSMT. Training ordered by anyone else is not a covered service.

    ## References
    Medicare Benefit Policy Manual (Pub. 100-02), chapter 15, §300; Social Security Act §1861(qq).
    """

    code = "DS303"
    name = "referrer-not-qualified"
    default_severity = Severity.ERROR
    message = (
        "The referral was written by a practitioner with role '{role}'; DSMT must be ordered by one "
        "of: {allowed} (get the order from the practitioner treating the diabetes)."
    )
    citation = f"{_MBPM}; SSA §1861(qq)"
    carc_hint = "16"
    needs = "referral.practitioner_role"
    facts = frozenset({"referral"})
    screen = Screen(
        claim="referral is not None and referral.practitioner_role not in "
        "P.qualified_referrer_roles"
    )
    fix = "Obtain the order from the physician or qualified NPP treating the diabetes."
    example: ClassVar[dict[str, object]] = {"referral": {"practitioner_role": "other"}}
    use_instead: ClassVar[dict[str, object]] = {
        "referral": {"practitioner_role": "nurse_practitioner"}
    }

    def check(self, ctx: Context) -> Iterable[Violation]:
        referral = ctx.claim.referral
        allowed = ctx.profile.qualified_referrer_roles
        # A role is a str enum: it is in the profile's set of role names when its value is.
        if referral is None or referral.practitioner_role in allowed:
            return ()
        return [
            violation(
                ("referral", "practitioner_role"),
                role=referral.practitioner_role.value,
                allowed=", ".join(sorted(allowed)),
            )
        ]


class ReferralAfterService(Rule):
    """A referral dated after a DSMT date of service.

    ## What it checks
    For each G0108/G0109 line, that the referral's date (`referral.date`) is on or before the
    line's date of service. A referral dated the same day as the service is accepted. One finding
    per line served before the order.

    ## Why it matters
    The training must be ordered before it is furnished. A service dated before its order was not
    ordered when it was given, and is denied; an order written after the fact does not cure it.

    ## References
    Medicare Benefit Policy Manual (Pub. 100-02), chapter 15, §300.
    """

    code = "DS304"
    name = "referral-after-service"
    default_severity = Severity.ERROR
    message = (
        "Line {line}: the referral is dated {referral_date}, after the date of service "
        "{service_date}; training must be ordered before it is given (bill only services on or "
        "after the order's date)."
    )
    citation = _MBPM
    carc_hint = "16"
    needs = "referral.date"
    facts = frozenset({"referral"})
    screen = Screen(line="referral is not None and referral.date > day")
    fix = "Bill only services furnished on or after the date of the order."
    example: ClassVar[dict[str, object]] = {"referral": {"date": "2026-02-03"}}
    use_instead: ClassVar[dict[str, object]] = {"referral": {"date": "2026-02-02"}}

    def check(self, ctx: Context) -> Iterable[Violation]:
        referral = ctx.claim.referral
        if referral is None:
            return ()
        ordered = referral.date
        found: list[Violation] = []
        for _, line in ctx.dsmt_lines:
            if ordered > line.service_date:
                found.append(
                    violation(
                        ("referral", "date"),
                        line.line_id,
                        line=line.line_id,
                        referral_date=ordered.isoformat(),
                        service_date=line.service_date.isoformat(),
                    )
                )
        return found


class ReferralHoursExceeded(Rule):
    """More units billed under a referral than the hours it orders.

    ## What it checks
    The DSMT units billed under the claim's referral: this claim's G0108/G0109 lines plus the
    services on record (`history`) and, in a batch, the beneficiary's other claims that name the
    same `referral_id`, in date-of-service order, against `hours_ordered` x 60 / the profile's
    `unit_minutes` (10 hours = 20 units). The line whose units take the total past the order
    carries the finding, with the units over; each later line under the order is over by all of
    its units.

    ## Why it matters
    The order states how many hours of training are ordered. Training past the ordered hours is
    not covered by that order: the excess is denied, and the program needs a new or amended order
    before it furnishes more.

    ## References
    Medicare Benefit Policy Manual (Pub. 100-02), chapter 15, §300 (the order states the number
    of hours ordered).
    """

    code = "DS305"
    name = "referral-hours-exceeded"
    default_severity = Severity.ERROR
    message = (
        "Line {line}: the referral orders {hours:g} hours ({cap} units) and {total} units are "
        "billed under it up to this line ({over} over); reduce the line by {over} unit(s) or "
        "obtain an amended order for more hours."
    )
    citation = f"{MBPM} §300"
    carc_hint = "119"
    needs = "referral.hours_ordered, history"
    facts = frozenset({"history", "referral"})
    fix = "Bill no more units under an order than the hours it orders; get a new order for more."
    autofix = (
        "Unsafe: bill the line's units less the units over (remove the line when all of them are "
        "over). The total counts the other services under the order (history, other claims), and "
        "an amended order for more hours is the other repair."
    )
    example: ClassVar[dict[str, Any]] = {
        "referral": {"hours_ordered": 1.5},
        "history": history_entries(("2026-01-12", "G0109", 2, "R-77")),
    }
    use_instead: ClassVar[dict[str, Any]] = {
        "referral": {"hours_ordered": 2},
        "history": history_entries(("2026-01-12", "G0109", 2, "R-77")),
    }
    uses_ledger = True

    def check(self, ctx: LedgerContext) -> Iterator[Violation]:
        referral = ctx.referral
        if referral is None:
            return
        cap = referral_cap(referral.hours_ordered, ctx.profile)
        overages = ctx.ledger.referral_overages(referral.referral_id, cap)
        yield from overage_violations(
            ctx, overages, "the hours ordered", hours=referral.hours_ordered
        )


class InitialOrderOverLimit(Rule):
    """An initial referral that orders more hours than initial training allows.

    ## What it checks
    That a referral for initial training (`referral.training` = `initial`) orders at most the
    profile's `initial_order_max_hours` (medicare: 10 hours). Follow-up orders are not limited
    by this rule (the follow-up caps are DS403's).

    ## Why it matters
    Initial DSMT is limited to 10 hours; the order states how many hours are ordered. An order for
    more than the benefit allows is not a valid initial order and draws denial or review of the
    training billed under it.

    ## References
    Medicare Benefit Policy Manual (Pub. 100-02), chapter 15, §300 and §300.3.
    """

    code = "DS306"
    name = "initial-order-over-limit"
    default_severity = Severity.ERROR
    message = (
        "The initial referral orders {hours:g} hours; initial training is limited to {limit:g} "
        "hours (have the order corrected to at most {limit:g} hours)."
    )
    citation = _MBPM
    carc_hint = "16"
    needs = "referral"
    facts = frozenset({"referral"})
    screen = Screen(
        claim="referral is not None and referral.training is self.INITIAL and "
        "referral.hours_ordered > P.initial_order_max_hours"
    )
    INITIAL = Training.INITIAL
    fix = "Have the order corrected to at most the initial training limit."
    example: ClassVar[dict[str, object]] = {"referral": {"hours_ordered": 12}}
    use_instead: ClassVar[dict[str, object]] = {"referral": {"hours_ordered": 10}}

    def check(self, ctx: Context) -> Iterable[Violation]:
        referral = ctx.claim.referral
        if referral is None or referral.training is not _INITIAL:
            return ()
        limit = ctx.profile.initial_order_max_hours
        if referral.hours_ordered > limit:
            return [
                violation(("referral", "hours_ordered"), hours=referral.hours_ordered, limit=limit)
            ]
        return ()


class DiagnosisMissing(Rule):
    """A DSMT line that points to no diagnosis of the claim.

    ## What it checks
    That every G0108/G0109 line has at least one diagnosis pointer, and that each pointer (1-based)
    designates one of the claim's `diagnosis_codes`. One finding per line without pointers and
    per pointer past the end of the list.

    ## Why it matters
    An 837 service line must point to the diagnosis it treats; a line without a usable pointer is
    rejected before adjudication, and the diabetes diagnosis that DSMT requires (DS308) cannot be
    shown for it.

    ## References
    ASC X12 837 (HIPAA) service line diagnosis code pointers (837P SV107, 837I HI).
    """

    code = "DS307"
    name = "diagnosis-missing"
    default_severity = Severity.ERROR
    message = (
        "Line {line}: no diagnosis pointer; point the line to its diabetes diagnosis (pointers "
        "are 1-based positions in diagnosis_codes)."
    )
    variants: ClassVar[dict[str, str]] = {
        "past_end": (
            "Line {line}: diagnosis pointer {pointer} is past the end of the claim's {count} "
            "diagnosis code(s); point the line to its diabetes diagnosis (pointers are 1-based "
            "positions in diagnosis_codes)."
        )
    }
    citation = "HIPAA 837 diagnosis pointers"
    carc_hint = "16"
    needs = "line.diagnosis_pointers"
    screen = Screen(line="not line.diagnosis_pointers or max(line.diagnosis_pointers) > len(codes)")
    fix = "Point each DSMT line to the claim's diabetes diagnosis."
    example: ClassVar[dict[str, object]] = {"lines": [base_line(diagnosis_pointers=[3])]}
    use_instead: ClassVar[dict[str, object]] = {"lines": [base_line()]}

    def check(self, ctx: Context) -> Iterable[Violation]:
        count = len(ctx.claim.diagnosis_codes)
        found: list[Violation] = []
        for i, line in ctx.dsmt_lines:
            pointers = line.diagnosis_pointers
            if not pointers:
                found.append(
                    violation(("lines", i, "diagnosis_pointers"), line.line_id, line=line.line_id)
                )
                continue
            if max(pointers) <= count:
                continue
            for j, pointer in enumerate(pointers):
                if pointer > count:
                    found.append(
                        violation(
                            ("lines", i, "diagnosis_pointers", j),
                            line.line_id,
                            variant="past_end",
                            line=line.line_id,
                            pointer=pointer,
                            count=count,
                        )
                    )
        return found


def _pointed_codes(codes: Sequence[str], pointers: Sequence[int]) -> list[str]:
    """The diagnosis codes a line's valid pointers designate, in pointer order."""
    return [codes[p - 1] for p in pointers if 1 <= p <= len(codes)]


@functools.lru_cache(maxsize=1 << 12)
def _in_categories(code: str, prefixes: tuple[str, ...]) -> bool:
    """Whether a code, as written, starts with one of ``prefixes`` once undotted and upper-cased.

    Cached: claims repeat a few hundred diagnosis codes.
    """
    return _icd10.normalize(code).startswith(prefixes)


def _points_to_diabetes(
    codes: Sequence[str], pointers: Sequence[int], diabetes: tuple[str, ...]
) -> bool:
    """Whether a valid pointer designates a code in one of the ``diabetes`` categories."""
    count = len(codes)
    for p in pointers:  # noqa: SIM110 - a loop: any() over a generator costs 3x
        if 1 <= p <= count and _in_categories(codes[p - 1], diabetes):
            return True
    return False


class DiagnosisNotDiabetes(Rule):
    """A DSMT line whose diagnoses do not include diabetes.

    ## What it checks
    For each G0108/G0109 line, that at least one diagnosis it points to is diabetes: an ICD-10-CM
    code in a category of the profile's `diabetes_code_prefixes` (medicare: E08, E09, E10, E11,
    E13, and O24, diabetes in pregnancy, gestational included). Codes are compared without the dot,
    in upper case. When a pointed code is prediabetes or abnormal glucose (R73.0x, the profile's
    `prediabetes_code_prefixes`), the message says so. A line with no usable pointer is DS307's.

    ## Why it matters
    DSMT is covered for beneficiaries diagnosed with diabetes. Prediabetes does not qualify (the
    Medicare Diabetes Prevention Program is the benefit for it), and a line that shows no diabetes
    diagnosis is denied as not medically necessary.

    ## References
    42 CFR 410.140 (definition of diabetes); NGS (National Government Services) DSMT billing guide.
    """

    code = "DS308"
    name = "diagnosis-not-diabetes"
    default_severity = Severity.ERROR
    message = (
        "Line {line}: no diagnosis pointed to is diabetes ({diabetes}); it points to {codes}; "
        "point the line to the diabetes diagnosis the training is for."
    )
    variants: ClassVar[dict[str, str]] = {
        "prediabetes": (
            "Line {line}: no diagnosis pointed to is diabetes ({diabetes}); {code} is "
            "prediabetes, which does not qualify for DSMT."
        )
    }
    citation = "42 CFR 410.140; NGS DSMT billing guide"
    carc_hint = "11"
    needs = "diagnosis codes"
    screen = Screen(
        line="not self.points_to_diabetes(codes, line.diagnosis_pointers, P.diabetes_code_prefixes)"
    )
    points_to_diabetes = staticmethod(_points_to_diabetes)
    fix = "Point the line to the diabetes diagnosis the training is for."
    example: ClassVar[dict[str, object]] = {"diagnosis_codes": ["R73.03", "I10"]}
    use_instead: ClassVar[dict[str, object]] = {"diagnosis_codes": ["E11.9", "R73.03"]}

    def check(self, ctx: Context) -> Iterable[Violation]:
        diabetes = ctx.profile.diabetes_code_prefixes
        codes = ctx.claim.diagnosis_codes
        found: list[Violation] = []
        for i, line in ctx.dsmt_lines:
            if _points_to_diabetes(codes, line.diagnosis_pointers, diabetes):
                continue
            pointed = _pointed_codes(codes, line.diagnosis_pointers)
            if not pointed:
                continue  # DS307
            plain = [_icd10.normalize(code) for code in pointed]
            prediabetes = ctx.profile.prediabetes_code_prefixes
            pre = next((c for c in plain if c.startswith(prediabetes)), None)
            loc = ("lines", i, "diagnosis_pointers")
            ranges = _code_ranges(diabetes)
            if pre is not None:
                found.append(
                    violation(
                        loc,
                        line.line_id,
                        variant="prediabetes",
                        line=line.line_id,
                        diabetes=ranges,
                        code=_shown(pre),
                    )
                )
            else:
                shown = ", ".join(_shown(c) for c in plain)
                found.append(
                    violation(loc, line.line_id, line=line.line_id, diabetes=ranges, codes=shown)
                )
        return found


def _shown(code: str) -> str:
    """A diagnosis as a message may show it: the code, dotted; never free text."""
    return _icd10.dotted(code) if _icd10.is_code_shaped(code) else "a value that is not a code"


def _code_dates(claim: Claim, dsmt: Collection[str]) -> list[list[dt.date]]:
    """For each diagnosis of the claim, the dates of service it is judged on, in date order.

    The dates of the DSMT lines that point to it; a diagnosis no DSMT line points to is judged on
    every DSMT line's date (the code set in force decides: 45 CFR 162.1002).
    """
    dsmt_lines = [line for line in claim.lines if line.hcpcs in dsmt]
    every = sorted({line.service_date for line in dsmt_lines})
    pointed: list[set[dt.date]] = [set() for _ in claim.diagnosis_codes]
    count = len(pointed)
    for line in dsmt_lines:
        for p in line.diagnosis_pointers:
            if 1 <= p <= count:
                pointed[p - 1].add(line.service_date)
    return [sorted(days) if days else every for days in pointed]


def _codes_in_doubt(claim: Claim, sets: CodeSets, dsmt: Collection[str]) -> bool:
    """Whether a diagnosis may be invalid on a date it is judged on (DS309, DS311's screen)."""
    codes = claim.diagnosis_codes
    first = last = None
    for line in claim.lines:
        if line.hcpcs in dsmt:
            day = line.service_date
            if first is None or day < first:
                first = day
            if last is None or day > last:
                last = day
    if first is None or last is None:
        return False
    early, late = sets.release_for(first), sets.release_for(last)
    if early is not late or sets.past(last) or sets.additions_after(first):
        return True  # several releases, or dates past them, or additions not yet in force
    status = early.status
    for code in codes:  # noqa: SIM110 - a loop: any() over a generator costs 3x
        if status(code) != _BILLABLE:
            return True
    return False


def _doubts(ctx: Context) -> list[tuple[int, str, str | None, dt.date]]:
    """(index, code, status, date) of each diagnosis not billable on the first date it is judged
    on that fails; status None: the date is past every loaded release and the code unknown."""
    sets = ctx.code_sets
    out: list[tuple[int, str, str | None, dt.date]] = []
    for k, (code, days) in enumerate(
        zip(ctx.claim.diagnosis_codes, _code_dates(ctx.claim, ctx.profile.dsmt_codes), strict=True)
    ):
        for day in days:
            status = sets.status(code, day)
            if status == _BILLABLE:
                continue
            if (
                status == _UNKNOWN
                and sets.past(day)
                and _icd10.is_code_shaped(code)
                and sets.newest.status(code) == _UNKNOWN
            ):
                out.append((k, code, None, day))
                break
            out.append((k, code, status, day))
            break
    return out


class DiagnosisCodeInvalid(Rule):
    """A diagnosis that is not a valid, billable ICD-10-CM code on its date of service.

    ## What it checks
    Each of the claim's `diagnosis_codes` (on claims with a DSMT line): that it is a code of the
    ICD-10-CM release in force on the date of service and a billable one, i.e. coded to the
    highest specificity (a leaf of the classification). A code is judged on the dates of the DSMT
    lines that point to it (a code no DSMT line points to, on every DSMT line's date); each fiscal
    year's release is in force from October 1 to September 30. The dot is optional: `E11.9` and
    `E119` are both valid; `E11` (a category) and `E11.6` (a subcategory) are not billable;
    `E11.99` does not exist; `E11.A` (type 2 diabetes in remission) exists from 2025-10-01 and
    `E10.A0`-`E10.A2` (presymptomatic type 1) from 2024-10-01. One finding per code, on the first
    date it fails. A date past every loaded release with a code the newest release does not know
    is DS311's (it may be a newer code), not this rule's.

    ## Why it matters
    Claims with a category code, or a code that does not exist on the date of service, are
    rejected as unprocessable before any coverage decision: the diagnosis must be reported at its
    most specific level, in the code set valid when the service was furnished (HIPAA).

    ## References
    ICD-10-CM official code set and guidelines (CMS/NCHS); 45 CFR 162.1000, 162.1002 (a code is
    valid if valid at the time the service is furnished). The releases shipped are simple-icd-10-cm's
    code lists (docs/formats.md); `--icd10cm-file` loads a CMS code file of another fiscal year.
    """

    code = "DS309"
    name = "diagnosis-code-invalid"
    default_severity = Severity.ERROR
    message = (
        "Diagnosis {position}: {code} is not an ICD-10-CM code on {date}; correct the diagnosis "
        "code (ICD-10-CM {version})."
    )
    variants: ClassVar[dict[str, str]] = {
        "not_billable": (
            "Diagnosis {position}: {code} is not billable (more specific codes exist under it); "
            "report the most specific one (ICD-10-CM {version})."
        ),
        "not_a_code": (
            "Diagnosis {position}: the value is not shaped like an ICD-10-CM code (e.g. E11.9) "
            "(ICD-10-CM {version})."
        ),
    }
    citation = "ICD-10-CM official code set (billable codes); 45 CFR 162.1000, 162.1002"
    carc_hint = "16"
    needs = "diagnosis codes"
    screen = Screen(claim="self.in_doubt(claim, ICD, P.dsmt_codes)")
    in_doubt = staticmethod(_codes_in_doubt)
    fix = "Report each diagnosis at its most specific (billable) ICD-10-CM code."
    example: ClassVar[dict[str, object]] = {"diagnosis_codes": ["E11", "I10"]}
    use_instead: ClassVar[dict[str, object]] = {"diagnosis_codes": ["E11.9", "I10"]}

    def check(self, ctx: Context) -> Iterable[Violation]:
        found: list[Violation] = []
        for k, code, status, day in _doubts(ctx):
            if status is None:
                continue  # DS311
            loc = ("diagnosis_codes", k)
            version = ctx.code_sets.release_for(day).name
            if not _icd10.is_code_shaped(code):
                found.append(violation(loc, variant="not_a_code", position=k + 1, version=version))
            elif status == _HEADER:
                found.append(
                    violation(
                        loc,
                        variant="not_billable",
                        position=k + 1,
                        code=_icd10.dotted(code),
                        version=version,
                    )
                )
            else:
                found.append(
                    violation(
                        loc,
                        position=k + 1,
                        code=_icd10.dotted(code),
                        date=day.isoformat(),
                        version=version,
                    )
                )
        return found


class CodeSetNotLoaded(Rule):
    """A diagnosis unknown to the newest ICD-10-CM release loaded, on a later date of service.

    ## What it checks
    Each of the claim's `diagnosis_codes` that is shaped like an ICD-10-CM code: when a date of
    service it is judged on (as for DS309) is after the last day of every loaded release, and the
    newest release does not know the code, this rule reports it instead of DS309: the code may be
    one of a newer fiscal year's additions (each October 1, sometimes April 1). A code the newest
    release knows as a header (`E11`) is still DS309's.

    ## Why it matters
    CMS adds codes every fiscal year. Until the new year's code file is loaded, a correct new code
    cannot be told from a wrong one; rejecting it would reject correct coding, passing it silently
    would hide a wrong one. The finding is informational: load the fiscal year's CMS code file
    (`--icd10cm-file`, or the profile's `icd10cm_files`) and the claim is judged in full.

    ## References
    45 CFR 162.1000, 162.1002 (the code set valid when the service is furnished); CMS ICD-10-CM
    files by fiscal year.
    """

    code = "DS311"
    name = "code-set-not-loaded"
    default_severity = Severity.INFO
    message = (
        "Diagnosis {position}: {code} is not in ICD-10-CM {version}, the newest release loaded, "
        "and the date of service {date} is after it ends ({until}); load the CMS code file of "
        "that fiscal year (--icd10cm-file) to check the code."
    )
    citation = "45 CFR 162.1000, 162.1002 (code sets by date of service)"
    carc_hint = None
    needs = "date of service, code sets"
    screen = Screen(claim="self.in_doubt(claim, ICD, P.dsmt_codes)")
    in_doubt = staticmethod(_codes_in_doubt)
    fix = "Load the ICD-10-CM code file of the date of service's fiscal year, then check again."
    example: ClassVar[dict[str, object]] = {
        "diagnosis_codes": ["E11.9", "E11.Z9"],
        "referral": {"date": "2026-10-05"},
        "billing_provider": {"accreditation": {"expires": None}},
        "lines": [base_line(service_date="2026-10-12")],
        "sessions": [base_session(date="2026-10-12")],
    }
    use_instead: ClassVar[dict[str, object]] = {
        "diagnosis_codes": ["E11.9", "I10"],
        "referral": {"date": "2026-10-05"},
        "billing_provider": {"accreditation": {"expires": None}},
        "lines": [base_line(service_date="2026-10-12")],
        "sessions": [base_session(date="2026-10-12")],
    }

    def check(self, ctx: Context) -> Iterable[Violation]:
        newest = ctx.code_sets.newest
        return [
            violation(
                ("diagnosis_codes", k),
                position=k + 1,
                code=_icd10.dotted(code),
                version=newest.name,
                date=day.isoformat(),
                until=newest.until.isoformat(),
            )
            for k, code, status, day in _doubts(ctx)
            if status is None
        ]


class ReferralPhaseMismatch(Rule):
    """A referral for the wrong phase: initial training ordered in the follow-up phase, or the reverse.

    ## What it checks
    For each G0108/G0109 line, whether the referral's `training` (initial or follow-up) matches the
    beneficiary's phase on the line's date of service, derived from the history (never trusted
    from the input): the initial period starts on the first DSMT service on record and lasts the
    profile's `initial_period_months` (12); later services are follow-up. An initial order used
    after the initial period has ended, or a follow-up order used while it runs, is reported.
    With no DSMT on record before the claim, a follow-up order is accepted as follow-up (a
    missing record of initial training is no reason to deny follow-up) and starts no initial
    period; nor does any later service: once any DSMT (initial or follow-up) is on record, an
    initial order is a mismatch (initial training is covered only for a beneficiary who has had
    none, MBPM §300.3.A(i)).

    ## Why it matters
    Initial and follow-up training are different benefits with different limits, each needing its
    own order. A claim billed under an order for the other phase does not have a valid order for
    the service furnished and is returned or denied.

    ## References
    Medicare Benefit Policy Manual (Pub. 100-02), chapter 15, §300 (the order states initial or
    follow-up training) and §300.3 (the initial 12-month period and follow-up years; §300.1 on
    follow-up without a record of initial training).
    """

    code = "DS310"
    name = "referral-phase-mismatch"
    default_severity = Severity.ERROR
    message = (
        "Line {line}: the referral orders initial training, but on {date} the beneficiary is in "
        "follow-up (the initial period {start} to {end} has ended); bill follow-up training "
        "under a follow-up order."
    )
    variants: ClassVar[dict[str, str]] = {
        "after_follow_up": (
            "Line {line}: the referral orders initial training, but on {date} the beneficiary has "
            "already received DSMT (follow-up training on record since {first}); initial "
            "training is covered only for a beneficiary who has had none: bill it under a "
            "follow-up order."
        ),
        "follow_up_in_initial": (
            "Line {line}: the referral orders follow-up training, but on {date} the beneficiary "
            "is in the initial period {start} to {end}; bill it under the initial training order "
            "(follow-up training comes after {end})."
        ),
    }
    citation = f"{MBPM} §300, §300.3.A(i)"
    carc_hint = "16"
    needs = "referral.training, history"
    facts = frozenset({"history", "referral"})
    fix = "Bill the training under an order for the beneficiary's phase (initial or follow-up)."
    example: ClassVar[dict[str, Any]] = {
        "history": history_entries(
            ("2024-03-04", "G0109", 4, "R-12"), ("2024-03-11", "G0109", 4, "R-12")
        ),
    }
    use_instead: ClassVar[dict[str, Any]] = {
        "referral": FOLLOW_UP_ORDER,
        "history": history_entries(
            ("2024-03-04", "G0109", 4, "R-12"), ("2024-03-11", "G0109", 4, "R-12")
        ),
    }
    uses_ledger = True

    def check(self, ctx: LedgerContext) -> Iterator[Violation]:
        referral = ctx.referral
        if referral is None:
            return
        ledger = ctx.ledger
        for i, line in ctx.dsmt_lines:
            phase = ledger.phase_of_line(i)
            if phase is None or phase.training is referral.training:
                continue
            period = ledger.initial_period
            first = ledger.first_service
            if referral.training is _INITIAL and period is None and first is not None:
                yield violation(
                    ("referral", "training"),
                    line.line_id,
                    variant="after_follow_up",
                    line=line.line_id,
                    date=line.service_date.isoformat(),
                    first=first.isoformat(),
                )
                continue
            yield violation(
                ("referral", "training"),
                line.line_id,
                variant=None if referral.training is _INITIAL else "follow_up_in_initial",
                line=line.line_id,
                date=line.service_date.isoformat(),
                **period_dates(period),
            )


RULES: tuple[type[Rule], ...] = (
    ReferralMissing,
    ReferralUnsigned,
    ReferrerNotQualified,
    ReferralAfterService,
    ReferralHoursExceeded,
    InitialOrderOverLimit,
    DiagnosisMissing,
    DiagnosisNotDiabetes,
    DiagnosisCodeInvalid,
    ReferralPhaseMismatch,
    CodeSetNotLoaded,
)
