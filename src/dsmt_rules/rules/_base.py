"""What every rule is made of: metadata, docs, examples and a pure ``check`` over a :class:`Context`.

A rule is a small class. Its class attributes are its metadata (code, name, default severity, literal
message templates, citation, CARC hint, examples); its docstring is its documentation, with the
sections ``What it checks``, ``Why it matters`` and ``References``. ``Example`` and ``Use instead``
are claim documents built from :data:`dsmt_rules.rules._examples.BASE_CLAIM` and a JSON merge patch;
the docs generator prints them in full and a test executes both.

``check`` returns (or yields) :class:`Violation` values; the engine turns them into
:class:`~dsmt_rules.Finding` values (severity from the profile and the selection, message from the
literal template). Every message a rule can produce is a literal template on its class: ``message``,
or one of the named ``variants`` that ``check`` chooses; a violation carries only the scalar values
the template's fields take (they become the finding's ``ctx``). Values are codes, counts, dates of
service, ids and profile numbers: never PHI (no rule reads ``beneficiary_id``; a test asserts it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from dsmt_rules.findings import Fix, Loc, Scalar, Severity

if TYPE_CHECKING:
    from dsmt_rules._icd10 import CodeSets
    from dsmt_rules.history import ClaimFacts, Ledger
    from dsmt_rules.history._ledger import LineFacts, ReferralFacts
    from dsmt_rules.models import Claim, ServiceLine, Session
    from dsmt_rules.profiles import Profile

__all__ = ["Context", "LedgerContext", "Rule", "Screen", "Violation", "violation"]


class Violation(NamedTuple):
    """What a rule found: where, on which line, which template, and the values its fields take."""

    loc: Loc
    line_id: str | None
    values: Mapping[str, Scalar]
    variant: str | None = None
    """The name of one of the rule's ``variants``; None for its ``message``."""
    fix: Fix | None = None
    """The mechanical repair, for a rule that has one (:attr:`Rule.autofix`; docs/fixes.md)."""


class Context:
    """One claim under check, with what rules share: the profile, the DSMT lines, sessions by id.

    Built by the engine for a claim that its screens flag (:class:`Screen`). The history rules
    get a :class:`LedgerContext` instead.

    The facts most rules need are computed once here: the DSMT lines (``dsmt_lines``) and, for each
    of them, the sessions it links (``dsmt_links``, also answered by :meth:`linked_sessions`).
    """

    __slots__ = (
        "_links",
        "_sessions",
        "claim",
        "code_sets",
        "dated_index",
        "dsmt_lines",
        "dsmt_links",
        "mue",
        "profile",
        "session_index",
    )

    def __init__(
        self,
        claim: Claim,
        profile: Profile,
        *,
        mue: Mapping[str, int] | None = None,
        code_sets: CodeSets | None = None,
    ) -> None:
        self.claim = claim
        self.profile = profile
        self.mue = mue
        """Medically Unlikely Edit values by HCPCS code, when an MUE table is configured (DS109)."""
        if code_sets is None:
            from dsmt_rules._icd10 import shipped

            code_sets = shipped()
        self.code_sets: CodeSets = code_sets
        """The ICD-10-CM releases by date (DS309, DS311)."""
        sessions = claim.sessions
        index: dict[str, int] = {}
        dated: dict[tuple[str, dt.date], int] = {}
        for i, session in enumerate(sessions):
            index[session.session_id] = i
            dated[(session.session_id, session.date)] = i
        self.session_index: Mapping[str, int] = index
        """Index in ``claim.sessions`` by session id (the last session of an id wins)."""
        self.dated_index: Mapping[tuple[str, dt.date], int] = dated
        """Index in ``claim.sessions`` by session id and date: a session is its id *and* its date
        (a weekly class may reuse one id); a line links the session of its id on its date of
        service, else the last of that id (DS108 then reports the dates)."""
        self._sessions: Mapping[str, Session] | None = None
        dsmt = profile.dsmt_codes
        dsmt_lines: list[tuple[int, ServiceLine]] = []
        dsmt_links: list[tuple[int, ServiceLine, list[tuple[int, Session]]]] = []
        links: dict[int, list[tuple[int, Session]]] = {}
        for i, line in enumerate(claim.lines):
            if line.hcpcs in dsmt:
                linked = links[id(line)] = _linked(line, index, dated, sessions)
                dsmt_lines.append((i, line))
                dsmt_links.append((i, line, linked))
        self.dsmt_lines: Sequence[tuple[int, ServiceLine]] = dsmt_lines
        self.dsmt_links: Sequence[tuple[int, ServiceLine, list[tuple[int, Session]]]] = dsmt_links
        """``(index in claim.lines, line, linked sessions)`` for each DSMT line, in claim order;
        the linked sessions are those of :meth:`linked_sessions` (do not modify the lists)."""
        self._links = links

    @property
    def sessions(self) -> Mapping[str, Session]:
        """The claim's sessions by id (the last session of an id wins)."""
        if self._sessions is None:
            self._sessions = {s.session_id: s for s in self.claim.sessions}
        return self._sessions

    def linked_sessions(self, line: ServiceLine) -> list[tuple[int, Session]]:
        """The sessions a line links to that exist on the claim, each once, with their index in
        ``sessions`` (computed once per line: several rules ask). Do not modify the list."""
        found = self._links.get(id(line))
        if found is None:
            found = self._links[id(line)] = _linked(
                line, self.session_index, self.dated_index, self.claim.sessions
            )
        return found


