"""The ``dsmt-rules`` command (also ``python -m dsmt_rules``).

``check`` scrubs claim files and writes one report per input record; ``rules`` lists the catalog;
``explain CODE`` prints a rule's documentation; ``schema`` prints the JSON Schema of the claim
document. Exit status: 0 when no claim is rejected, 1 when at least one is (or is held for review,
with ``--fail-on warning``), 2 on a usage, configuration or I/O error, reported in one line on
stderr (never a traceback).

Several paths are one batch (a beneficiary's claims in one file are history for the claims in
another); each report's ``record`` is the record's position within its own file (the line number
for JSON Lines), and the ``text``, ``csv`` and ``sarif`` outputs also name the file.

Extending ``check``: an option that configures the rules goes into :data:`CHECK_OPTIONS`, a field
of :class:`CheckOptions` and :func:`build_ruleset`; one that changes how records are read (reference
data) goes into the same list and class and :func:`open_batch`; a new input format is one branch
of :func:`detect_format` and :data:`ADAPTERS`.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import importlib
import importlib.util
import json
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, ParamSpec, TypeAlias, TypeVar, cast

import click

from dsmt_rules import __version__
from dsmt_rules.engine import Record, Ruleset, check_records, ruleset
from dsmt_rules.exceptions import AdapterError, DsmtRulesError
from dsmt_rules.findings import Report, Status
from dsmt_rules.reporters import FORMATS, Format, Summary, TextSink, write_reports

__all__ = [
    "ADAPTERS",
    "CHECK_OPTIONS",
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_REJECTED",
    "CheckOptions",
    "build_ruleset",
    "detect_format",
    "main",
    "open_batch",
    "open_records",
]

PROG = "dsmt-rules"
EXIT_OK = 0
"""No claim rejected."""
EXIT_REJECTED = 1
"""At least one claim rejected (or held for review, with ``--fail-on warning``)."""
EXIT_ERROR = 2
"""Usage, configuration or I/O error."""
EXIT_INTERRUPTED = 130

STDIN = "-"
STDIN_NAME = "<stdin>"

_P = ParamSpec("_P")
_F = TypeVar("_F", bound=Callable[..., Any])

RecordSource: TypeAlias = Callable[[], Iterator[Record]]
"""A zero-argument function returning a fresh iterator over an input's records (re-readable)."""

InputFormat: TypeAlias = Literal["json", "x12", "fhir"]


# --- errors ----------------------------------------------------------------------------------------


def _one_line(message: str) -> str:
    return " ".join(message.split())


def _error(message: str) -> int:
    click.echo(f"{PROG}: error: {_one_line(message)}", err=True)
    return EXIT_ERROR


def _os_message(exc: OSError) -> str:
    reason = exc.strerror or exc.__class__.__name__
    return f"{exc.filename}: {reason}" if exc.filename is not None else reason


def _silence_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the interpreter's final flush is quiet."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


_EXTRA_OF_MODULE = {"pyx12": "x12", "fhir": "fhir"}


def _guarded(command: Callable[_P, int]) -> Callable[_P, int]:
    """Turn the errors a user can cause into one line on stderr and exit status 2."""

    @functools.wraps(command)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> int:
        try:
            return command(*args, **kwargs)
        except BrokenPipeError:
            _silence_stdout()
            return EXIT_ERROR
        except DsmtRulesError as exc:
            return _error(str(exc))
        except ModuleNotFoundError as exc:
            extra = _EXTRA_OF_MODULE.get((exc.name or "").partition(".")[0])
            if extra is None:
                raise
            return _error(f"this input needs the {extra} extra: pip install 'dsmt-rules[{extra}]'")
        except OSError as exc:
            return _error(_os_message(exc))

    return wrapper


# --- input -----------------------------------------------------------------------------------------

_HEAD_BYTES = 4096

ADAPTERS: Mapping[str, tuple[str, str, str]] = {
    "x12": ("dsmt_rules.adapters.x12", "X12 837", "x12"),
    "fhir": ("dsmt_rules.adapters.fhir", "FHIR", "fhir"),
}
"""Optional input adapters: format -> (module, label, extra). Each module exposes
``read_records(stream: IO[bytes], *, name: str) -> Iterator[Record]``."""


def detect_format(head: bytes) -> InputFormat:
    """The input format from an input's first bytes.

    ``ISA`` first (after white space) is X12; a JSON object naming a ``"resourceType"`` is FHIR;
    anything else is read as JSON (JSON Lines, an array of claim documents, or one document).
    """
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if start.startswith(b"ISA"):
        return "x12"
    if start.startswith(b"{") and b'"resourceType"' in start:
        return "fhir"
    return "json"


