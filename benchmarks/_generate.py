"""Deterministic, realistic DSMT claim documents for the benchmark.

``generate_claims(n, seed=...)`` yields ``n`` claim documents (plain dicts, model-valid) from one
``random.Random(seed)``: the same ``n`` and ``seed`` give the same documents on every machine. Most
claims are clean; about one in four carries one of the mistakes billing teams actually make (group
too small or too large, units over the time, no or unsigned referral, prediabetes or non-billable
diagnosis, lapsed accreditation, bad NPI, inpatient place of service, telehealth coded in person,
DSMT and MNT on the same day, RHC billing, a wrong bill type...). A few claims bill no DSMT at all.

Beneficiaries have one to several claims over 2025-2026, so a batch has realistic history; a fifth
of the claims also carry earlier services in their ``history`` array.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["generate_claims", "npi", "write_jsonl"]

Doc = dict[str, Any]

_MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"  # the letters a Medicare Beneficiary Identifier may use
_START = dt.date(2025, 1, 6)
_DAYS = 540

DIABETES = ["E11.9", "E11.65", "E11.22", "E11.40", "E10.9", "E10.65", "E13.9", "O24.419", "E08.9"]
OTHER = ["I10", "E78.5", "Z79.4", "E66.9", "N18.30"]
PREDIABETES = ["R73.03", "R73.09"]
NOT_BILLABLE = ["E11", "E11.6", "E10.6", "N18.3"]

_CREDENTIALS = [["RN", "CDCES"], ["RD"], ["RDN", "CDCES"], ["PHARMACIST"], ["RN"], ["RDN"]]


def npi(rng: random.Random) -> str:
    """A random NPI with a valid check digit (Luhn over the prefix 80840 and nine digits)."""
    base = str(rng.randint(1, 2)) + "".join(str(rng.randint(0, 9)) for _ in range(8))
    total = 0
    for i, ch in enumerate(reversed("80840" + base)):
        d = int(ch)
        if i % 2 == 0:  # the check digit will sit to the right, so the last payload digit doubles
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return base + str((10 - total % 10) % 10)


def _mbi(rng: random.Random) -> str:
    def letter() -> str:
        return rng.choice(_MBI_LETTERS)

    def digit(low: int = 0) -> str:
        return str(rng.randint(low, 9))

    def either() -> str:
        return rng.choice((letter, digit))()

    # C A AN N A AN N A A N N (the MBI format)
    parts = [digit(1), letter(), either(), digit(), letter(), either(), digit()]
    parts += [letter(), letter(), digit(), digit()]
    return "".join(parts)


def _programs(rng: random.Random, count: int) -> list[Doc]:
    """Billing providers: mostly accredited hospital outpatient programs and practices."""
    entities = ["hospital_outpatient"] * 5 + ["physician"] * 3 + ["fqhc", "npp", "pharmacy"]
    programs = []
    for _ in range(count):
        start = _START - dt.timedelta(days=rng.randint(30, 900))
        programs.append(
            {
                "npi": npi(rng),
                "entity": rng.choice(entities),
                "accreditation": {
                    "organization": rng.choice(["ADA", "ADCES", "ADCES"]),
                    "effective": start.isoformat(),
                    "expires": (start + dt.timedelta(days=5 * 365)).isoformat(),
                },
                "_instructors": [
                    {"npi": npi(rng), "credentials": rng.choice(_CREDENTIALS)}
                    for _ in range(rng.randint(2, 4))
                ],
                "_referrers": [npi(rng) for _ in range(rng.randint(3, 8))],
            }
        )
    return programs


class _Builder:
    """Builds one clean claim, then (sometimes) applies one typical mistake to it."""

    def __init__(self, seed: int, n: int, per_beneficiary: float = 2.5) -> None:
        self.rng = random.Random(seed)
        self.programs = _programs(self.rng, max(5, min(200, n // 500)))
        count = n * 2 // 5 if per_beneficiary == 2.5 else int(n / per_beneficiary)
        self.beneficiaries = [_mbi(self.rng) for _ in range(max(1, count))]
        self.mistakes: list[tuple[int, Callable[[Doc], None]]] = [
            (3, self._group_too_small),
            (1, self._group_too_large),
            (3, self._units_over_time),
            (1, self._session_too_short),
            (2, self._no_session_link),
            (1, self._session_date_mismatch),
            (1, self._individual_code_for_group),
            (2, self._no_referral),
            (2, self._unsigned_referral),
            (1, self._referrer_not_qualified),
            (1, self._referral_after_service),
            (1, self._initial_order_over_limit),
            (2, self._prediabetes),
            (2, self._not_billable_diagnosis),
            (1, self._no_pointer),
            (1, self._accreditation_lapsed),
            (1, self._no_accreditation),
            (2, self._bad_npi),
            (1, self._unqualified_instructor),
            (1, self._inpatient_pos),
            (2, self._telehealth_miscoded),
            (1, self._mnt_same_day),
            (1, self._rhc),
            (1, self._bill_type),
            (1, self._duplicate_line),
        ]
        self.mistake_weights = [w for w, _ in self.mistakes]

    # --- clean claims ----------------------------------------------------------------------------

    def claim(self, index: int) -> Doc:
        rng = self.rng
        program = rng.choice(self.programs)
        institutional = program["entity"] in ("hospital_outpatient",) and rng.random() < 0.35
        first = _START + dt.timedelta(days=rng.randrange(_DAYS))
        # FQHCs bill individual sessions (a group session is not an FQHC visit).
        individual = rng.random() < (0.9 if program["entity"] == "fqhc" else 0.15)
        telehealth = rng.random() < 0.12
        n_lines = rng.choices((1, 2, 3), weights=(70, 22, 8))[0]
        diagnoses = [rng.choice(DIABETES)]
        diagnoses += rng.sample(OTHER, rng.choices((0, 1, 2), weights=(40, 40, 20))[0])

        lines: list[Doc] = []
        sessions: list[Doc] = []
        date = first
        for k in range(n_lines):
            minutes = rng.choice((60, 60, 60, 90, 120, 30, 45)) if not individual else 60
            session_id = f"S-{date:%Y%m%d}-{rng.choice(('AM', 'PM'))}-{index % 97}"
            sessions.append(
                {
                    "session_id": session_id,
                    "date": date.isoformat(),
                    "minutes": minutes,
                    "format": "individual" if individual else "group",
                    "attendees": 1 if individual else rng.randint(3, 16),
                    "delivery": "telehealth" if telehealth else "in_person",
                    "instructors": rng.sample(program["_instructors"], rng.randint(1, 2)),
                }
            )
            line: Doc = {
                "line_id": str(k + 1),
                "hcpcs": "G0108" if individual else "G0109",
                "modifiers": ["95"] if telehealth else [],
                "units": minutes // 30,
                "service_date": date.isoformat(),
                "diagnosis_pointers": list(range(1, min(len(diagnoses), 2) + 1)),
                "session_ids": [session_id],
            }
            if institutional:
                line["revenue_code"] = "0942"
            else:
                line["place_of_service"] = "10" if telehealth else rng.choice(("11", "11", "22"))
                if rng.random() < 0.3:
                    line["rendering_npi"] = program["_instructors"][0]["npi"]
            lines.append(line)
            date += dt.timedelta(days=rng.choice((7, 7, 14, 21)))

        follow_up = rng.random() < 0.2
        referral: Doc = {
            "referral_id": f"R-{rng.randint(10_000, 99_999)}",
            "date": (first - dt.timedelta(days=rng.randint(3, 60))).isoformat(),
            "practitioner_npi": rng.choice(program["_referrers"]),
            "practitioner_role": rng.choice(
                ("physician", "physician", "physician", "nurse_practitioner", "physician_assistant")
            ),
            "signed": True,
            "training": "follow_up" if follow_up else "initial",
            "hours_ordered": 2 if follow_up else rng.choice((10, 10, 10, 8, 6.5)),
        }
        if individual:
            referral["individual_reason"] = rng.choice(
                ("special_needs", "no_group_within_2_months", "additional_insulin_training")
            )
            if referral["individual_reason"] == "special_needs":
                referral["special_needs"] = [rng.choice(("vision", "hearing", "language"))]

        doc: Doc = {
            "claim_id": f"C{index:08d}",
            "form": "institutional" if institutional else "professional",
            "beneficiary_id": rng.choice(self.beneficiaries),
            "billing_provider": {k: v for k, v in program.items() if not k.startswith("_")},
            "diagnosis_codes": diagnoses,
            "referral": referral,
            "lines": lines,
            "sessions": sessions,
        }
        if institutional:
            doc["type_of_bill"] = rng.choice(("131", "131", "851", "121"))
        if rng.random() < 0.2:
            doc["history"] = [
                {
                    "service_date": (first - dt.timedelta(days=rng.randint(20, 300))).isoformat(),
                    "hcpcs": rng.choice(("G0109", "G0109", "G0108", "97802")),
                    "units": rng.choice((1, 2, 2)),
                    "referral_id": referral["referral_id"],
                }
                for _ in range(rng.randint(1, 3))
            ]
            doc["history"].sort(key=lambda h: h["service_date"])
        return doc

    def no_dsmt(self, index: int) -> Doc:
        doc = self.claim(index)
        doc["lines"] = [{**doc["lines"][0], "hcpcs": "99213", "units": 1, "session_ids": []}]
        doc["sessions"] = []
        return doc

    # --- typical mistakes ------------------------------------------------------------------------

    def _group_too_small(self, doc: Doc) -> None:
        doc["lines"][0]["hcpcs"] = "G0109"
        doc["sessions"][0].update(format="group", attendees=1)

    def _group_too_large(self, doc: Doc) -> None:
        doc["lines"][0]["hcpcs"] = "G0109"
        doc["sessions"][0].update(format="group", attendees=self.rng.randint(21, 30))

    def _units_over_time(self, doc: Doc) -> None:
        doc["lines"][0]["units"] += self.rng.randint(1, 2)

    def _session_too_short(self, doc: Doc) -> None:
        doc["sessions"][0]["minutes"] = self.rng.choice((15, 20, 25))
        doc["lines"][0]["units"] = 1

    def _no_session_link(self, doc: Doc) -> None:
        doc["lines"][0]["session_ids"] = []

    def _session_date_mismatch(self, doc: Doc) -> None:
        day = dt.date.fromisoformat(doc["sessions"][0]["date"]) + dt.timedelta(days=1)
        doc["sessions"][0]["date"] = day.isoformat()

    def _individual_code_for_group(self, doc: Doc) -> None:
        doc["lines"][0]["hcpcs"] = "G0108"
        doc["sessions"][0].update(format="group", attendees=self.rng.randint(4, 12))

    def _no_referral(self, doc: Doc) -> None:
        del doc["referral"]

    def _unsigned_referral(self, doc: Doc) -> None:
        doc["referral"]["signed"] = False

    def _referrer_not_qualified(self, doc: Doc) -> None:
        doc["referral"]["practitioner_role"] = "other"

    def _referral_after_service(self, doc: Doc) -> None:
        day = dt.date.fromisoformat(doc["lines"][0]["service_date"]) + dt.timedelta(days=3)
        doc["referral"]["date"] = day.isoformat()

    def _initial_order_over_limit(self, doc: Doc) -> None:
        doc["referral"].update(training="initial", hours_ordered=self.rng.choice((12, 15, 20)))

    def _prediabetes(self, doc: Doc) -> None:
        doc["diagnosis_codes"] = [self.rng.choice(PREDIABETES), *doc["diagnosis_codes"][1:]]
        for line in doc["lines"]:
            line["diagnosis_pointers"] = [1]

    def _not_billable_diagnosis(self, doc: Doc) -> None:
        doc["diagnosis_codes"][0] = self.rng.choice(NOT_BILLABLE)

    def _no_pointer(self, doc: Doc) -> None:
        doc["lines"][0]["diagnosis_pointers"] = []

    def _accreditation_lapsed(self, doc: Doc) -> None:
        accreditation = doc["billing_provider"]["accreditation"]
        doc["billing_provider"]["accreditation"] = {**accreditation, "expires": "2024-12-31"}

    def _no_accreditation(self, doc: Doc) -> None:
        doc["billing_provider"]["accreditation"] = None

    def _bad_npi(self, doc: Doc) -> None:
        good = doc["billing_provider"]["npi"]
        doc["billing_provider"] = {
            **doc["billing_provider"],
            "npi": good[:9] + str(int(good[9]) ^ 1),
        }

    def _unqualified_instructor(self, doc: Doc) -> None:
        doc["sessions"][0]["instructors"] = [{"npi": npi(self.rng), "credentials": ["MA"]}]

    def _inpatient_pos(self, doc: Doc) -> None:
        if doc["form"] == "professional":
            doc["lines"][0]["place_of_service"] = "21"
        else:
            doc["type_of_bill"] = "111"

    def _telehealth_miscoded(self, doc: Doc) -> None:
        for session in doc["sessions"]:
            session["delivery"] = "telehealth"
        for line in doc["lines"]:
            line["modifiers"] = []
            if "place_of_service" in line:
                line["place_of_service"] = "11"

    def _mnt_same_day(self, doc: Doc) -> None:
        first = doc["lines"][0]
        mnt = {
            "line_id": str(len(doc["lines"]) + 1),
            "hcpcs": "97802",
            "units": 2,
            "service_date": first["service_date"],
            "diagnosis_pointers": [1],
        }
        if "place_of_service" in first:
            mnt["place_of_service"] = first["place_of_service"]
        else:
            mnt["revenue_code"] = "0942"
        doc["lines"].append(mnt)

    def _rhc(self, doc: Doc) -> None:
        doc["billing_provider"] = {**doc["billing_provider"], "entity": "rhc"}

    def _bill_type(self, doc: Doc) -> None:
        doc["form"] = "institutional"
        doc["type_of_bill"] = self.rng.choice(("111", "141", "831"))
        for line in doc["lines"]:
            line.pop("place_of_service", None)
            line["revenue_code"] = "0942"

    def _duplicate_line(self, doc: Doc) -> None:
        doc["lines"].append({**doc["lines"][0], "line_id": str(len(doc["lines"]) + 1)})

    def document(self, index: int) -> Doc:
        roll = self.rng.random()
        if roll < 0.02:
            return self.no_dsmt(index)
        doc = self.claim(index)
        if roll < 0.27:
            mistake = self.rng.choices(self.mistakes, weights=self.mistake_weights)[0][1]
            mistake(doc)
        return doc


def generate_claims(n: int, *, seed: int = 2026, per_beneficiary: float = 2.5) -> Iterator[Doc]:
    """``n`` claim documents, deterministically from ``seed``; ``per_beneficiary`` claims each on
    average (beneficiaries are drawn at random, so some have many more)."""
    builder = _Builder(seed, n, per_beneficiary)
    for index in range(1, n + 1):
        yield builder.document(index)


def write_jsonl(path: Path, n: int, *, seed: int = 2026, per_beneficiary: float = 2.5) -> int:
    """Write ``n`` documents as JSON Lines (compact, UTF-8); return the file size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8", newline="\n") as out:
        for doc in generate_claims(n, seed=seed, per_beneficiary=per_beneficiary):
            out.write(json.dumps(doc, separators=(",", ":")))
            out.write("\n")
    tmp.replace(path)
    return path.stat().st_size