def _linked(
    line: ServiceLine,
    index: Mapping[str, int],
    dated: Mapping[tuple[str, dt.date], int],
    sessions: Sequence[Session],
) -> list[tuple[int, Session]]:
    """The sessions a line's ``session_ids`` name that the claim has, each once, in link order:
    the session of each id on the line's date of service, else the last session of the id."""
    session_ids = line.session_ids
    day = line.service_date
    if len(session_ids) == 1:  # the usual line: one session
        sid = session_ids[0]
        i = dated.get((sid, day))
        if i is None:
            i = index.get(sid)
        return [] if i is None else [(i, sessions[i])]
    found: list[tuple[int, Session]] = []
    seen: set[int] = set()
    for sid in session_ids:
        i = dated.get((sid, day))
        if i is None:
            i = index.get(sid)
        if i is not None and i not in seen:
            seen.add(i)
            found.append((i, sessions[i]))
    return found


class LedgerContext:
    """One claim under check by the history rules: its facts and the beneficiary's ledger.

    The history rules read no claim, only what :func:`~dsmt_rules.history.facts_of` keeps of it
    (plain values: a batch holds these, not its claims, until a beneficiary's last claim is read).
    """

    __slots__ = ("_line_ids", "_lines", "facts", "ledger", "profile")

    def __init__(self, facts: ClaimFacts, ledger: Ledger, profile: Profile) -> None:
        self.facts = facts
        self.ledger = ledger
        self.profile = profile
        self._line_ids: dict[int, str] | None = None
        self._lines: dict[int, LineFacts] | None = None

    @property
    def dsmt_lines(self) -> Sequence[tuple[int, LineFacts]]:
        """``(index in claim.lines, line)`` of each DSMT line, in claim order."""
        return self.facts.dsmt_lines

    @property
    def referral(self) -> ReferralFacts | None:
        """What the claim's referral says (None: the claim has none)."""
        return self.facts.referral

    def line_id(self, index: int) -> str:
        """The ``line_id`` of the claim's DSMT line at ``index`` in ``claim.lines``."""
        if self._line_ids is None:
            self._line_ids = {i: line.line_id for i, line in self.facts.dsmt_lines}
        return self._line_ids[index]

    def line(self, index: int) -> LineFacts:
        """The claim's DSMT line at ``index`` in ``claim.lines``."""
        if self._lines is None:
            self._lines = dict(self.facts.dsmt_lines)
        return self._lines[index]


class Screen(NamedTuple):
    """A rule's quick test: Python expressions that are true whenever the rule could find something.

    The engine fuses the screens of a ruleset's rules into one generated function, one pass over
    the claim and one loop over its DSMT lines (:mod:`dsmt_rules.engine`); a claim whose screens
    are all false gets no finding from those rules and builds no :class:`Context`. A rule is run
    when any of its expressions is true. A screen may over-approximate, never miss: a property
    test checks every rule with its screen against the rule without it.

    Names: ``claim``, ``referral``, ``provider``, ``accreditation``, ``codes`` (the diagnosis
    codes), ``P`` (the profile; ``P.x`` is bound once per ruleset), ``MUE`` (the MUE table or None),
    ``ICD`` (the ICD-10-CM code sets),
    and the helpers of ``dsmt_rules.engine._screens``. In ``line``: ``line``, ``code``, ``units``,
    ``day``, ``pos``, ``ids`` (session ids), ``linked`` (the sessions on the claim the line links,
    in link order), ``minutes`` (their total). In ``session``: ``s``, each linked session, with the
    line's names. A claim-level expression is evaluated only for claims with a DSMT line.
    """

    claim: str | None = None
    line: str | None = None
    session: str | None = None