def _adapter(kind: str, name: str) -> Callable[..., Iterator[Record]]:
    module_name, label, extra = ADAPTERS[kind]
    hint = f"{name}: {label} input needs the {extra} extra: pip install 'dsmt-rules[{extra}]'"
    if importlib.util.find_spec(module_name) is None:
        raise AdapterError(hint)
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise AdapterError(hint) from None
    return cast(Callable[..., Iterator[Record]], module.read_records)


def open_records(path: Path, *, name: str) -> RecordSource:
    """Detect the format of the file at ``path`` and return a re-readable source of its records.

    ``name`` is how the input is shown to people (the path as given, or ``<stdin>``). The file is
    opened here once (so a missing or unreadable file fails now) and again on every call of the
    returned function.
    """
    with path.open("rb") as stream:
        head = stream.read(_HEAD_BYTES)
    kind = detect_format(head)
    if kind == "json":
        from dsmt_rules.adapters.jsonl import read_records as read_json

        def read(stream: IO[bytes]) -> Iterator[Record]:
            return read_json(stream)
    else:
        read = functools.partial(_adapter(kind, name), name=name)

    def records() -> Iterator[Record]:
        with path.open("rb") as stream:
            yield from read(stream)

    return records


class Batch:
    """Several inputs read as one batch: a re-readable record source, and each report's file.

    Calling the batch returns a fresh iterator over every record of every input, in order (the
    engine may read it twice). :meth:`file_of` maps a report's 0-based index in the output to the
    name of its input: as reports come in input order, one per record, counting each input's
    records is enough.
    """

    def __init__(self, inputs: Sequence[tuple[str, RecordSource]]) -> None:
        self._inputs = tuple(inputs)
        self._counts: dict[int, int] = {}
        self._cursor = 0
        self._start = 0

    def __call__(self) -> Iterator[Record]:
        for i, (_, source) in enumerate(self._inputs):
            count = 0
            for record in source():
                count += 1
                yield record
            self._counts[i] = count

    def file_of(self, index: int) -> str | None:
        """The input name of the report at ``index`` (0-based, in output order)."""
        if index < self._start:
            self._cursor, self._start = 0, 0
        while self._cursor < len(self._inputs):
            count = self._counts.get(self._cursor)
            if count is None or index < self._start + count:
                return self._inputs[self._cursor][0]
            self._start += count
            self._cursor += 1
        return None


@contextlib.contextmanager
def _spooled(stream: IO[bytes]) -> Iterator[Path]:
    """A stream copied to a temporary file, so that it can be read more than once."""
    fd, name = tempfile.mkstemp(prefix="dsmt-rules-", suffix=".spool")
    try:
        with os.fdopen(fd, "wb") as spool:
            shutil.copyfileobj(stream, spool, 1 << 20)
        yield Path(name)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)


def _readable_path(path: str, stack: contextlib.ExitStack) -> Path:
    """``path`` itself when it is a regular file; a pipe or device (``<(cmd)``) is spooled."""
    mode = os.stat(path).st_mode
    if stat.S_ISREG(mode):
        return Path(path)
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory, not a file of claims", path)
    with open(path, "rb") as stream:
        return stack.enter_context(_spooled(stream))


# --- options shared by `check` (and whatever later reads claims) -----------------------------------


def _codes(values: Iterable[str]) -> tuple[str, ...]:
    """``("DS1,DS2", "DS301")`` -> ``("DS1", "DS2", "DS301")`` (empty items dropped)."""
    return tuple(code.strip() for value in values for code in value.split(",") if code.strip())


@dataclass(frozen=True, slots=True)
class CheckOptions:
    """The options that choose and configure the rules (and, later, reference data)."""

    profile: str = "medicare"
    select: tuple[str, ...] | None = None
    """``None`` when ``--select`` is not given (every rule); ``()`` selects none."""
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity: tuple[str, ...] = ()
    reference: tuple[str, ...] = ()
    """Reference data files (JSON Lines) that complete the claims (``--reference``)."""
    mue_file: str | None = None
    """A CMS MUE CSV file for DS109 (``--mue-file``)."""

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> CheckOptions:
        """Build from the keyword arguments click passes for :data:`CHECK_OPTIONS`."""
        select: tuple[str, ...] = params["select"]
        return cls(
            profile=params["profile"],
            select=_codes(select) if select else None,
            extend_select=_codes(params["extend_select"]),
            ignore=_codes(params["ignore"]),
            severity=_codes(params["severity"]),
            reference=tuple(params.get("reference") or ()),
            mue_file=params.get("mue_file"),
        )


