"""What every rule is made of: metadata, docs, examples and a pure ``check`` over a :class:`Context`.

A rule is a small class. Its class attributes are its metadata (code, name, default severity, literal
message template, citation, CARC hint, examples); its docstring is its documentation, with the
sections ``What it checks``, ``Why it matters`` and ``References``. ``Example`` and ``Use instead``
are claim documents built from :data:`dsmt_rules.rules._examples.BASE_CLAIM` and a JSON merge patch;
the docs generator prints them in full and a test executes both.

``check`` yields :class:`Violation` values; the engine turns them into :class:`~dsmt_rules.Finding`
values (severity from the profile and the selection, message from the literal template). Message
fields are codes, counts, dates of service and line ids only: never PHI.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from dsmt_rules.findings import Loc, Severity

if TYPE_CHECKING:
    from dsmt_rules.history import Ledger
    from dsmt_rules.models import Claim, ServiceLine, Session
    from dsmt_rules.profiles import Profile

__all__ = ["Context", "Rule", "Violation", "violation"]


class Violation(NamedTuple):
    """What a rule found: where, on which line, and the values its message template needs."""

    loc: Loc
    line_id: str | None
    values: Mapping[str, object]


class Context:
    """One claim under check, with what rules share: the profile, the DSMT lines, sessions by id.

    Built once per claim by the engine. ``ledger`` (the beneficiary's history) is built only when a
    rule asks for it, by ``ledger_factory`` (the engine passes one for ``history=`` and for batches;
    without one the ledger holds the claim and its own ``history`` array).
    """

    __slots__ = (
        "_ledger",
        "_ledger_factory",
        "_links",
        "claim",
        "dsmt_lines",
        "mue",
        "profile",
        "session_index",
        "sessions",
    )

    def __init__(
        self,
        claim: Claim,
        profile: Profile,
        *,
        ledger_factory: Callable[[Claim, Profile], Ledger] | None = None,
        mue: Mapping[str, int] | None = None,
    ) -> None:
        self.claim = claim
        self.profile = profile
        self.mue = mue
        """Medically Unlikely Edit values by HCPCS code, when an MUE table is configured (DS109)."""
        dsmt = profile.dsmt_codes
        self.dsmt_lines: Sequence[tuple[int, ServiceLine]] = [
            (i, line) for i, line in enumerate(claim.lines) if line.hcpcs in dsmt
        ]
        self.sessions: Mapping[str, Session] = {s.session_id: s for s in claim.sessions}
        self.session_index: Mapping[str, int] = {
            s.session_id: i for i, s in enumerate(claim.sessions)
        }
        self._links: dict[int, list[tuple[int, Session]]] = {}
        self._ledger_factory = ledger_factory
        self._ledger: Ledger | None = None

    @property
    def ledger(self) -> Ledger:
        """The beneficiary's services (history, this claim, and the batch), built on first use."""
        if self._ledger is None:
            if self._ledger_factory is None:
                from dsmt_rules.history import Ledger

                self._ledger = Ledger.for_claim(self.claim, self.profile)
            else:
                self._ledger = self._ledger_factory(self.claim, self.profile)
        return self._ledger

    def linked_sessions(self, line: ServiceLine) -> list[tuple[int, Session]]:
        """The sessions a line links to that exist on the claim, each once, with their index in
        ``sessions`` (computed once per line: several rules ask). Do not modify the list."""
        key = id(line)
        found = self._links.get(key)
        if found is None:
            found = []
            seen: set[int] = set()
            index = self.session_index
            sessions = self.claim.sessions
            for sid in line.session_ids:
                i = index.get(sid)
                if i is not None and i not in seen:
                    seen.add(i)
                    found.append((i, sessions[i]))
            self._links[key] = found
        return found


class Rule:
    """Base class of every rule. Subclasses set the metadata and implement :meth:`check`."""

    code: ClassVar[str]
    """``DS`` and three digits; the first digit is the family. Never reused or renumbered."""
    name: ClassVar[str]
    """kebab-case."""
    default_severity: ClassVar[Severity]
    message: ClassVar[str]
    """A literal ``str.format`` template; its fields are filled from :attr:`Violation.values`."""
    citation: ClassVar[str]
    carc_hint: ClassVar[str | None]
    needs: ClassVar[str]
    """What input the rule reads (as in the catalog's "needs" column)."""
    fix: ClassVar[str | None] = None
    example: ClassVar[Mapping[str, Any] | str]
    """A JSON merge patch on the base claim (or a raw document) that raises exactly this code."""
    use_instead: ClassVar[Mapping[str, Any] | str]
    """A merge patch (or raw document) that fixes the example and raises nothing."""
    example_companions: ClassVar[frozenset[str]] = frozenset()
    """Codes the failing example necessarily raises too (documented, e.g. DS102 implies DS103)."""
    example_options: ClassVar[Mapping[str, object]] = {}
    """Keyword options for :func:`dsmt_rules.engine.ruleset` that the examples need (DS109: ``mue``)."""
    runs_without_dsmt_lines: ClassVar[bool] = False
    """True only for rules that look at claims that have no DSMT line (DS002)."""
    uses_ledger: ClassVar[bool] = False
    """True for rules that read ``ctx.ledger`` (the engine then reads a batch twice)."""

    def check(self, ctx: Context) -> Iterator[Violation]:
        """Yield one violation per place the claim breaks this rule."""
        raise NotImplementedError  # pragma: no cover

    @classmethod
    def slug(cls) -> str:
        """``DS104-group-too-small``: the docs file stem."""
        return f"{cls.code}-{cls.name}"

    @classmethod
    def doc_url(cls) -> str:
        """Where the rule's generated documentation lives, relative to the project root."""
        return f"docs/rules/{cls.slug()}.md"


def violation(loc: Loc, line_id: str | None = None, **values: object) -> Violation:
    """Shorthand for rule code: ``yield violation(("lines", i, "units"), line.line_id, units=0)``."""
    return Violation(loc, line_id, values)