class Rule:
    """Base class of every rule. Subclasses set the metadata and implement :meth:`check`."""

    code: ClassVar[str]
    """``DS`` and three digits; the first digit is the family. Never reused or renumbered."""
    name: ClassVar[str]
    """kebab-case."""
    default_severity: ClassVar[Severity]
    message: ClassVar[str]
    """A literal ``str.format`` template; its fields are filled from :attr:`Violation.values`."""
    variants: ClassVar[Mapping[str, str]] = {}
    """Named alternatives to ``message``, for a rule that says different things in different
    cases (``check`` names one in :attr:`Violation.variant`); literal templates too."""
    citation: ClassVar[str]
    carc_hint: ClassVar[str | None]
    needs: ClassVar[str]
    """What input the rule reads (as in the catalog's "needs" column)."""
    fix: ClassVar[str | None] = None
    """How to repair the claim, for people (the docs' "Fix" row)."""
    autofix: ClassVar[str | None] = None
    """What ``dsmt-rules fix`` does for this rule and whether it is safe, when the rule's
    violations carry a :class:`~dsmt_rules.findings.Fix` (the docs' "Automatic fix" row)."""
    example: ClassVar[Mapping[str, Any] | str]
    """A JSON merge patch on the base claim (or a raw document) that raises exactly this code."""
    use_instead: ClassVar[Mapping[str, Any] | str]
    """A merge patch (or raw document) that fixes the example and raises nothing."""
    companions: ClassVar[frozenset[str]] = frozenset()
    """Codes that a claim breaking this rule may necessarily raise too (DS102: a session too short
    also leaves the line's units over its time, DS103). The rule's example, the docs and
    ``claims(violating=...)`` of :mod:`dsmt_rules.strategies` allow exactly these."""
    example_options: ClassVar[Mapping[str, object]] = {}
    example_faults: ClassVar[tuple[str, ...]] = ()
    """Rules made to fail when the example (not ``use_instead``) is checked (DS005 only)."""
    """Keyword options for :func:`dsmt_rules.engine.ruleset` that the examples need (DS109: ``mue``)."""
    runs_without_dsmt_lines: ClassVar[bool] = False
    """True only for rules that look at claims that have no DSMT line (DS002)."""
    uses_ledger: ClassVar[bool] = False
    """True for the history rules: they get a :class:`LedgerContext`, not a :class:`Context`."""
    screen: ClassVar[Screen | None] = None
    """The rule's quick test (None: the rule runs on every claim with a DSMT line)."""
    facts: ClassVar[frozenset[str]] = frozenset()
    """The facts of :data:`dsmt_rules.records.FACTS` the rule needs: when the input format cannot
    carry one of them (an 837 has no session roster) the rule does not run, and DS004 says so."""

    def check(self, ctx: Any) -> Iterable[Violation]:
        """One violation per place the claim breaks this rule, in claim order.

        A generator, or a collection (a rule on the hot path may return ``()`` when it finds
        nothing, or a list): the engine only iterates the result once.
        """
        raise NotImplementedError  # pragma: no cover

    @classmethod
    def templates(cls) -> dict[str, str]:
        """Every message template of the rule: ``default`` (``message``) and the named variants."""
        return {"default": cls.message, **cls.variants}

    @classmethod
    def template(cls, variant: str | None) -> str:
        """The template a violation names (``None``: ``message``)."""
        return cls.message if variant is None else cls.variants[variant]

    @classmethod
    def slug(cls) -> str:
        """``DS104-group-too-small``: the docs file stem."""
        return f"{cls.code}-{cls.name}"

    @classmethod
    def doc_url(cls) -> str:
        """Where the rule's generated documentation lives, relative to the project root."""
        return f"docs/rules/{cls.slug()}.md"


def violation(
    loc: Loc, line_id: str | None = None, *, variant: str | None = None, **values: Scalar
) -> Violation:
    """Shorthand for rule code: ``yield violation(("lines", i, "units"), line.line_id, units=0)``.

    A rule with a fix adds it with ``._replace(fix=...)``."""
    return Violation(loc, line_id, values, variant)