CHECK_OPTIONS: list[Callable[[_F], _F]] = [
    click.option(
        "--profile",
        default="medicare",
        show_default=True,
        metavar="NAME|FILE",
        help="Built-in profile name or a profile TOML file (which may extend 'medicare').",
    ),
    click.option(
        "--select",
        multiple=True,
        metavar="CODES",
        help="Run only these rules: comma-separated codes or prefixes (DS1,DS301), or ALL.",
    ),
    click.option(
        "--extend-select",
        multiple=True,
        metavar="CODES",
        help="Add rules to the selection.",
    ),
    click.option(
        "--ignore",
        multiple=True,
        metavar="CODES",
        help="Skip these rules (codes or prefixes; the more specific selector wins).",
    ),
    click.option(
        "--severity",
        multiple=True,
        metavar="CODE=LEVEL",
        help="Override a rule's severity (error, warning, info); repeatable.",
    ),
    click.option(
        "--reference",
        multiple=True,
        metavar="FILE",
        help="Reference data (JSON Lines: provider, session, referral, history records) that "
        "fills what the claims leave empty; repeatable.",
    ),
    click.option(
        "--mue-file",
        metavar="CSV",
        help="CMS quarterly MUE table (CSV) for DS109 (units over the MUE value).",
    ),
]
"""The ``check`` options that configure the rules; :class:`CheckOptions` holds their values."""


def _check_options(command: _F) -> _F:
    for option in reversed(CHECK_OPTIONS):
        command = option(command)
    return command


def build_ruleset(options: CheckOptions) -> Ruleset:
    """The compiled profile and rule selection (raises ConfigError on a bad option)."""
    mue = None
    if options.mue_file is not None:
        from dsmt_rules.mue import load_mue

        mue = load_mue(options.mue_file)
    return ruleset(
        profile=options.profile,
        select=options.select,
        extend_select=options.extend_select,
        ignore=options.ignore,
        severity=options.severity,
        mue=mue,
    )


def open_batch(inputs: Sequence[tuple[str, Path]], options: CheckOptions) -> Batch:
    """The records of the inputs (display name, path), as one re-readable batch."""
    sources = [(name, open_records(path, name=name)) for name, path in inputs]
    if options.reference:
        from dsmt_rules.profiles import load_profile
        from dsmt_rules.reference import ReferenceData

        data = ReferenceData.load(options.reference)
        profile = load_profile(options.profile)
        complete = functools.partial(
            data.apply, individual_code=profile.individual_code, group_code=profile.group_code
        )
        sources = [(name, _completed(source, complete)) for name, source in sources]
    return Batch(sources)


def _completed(source: RecordSource, complete: Callable[[Record], Record]) -> RecordSource:
    def records() -> Iterator[Record]:
        return map(complete, source())

    return records


# --- output ------------------------------------------------------------------------------------------


class _Utf8Sink:
    """Text to a binary stream as UTF-8 (stdout's own encoding may not be)."""

    __slots__ = ("_write",)

    def __init__(self, stream: IO[bytes]) -> None:
        self._write = stream.write

    def write(self, text: str, /) -> int:
        return self._write(text.encode("utf-8", "replace"))


def _isatty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def _stdout_sink() -> Iterator[TextSink]:
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # pragma: no cover - a replaced sys.stdout without a binary layer
        yield sys.stdout
        sys.stdout.flush()
        return
    yield _Utf8Sink(buffer)
    buffer.flush()


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[TextSink]:
    if path is None or path == STDIN:
        with _stdout_sink() as sink:
            yield sink
        return
    with open(path, "w", encoding="utf-8", errors="replace", newline="") as out:
        yield out


_SUFFIX_FORMATS: Mapping[str, Format] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".sarif": "sarif",
    ".txt": "text",
}


def _default_format(output: str | None) -> Format:
    if output is None or output == STDIN:
        return "text" if _isatty(sys.stdout) else "jsonl"
    return _SUFFIX_FORMATS.get(Path(output).suffix.lower(), "jsonl")


def _with_progress(
    reports: Iterator[Report], progress: bool | None, to_terminal: bool
) -> Iterator[Report]:
    show = progress if progress is not None else _isatty(sys.stderr) and not to_terminal
    if not show:
        return reports
    from tqdm import tqdm

    return iter(
        tqdm(reports, desc="checking", unit=" claims", file=sys.stderr, delay=0.5, leave=True)
    )


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


# --- commands --------------------------------------------------------------------------------------


@click.group(
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", prog_name=PROG, message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context) -> int:
    """Scrub Medicare Diabetes Self-Management Training claims (HCPCS G0108 / G0109).

    Exit status: 0 no claim rejected, 1 at least one claim rejected, 2 usage, configuration
    or I/O error.
    """
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())
        return EXIT_ERROR
    return EXIT_OK


