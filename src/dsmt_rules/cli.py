"""The ``dsmt-rules`` command (also ``python -m dsmt_rules``).

``check`` scrubs claim files and writes one report per input record; ``rules`` lists the catalog;
``explain CODE`` prints a rule's documentation; ``schema`` prints the JSON Schema of the claim
document. Exit status: 0 when no claim is rejected, 1 when at least one is (or is held for review,
with ``--fail-on warning``), 2 on a usage, configuration or I/O error, reported in one line on
stderr (never a traceback).

Several paths are one batch (a beneficiary's claims in one file are history for the claims in
another); each report's ``record`` is the record's position within its own file (the line number
for JSON Lines), and the ``text``, ``csv`` and ``sarif`` outputs also name the file.

This module only wires options: an option that configures the rules goes into
:data:`CHECK_OPTIONS` and a field of :class:`~dsmt_rules.settings.Settings`; the check job itself is
:func:`dsmt_rules.job.run_check`; a new input format is one branch of
:func:`dsmt_rules.adapters.detect_format` and :data:`dsmt_rules.adapters.ADAPTERS`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar

import click

from dsmt_rules import __version__
from dsmt_rules.exceptions import DsmtRulesError
from dsmt_rules.findings import Status
from dsmt_rules.reporters import FORMATS, Format, open_output
from dsmt_rules.settings import DEFAULT_BATCH_MEMORY, Settings, build_ruleset, split_codes

__all__ = [
    "CHECK_OPTIONS",
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_REJECTED",
    "main",
    "settings_from_params",
]

PROG = "dsmt-rules"
EXIT_OK = 0
"""No claim rejected."""
EXIT_REJECTED = 1
"""At least one claim rejected (or held for review, with ``--fail-on warning``)."""
EXIT_ERROR = 2
"""Usage, configuration or I/O error."""
EXIT_INTERRUPTED = 130

_P = ParamSpec("_P")
_F = TypeVar("_F", bound=Callable[..., Any])


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


_EXTRA_OF_MODULE = {"pyx12": "x12", "fhir": "fhir", "pyspark": "spark", "pyarrow": "spark"}


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


# --- options shared by `check` (and whatever later reads claims) -----------------------------------


def settings_from_params(params: Mapping[str, Any]) -> Settings:
    """The settings that the keyword arguments click passes for :data:`CHECK_OPTIONS` give."""
    select: tuple[str, ...] = params["select"]
    return Settings(
        profile=params["profile"],
        select=split_codes(select) if select else None,
        extend_select=split_codes(params["extend_select"]),
        ignore=split_codes(params["ignore"]),
        severity=split_codes(params["severity"]),
        reference=tuple(params.get("reference") or ()),
        mue_file=params.get("mue_file"),
        icd10cm_files=tuple(params.get("icd10cm_file") or ()),
        batch_memory=params.get("batch_memory") or DEFAULT_BATCH_MEMORY,
        temp_dir=params.get("temp_dir"),
        engine=params.get("engine") or "default",
        spark_master=params.get("spark_master"),
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
    click.option(
        "--icd10cm-file",
        multiple=True,
        metavar="[FY=]FILE",
        help="A CMS ICD-10-CM code file (order or codes file) of a fiscal year, e.g. "
        "icd10cm_order_2027.txt or 2027=codes.txt; repeatable (DS309, DS311).",
    ),
    click.option(
        "--batch-memory",
        type=click.IntRange(min=1),
        default=None,
        metavar="MIB",
        help="Memory a batch holds before it spills to a temporary directory [default: 64], "
        "for the claims waiting for their beneficiary's last claim and again for the reports.",
    ),
    click.option(
        "--temp-dir",
        metavar="DIR",
        help="Where a batch spills past --batch-memory [default: the system's temporary directory].",
    ),
    click.option(
        "--engine",
        type=click.Choice(["default", "spark"]),
        default=None,
        help="Run the checks in this process [default] or on Apache Spark (the same reports; "
        "needs the spark extra and Java 17 or 21).",
    ),
    click.option(
        "--spark-master",
        metavar="URL",
        help="The Spark master for --engine spark, e.g. local[2] [default: spark-submit's, "
        "else local[*]].",
    ),
]
"""The ``check`` options that configure the rules; :class:`~dsmt_rules.settings.Settings` holds
their values."""


def _check_options(command: _F) -> _F:
    for option in reversed(CHECK_OPTIONS):
        command = option(command)
    return command


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
    from dsmt_rules.job import Output, run_check

    settings = settings_from_params(params)
    rules = build_ruleset(settings)
    summary = run_check(paths, settings=settings, rules=rules, output=Output(output, fmt, progress))
    if summary.count(Status.REJECT) or (fail_on == "warning" and summary.count(Status.REVIEW)):
        return EXIT_REJECTED
    return EXIT_OK


def _emit(text: str) -> None:
    with open_output(None) as sink:
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
    from dsmt_rules import _docs

    if fmt == "json":
        _emit(json.dumps(_docs.catalog_entries(), indent=2, ensure_ascii=False))
    else:
        _emit(_docs.catalog_table())
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


@cli.command()
@_guarded
def schema() -> int:
    """Print the JSON Schema of the claim document (version 1)."""
    from dsmt_rules.models import claim_schema

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
