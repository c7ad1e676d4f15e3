"""Records: what an adapter read from one input record, below the engine that judges it.

An adapter translates a format; it never judges and never makes a finding. For each input record
it yields one :class:`Record`: a claim, or the :data:`Problem` values that stop the record being
one (the engine reports each as DS001), and the :class:`StructureProblem` values of the input's
structure where the record sits (an X12 837's envelope or loops: the engine reports each as DS003).
Both name positions and what is wrong, never an input value (an 837 or a FHIR Claim is full of PHI).

:func:`problems_of` is the one translation of a pydantic ``ValidationError`` into problems, shared
by every adapter and by the loaders of reference data and profiles; :func:`load_json` is the one
way an adapter reads JSON text.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dsmt_rules.findings import Loc

if TYPE_CHECKING:
    from pydantic import ValidationError

    from dsmt_rules.models import Claim

__all__ = [
    "FACTS",
    "NOT_ON_CLAIMS",
    "NO_CLAIM",
    "Failure",
    "Problem",
    "Record",
    "StructureProblem",
    "errors_of",
    "failure_of",
    "load_json",
    "problems_of",
]

Problem = tuple[Loc, str]
"""Where a document is unreadable (a model location, ``()`` for the whole record) and what is
wrong, without the input value."""


@dataclass(frozen=True, slots=True)
class StructureProblem:
    """A fault in the structure of the input where a record sits (an X12 envelope or loop)."""

    segment: str
    """Where, as people read it: ``segment 12 (SV1)``, or ``GS (segment 3 of the file)``."""
    problem: str
    """What is wrong: segment and element ids, counts and control numbers, never values."""
    source: str | None = None
    """The input position (file, interchange, transaction set, claim, loop and segment)."""
    line_id: str | None = None
    """The claim line the fault sits in, when it sits in one."""


@dataclass(frozen=True, slots=True)
class Failure:
    """Where dsmt-rules' own code failed on a record (the engine reports it as DS005)."""

    stage: str
    """What was being done, as people read it: ``reading the X12 input``, ``rule DS305``."""
    error: str
    """The exception's class name (never its message, which may hold input values)."""
    stopped: bool = False
    """Whether reading the input stopped there (the rest of that input was not read)."""


_log = logging.getLogger("dsmt_rules")


def failure_of(stage: str, exc: BaseException, *, stopped: bool = False) -> Failure:
    """The :class:`Failure` of ``exc`` raised in ``stage``; its traceback goes to the
    ``dsmt_rules`` logger at DEBUG level (``--debug``) as frames only: file, line, function and
    source line, never the exception's message or any local value (PHI)."""
    if _log.isEnabledFor(logging.DEBUG):
        frames = "".join(traceback.format_list(traceback.extract_tb(exc.__traceback__)))
        _log.debug(
            "internal error in %s: %s (message withheld)\n%s",
            stage,
            type(exc).__name__,
            frames.rstrip(),
        )
    return Failure(stage, type(exc).__name__, stopped)


@dataclass(frozen=True, slots=True)
class Record:
    """One input record as an adapter read it: a claim, or the problems that stopped it being one."""

    position: int
    """1-based: the line number in a JSON Lines file, the index in a JSON array, the CLM count in X12."""
    claim: Claim | None
    problems: tuple[Problem, ...] = ()
    claim_id: str | None = None
    """The claim id when it could be read even though the record is invalid."""
    source: str | None = None
    structure: tuple[StructureProblem, ...] = ()
    """Faults of the input's structure where the record sits (DS003), each with its own
    ``source``. With a claim they join its findings in code order, under the rule selection and
    severity overrides; a record without a claim always reports them."""
    sources: Mapping[Loc, str] = dataclasses.field(default_factory=dict)
    """Input positions of parts of the claim, e.g. ``("lines", 0)`` -> an X12 SV1 segment or a
    FHIRPath. A finding whose ``loc`` starts with a key takes the longest such key's source."""
    hints: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Facts the adapter read that the claim document has no field for, used to join reference data
    (:mod:`dsmt_rules.reference`): ``referral_id`` (X12 REF*9F), ``referring_npi`` (X12 NM1*DN)."""
    unknown: frozenset[str] = frozenset()
    """Facts the input format cannot carry, of :data:`FACTS` (an 837 or a FHIR Claim has no session
    roster, accreditation, referral content or earlier services): unknown, not missing. The rules
    that need them do not run for the claim (DS004 names them) until reference data supplies them."""
    format: str | None = None
    """The input format as people name it (``X12 837``, ``FHIR``), for DS004's message."""
    failure: Failure | None = None
    """Set when reading stopped on a defect of dsmt-rules at this record (DS005): the rest of
    that input was not read."""


FACTS = frozenset({"sessions", "accreditation", "referral", "history"})
"""The facts a rule may need that some input formats cannot carry (``Rule.facts``)."""

NOT_ON_CLAIMS = FACTS
"""What an 837 or a FHIR Claim cannot carry: every one of :data:`FACTS`."""


def errors_of(exc: ValidationError) -> list[tuple[str, Loc, str]]:
    """Each error of a pydantic ``ValidationError``: its type, location and message.

    The input value is never included (``include_input=False``): pydantic's messages name what was
    expected, not what was found.
    """
    errors = exc.errors(include_input=False, include_url=False, include_context=False)
    return [(str(err["type"]), tuple(err["loc"]), str(err["msg"])) for err in errors]


def problems_of(exc: ValidationError) -> tuple[Problem, ...]:
    """The problems of a pydantic ``ValidationError``: each error's location and message.

    A document that is not valid JSON is one problem at ``()``; a value that is not an object, at
    the top, is "not a JSON object". No input value is included (:func:`errors_of`).
    """
    out: list[Problem] = []
    for kind, loc, msg in errors_of(exc):
        if kind == "json_invalid":
            loc = ()
            msg = "not valid JSON: " + msg.removeprefix("Invalid JSON: ")
        elif kind == "model_type" and not loc:
            msg = "not a JSON object (a claim document is one object)"
        out.append((loc, msg))
    return tuple(out)


def load_json(data: bytes | str) -> object:
    """``json.loads`` for input: an integer longer than Python reads (``sys.int_info``, 4,300 digits
    by default) stays as its text, so the one field it is in is invalid (DS001), not the input."""
    return json.loads(data, parse_int=_int)


def _int(text: str) -> int | str:
    limit = sys.get_int_max_str_digits()
    return int(text) if not limit or len(text.lstrip("-")) <= limit else text


NO_CLAIM = "the input holds no claim (no CLM segment)"
"""The structure problem of an X12 input with no CLM segment (the CLI also says so on stderr)."""