@cli.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="Output format [default: text on a terminal, else jsonl; with --output, from its suffix].",
)
@_check_options
@click.option("--output", "-o", metavar="FILE", help="Write the reports to FILE, not stdout.")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar on stderr [default: when stderr is a terminal and stdout is not].",
)
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning"]),
    default="error",
    show_default=True,
    help="Exit 1 when a claim is rejected (error) or also when one is held for review (warning).",
)
@_guarded
def check(
    paths: tuple[str, ...],
    fmt: Format | None,
    output: str | None,
    progress: bool | None,
    fail_on: str,
    **params: Any,
) -> int:
    """Check the claims in PATH... ('-' reads stdin) and write one report per record.

    The input format is detected from content: X12 837 (ISA), FHIR (resourceType), else JSON
    Lines, a JSON array or one JSON claim document. All paths are one batch; each report's
    record number is its position within its own file (its line number for JSON Lines).
    """
    options = CheckOptions.from_params(params)
    rules = build_ruleset(options)
    if output is not None and output != STDIN:
        for path in paths:
            if path != STDIN and _same_file(path, output):
                return _error(f"{output}: is also an input; choose another --output file")
    with contextlib.ExitStack() as stack:
        inputs: list[tuple[str, Path]] = []
        spooled: Path | None = None
        for path in paths:
            if path == STDIN:
                if spooled is None:
                    spooled = stack.enter_context(_spooled(sys.stdin.buffer))
                inputs.append((STDIN_NAME, spooled))
            else:
                inputs.append((path, _readable_path(path, stack)))
        batch = open_batch(inputs, options)
        fmt = fmt or _default_format(output)
        to_terminal = (output is None or output == STDIN) and _isatty(sys.stdout)
        color = to_terminal and fmt == "text" and "NO_COLOR" not in os.environ
        width = shutil.get_terminal_size().columns if to_terminal else None
        sink = stack.enter_context(_output(output))
        summary = Summary()
        reports = _with_progress(
            summary.tally(check_records(batch, rules=rules)), progress, to_terminal
        )
        write_reports(fmt, reports, sink, origin=batch.file_of, color=color, width=width)
    if summary.count(Status.REJECT) or (fail_on == "warning" and summary.count(Status.REVIEW)):
        return EXIT_REJECTED
    return EXIT_OK


def _emit(text: str) -> None:
    with _stdout_sink() as sink:
        sink.write(text if text.endswith("\n") else text + "\n")


@cli.command("rules")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="A table, or a JSON array (with carc_hint and the docs url).",
)
@_guarded
def rules_command(fmt: str) -> int:
    """List every rule: code, name, default severity (medicare profile) and citation."""
    from dsmt_rules.catalog import CATALOG

    if fmt == "json":
        items = [
            {
                "code": rule.code,
                "name": rule.name,
                "severity": rule.default_severity.value,
                "citation": rule.citation,
                "carc_hint": rule.carc_hint,
                "url": rule.doc_url(),
            }
            for rule in CATALOG
        ]
        _emit(json.dumps(items, indent=2, ensure_ascii=False))
        return EXIT_OK
    rows = [("CODE", "NAME", "SEVERITY", "CITATION")]
    rows += [(r.code, r.name, r.default_severity.value, r.citation) for r in CATALOG]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        f"{code:<{widths[0]}}  {name:<{widths[1]}}  {sev:<{widths[2]}}  {citation}"
        for code, name, sev, citation in rows
    ]
    _emit("\n".join(lines))
    return EXIT_OK


@cli.command()
@click.argument("code")
@_guarded
def explain(code: str) -> int:
    """Print the documentation of rule CODE (Markdown), e.g. `dsmt-rules explain DS104`."""
    from dsmt_rules._docs import render_rule
    from dsmt_rules.catalog import rule_for

    _emit(render_rule(rule_for(code)))
    return EXIT_OK


SCHEMA_ID = "urn:dsmt-rules:claim-document:v1"
SCHEMA_TITLE = "dsmt-rules claim document v1"


def claim_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the claim document, version 1."""
    from dsmt_rules.models import Claim

    schema = Claim.model_json_schema()
    schema.pop("title", None)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": SCHEMA_TITLE,
        **schema,
    }


@cli.command()
@_guarded
def schema() -> int:
    """Print the JSON Schema of the claim document (version 1)."""
    _emit(json.dumps(claim_schema(), indent=2, ensure_ascii=False))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = cli.main(args=args, prog_name=PROG, standalone_mode=False)
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        return _error(exc.format_message() + hint)
    except click.ClickException as exc:
        return _error(exc.format_message())
    except click.Abort:
        return EXIT_INTERRUPTED
    return result if isinstance(result, int) else EXIT_OK
