"""The ``dsmt-rules`` command (also ``python -m dsmt_rules``).

``check`` scrubs claim files and writes one report per input record; ``rules`` lists the catalog;
``read`` prints the claim documents an input yields; ``explain CODE`` prints a rule's
documentation; ``schema`` prints the JSON Schema of the claim
document. Exit status: 0 when no claim is rejected, 1 when at least one is (or is held for review,
with ``--fail-on warning``), 2 on a usage, configuration or I/O error, 3 when dsmt-rules itself
failed (a defect: an internal-error finding, DS005, on a record, or a failure of the command), 141
when the reader of the output went away (broken pipe, quietly, as Unix tools do). Errors are one
line on stderr, never a traceback; ``--debug`` adds the traceback's frames (never values).

Several paths are one batch (a beneficiary's claims in one file are history for the claims in
another); each report's ``record`` is the record's position within its own file (the line number
for JSON Lines), and the ``text``, ``csv`` and ``sarif`` outputs also name the file.

Options not given on the command line come from the settings file in force: ``--config FILE``, or
``[tool.dsmt-rules]`` of the nearest ``pyproject.toml`` / a ``dsmt-rules.toml`` found from the
working directory upward (``--isolated``: none); ``check --show-settings`` prints the result.

This module only wires options: an option that configures the rules goes into
:data:`CHECK_OPTIONS` and a field of :class:`~dsmt_rules.settings.Settings`; the check job itself is
:func:`dsmt_rules.job.run_check`; a new input format is one branch of
:func:`dsmt_rules.adapters.detect_format` and :data:`dsmt_rules.adapters.ADAPTERS`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar

import click

from dsmt_rules import __version__
from dsmt_rules.exceptions import DsmtRulesError
from dsmt_rules.findings import Status
from dsmt_rules.records import NO_CLAIM, failure_of
from dsmt_rules.reporters import FORMATS, Format, open_output
from dsmt_rules.settings import (
    DEFAULT_BATCH_MEMORY,
    OPTION_KEYS,
    Settings,
    SettingsFile,
    build_ruleset,
    find_settings_file,
    key_of,
    read_settings_file,
    setting_keys,
    split_codes,
)

__all__ = [
    "CHECK_OPTIONS",
    "EXIT_BROKEN_PIPE",
    "EXIT_ERROR",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "EXIT_REJECTED",
    "main",
    "settings_from_params",
]

PROG = "dsmt-rules"
INTERNAL_ERROR = "DS005"
EXIT_OK = 0
"""No claim rejected."""
EXIT_REJECTED = 1
"""At least one claim rejected (or held for review, with ``--fail-on warning``)."""
EXIT_ERROR = 2
"""Usage, configuration or I/O error."""
EXIT_INTERNAL = 3
"""dsmt-rules itself failed: a record got an internal-error finding (DS005), or the command did."""
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141
"""The output's reader went away (128 + SIGPIPE, what a shell shows for ``yes | head``)."""

_P = ParamSpec("_P")
_F = TypeVar("_F", bound=Callable[..., Any])


# --- errors ----------------------------------------------------------------------------------------


def _one_line(message: str) -> str:
    return " ".join(message.split())


def _error(message: str) -> int:
    click.echo(f"{PROG}: error: {_one_line(message)}", err=True)
    return EXIT_ERROR


def _warn(message: str) -> None:
    click.echo(f"{PROG}: warning: {_one_line(message)}", err=True)


def _internal_error(exc: Exception) -> int:
    """One line for a defect of dsmt-rules (exit 3); ``--debug`` logs the traceback's frames."""
    failure = failure_of("the command", exc)
    click.echo(
        f"{PROG}: internal error ({failure.error}): this is a defect in dsmt-rules; please report "
        "it (--debug shows the traceback)",
        err=True,
    )
    return EXIT_INTERNAL


def _debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """``--debug``: the ``dsmt_rules`` logger's DEBUG records (tracebacks, frames only) on stderr."""
    if value:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(f"{PROG}: debug: %(message)s"))
        logger = logging.getLogger("dsmt_rules")
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)


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
            return EXIT_BROKEN_PIPE
        except DsmtRulesError as exc:
            return _error(str(exc))
        except ModuleNotFoundError as exc:
            extra = _EXTRA_OF_MODULE.get((exc.name or "").partition(".")[0])
            if extra is None:
                return _internal_error(exc)
            return _error(f"this input needs the {extra} extra: pip install 'dsmt-rules[{extra}]'")
        except OSError as exc:
            return _error(_os_message(exc))
        except (click.ClickException, click.Abort):
            raise  # usage errors and ^C: main() reports them
        except Exception as exc:  # a defect of ours: one line and its own status, never 1
            return _internal_error(exc)

    return wrapper


# --- options shared by `check` (and whatever later reads claims) -----------------------------------


def settings_from_params(params: Mapping[str, Any]) -> Settings:
    """The settings that the keyword arguments click passes for :data:`CHECK_OPTIONS` give.

    Within a command that has :data:`CHECK_OPTIONS`, the settings file in force (``--config``, or
    the one found from the working directory upward) gives every setting the command line does not.
    """
    select: tuple[str, ...] = params["select"]
    settings = Settings(
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
        docs_url=params.get("docs_url"),
        x12_validate=bool(params.get("x12_validate")),
        engine=params.get("engine") or "default",
        spark_master=params.get("spark_master"),
    )
    ctx = click.get_current_context(silent=True)
    found = _settings_file_of(ctx)
    if ctx is None or found is None:
        return settings
    return found.apply(settings, keep=_given_fields(ctx))


# --- the settings file (pyproject.toml [tool.dsmt-rules] or dsmt-rules.toml) ----------------------

_META_FILE = "dsmt_rules.settings_file"
"""``ctx.meta`` key: the :class:`~dsmt_rules.settings.SettingsFile` in force (``None``: none)."""
_META_OPTION = "dsmt_rules.option."
_GIVEN = frozenset(
    {
        click.core.ParameterSource.COMMANDLINE,
        click.core.ParameterSource.ENVIRONMENT,
        click.core.ParameterSource.PROMPT,
    }
)
_OPTION_KEY_COMMANDS = frozenset({"check"})
"""Commands whose own options :data:`~dsmt_rules.settings.OPTION_KEYS` (format, fail-on) set."""


def _settings_file_of(ctx: click.Context | None) -> SettingsFile | None:
    found = None if ctx is None else ctx.meta.get(_META_FILE)
    return found if isinstance(found, SettingsFile) else None


def _param_for(command: click.Command, key: str) -> click.Parameter | None:
    """The option of ``command`` that a settings-file key mirrors (``mue-file`` -> ``--mue-file``)."""
    flag = f"--{key}"
    return next((p for p in command.params if flag in p.opts), None)


def _given_on_command_line(ctx: click.Context, key: str) -> bool:
    param = _param_for(ctx.command, key)
    return (
        param is not None
        and param.name is not None
        and (ctx.get_parameter_source(param.name) in _GIVEN)
    )


def _given_fields(ctx: click.Context) -> set[str]:
    """The :class:`Settings` fields the command line gives (and so the settings file does not).

    As ruff: ``--select`` on the command line starts the selection over, so the file's
    ``extend-select`` is dropped with its ``select``.
    """
    given = {name for key, name in setting_keys().items() if _given_on_command_line(ctx, key)}
    if "select" in given:
        given.add("extend_select")
    return given


def _setting_sources(ctx: click.Context) -> dict[str, str]:
    """Where each key's value comes from: ``command line``, the settings file, or ``default``."""
    found = _settings_file_of(ctx)
    select_given = _given_on_command_line(ctx, key_of("select"))
    sources: dict[str, str] = {}
    for key in (*setting_keys(), *OPTION_KEYS):
        if _given_on_command_line(ctx, key):
            sources[key] = "command line"
        elif found is None or key not in found.values:
            sources[key] = "default"
        elif key == key_of("extend_select") and select_given:
            sources[key] = "default (--select on the command line drops the file's)"
        else:
            sources[key] = found.origin
    return sources


def _load_settings_file(ctx: click.Context) -> None:
    config = ctx.meta.get(f"{_META_OPTION}config")
    if ctx.meta.get(f"{_META_OPTION}isolated"):
        if config is not None:
            raise click.UsageError("--config and --isolated cannot be used together", ctx)
        ctx.meta[_META_FILE] = None
        return
    try:
        path = config if config is not None else find_settings_file()
        found = None if path is None else read_settings_file(path)
    except DsmtRulesError as exc:
        raise click.ClickException(str(exc)) from None
    ctx.meta[_META_FILE] = found
    if found is None:
        return
    defaults = dict(ctx.default_map or {})
    for key, value in found.values.items():
        param = _param_for(ctx.command, key)
        command_option = key in OPTION_KEYS
        if (
            param is None
            or param.name is None
            or (command_option and ctx.command.name not in _OPTION_KEY_COMMANDS)
        ):
            continue
        try:
            param.type_cast_value(ctx, value)
        except click.BadParameter as exc:
            raise click.ClickException(f"{found.origin}: {key}: {exc.message}") from None
        if command_option:
            defaults[param.name] = value
    ctx.default_map = defaults


def _settings_file_option(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """Record ``--config`` / ``--isolated``; once both are known, read the settings file."""
    ctx.meta[f"{_META_OPTION}{param.name}"] = value
    if all(f"{_META_OPTION}{name}" in ctx.meta for name in ("config", "isolated")):
        _load_settings_file(ctx)


SETTINGS_FILE_OPTIONS: list[Callable[[_F], _F]] = [
    click.option(
        "--config",
        metavar="FILE",
        is_eager=True,
        expose_value=False,
        callback=_settings_file_option,
        type=click.Path(dir_okay=False),
        help="The settings file: a pyproject.toml ([tool.dsmt-rules]) or a dsmt-rules.toml "
        "[default: the nearest one from the working directory upward].",
    ),
    click.option(
        "--isolated",
        is_flag=True,
        is_eager=True,
        expose_value=False,
        callback=_settings_file_option,
        help="Read no settings file.",
    ),
]
"""``--config`` and ``--isolated``: which settings file gives the settings the options do not."""


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
        "--docs-url",
        metavar="URL",
        help="Base URL of the rule docs: finding urls and SARIF helpUri become URL joined with "
        "the rule's docs path (docs/rules/DS104-....md) [default: that relative path].",
    ),
    click.option(
        "--x12-validate",
        is_flag=True,
        default=False,
        help="Validate X12 837 input against the implementation guide with pyx12 (every segment "
        "and element, DS003; needs the x12 extra; about ten times slower than the default "
        "reader, which checks the envelope, counts and HL links).",
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
    *SETTINGS_FILE_OPTIONS,
]
"""The ``check`` options that configure the rules; :class:`~dsmt_rules.settings.Settings` holds
their values."""


def _settings_file_options(command: _F) -> _F:
    for option in reversed(SETTINGS_FILE_OPTIONS):
        command = option(command)
    return command


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
    or I/O error, 3 internal error (a defect of dsmt-rules; DS005), 141 broken pipe.
    """
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())
        return EXIT_ERROR
    return EXIT_OK


@cli.command()
@click.argument("paths", nargs=-1, metavar="PATH...")
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
@click.option(
    "--statistics",
    is_flag=True,
    help="Print counts by rule (code, name, severity, findings, claims) instead of the reports; "
    "a table, or JSON with --format json.",
)
@click.option(
    "--csv-bom",
    is_flag=True,
    help="Start CSV output with a UTF-8 byte order mark (for spreadsheets that need one).",
)
@click.option(
    "--debug",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=_debug,
    help="On an internal error, print the traceback's frames (file, line, code; never values).",
)
@click.option(
    "--show-settings",
    is_flag=True,
    help="Print the resolved settings and where each came from, and exit without checking.",
)
@click.option(
    "--show-fixes",
    is_flag=True,
    help="text: list the fix of each finding that has one (apply them with 'dsmt-rules fix').",
)
@_guarded
def check(
    paths: tuple[str, ...],
    fmt: Format | None,
    output: str | None,
    progress: bool | None,
    fail_on: str,
    statistics: bool,
    csv_bom: bool,
    show_fixes: bool = False,
    show_settings: bool = False,
    **params: Any,
) -> int:
    """Check the claims in PATH... ('-' reads stdin) and write one report per record.

    The input format is detected from content: X12 837 (ISA), FHIR (resourceType), else JSON
    Lines, a JSON array or one JSON claim document. All paths are one batch; each report's
    record number is its position within its own file (its line number for JSON Lines).
    Settings the options do not give come from the settings file (see --config).
    """
    from dsmt_rules.job import Output, run_check

    if statistics and fmt not in (None, "text", "json"):
        raise click.UsageError("--statistics is written as text or json, not " + str(fmt))
    settings = settings_from_params(params)
    if show_settings:
        _emit(_settings_text(settings, {"format": fmt, "fail-on": fail_on}))
        return EXIT_OK
    if not paths:
        ctx = click.get_current_context()
        paths_param = next(p for p in ctx.command.params if p.name == "paths")
        raise click.MissingParameter(ctx=ctx, param=paths_param)
    rules = build_ruleset(settings)
    summary = run_check(
        paths,
        settings=settings,
        rules=rules,
        output=Output(
            output,
            fmt,
            progress,
            statistics=statistics,
            csv_bom=csv_bom,
            show_fixes=show_fixes,
        ),
    )
    if output is not None and output != "-":
        from dsmt_rules.reporters.text import one_line_summary

        click.echo(f"{PROG}: {one_line_summary(summary)}", err=True)
    if not summary.claims:
        _warn("the input holds no records (nothing was checked)")
    for name in summary.no_claim:
        _warn(f"{name}: {NO_CLAIM}: nothing in it was checked")
    internal = summary.by_code[INTERNAL_ERROR]
    if internal:
        click.echo(
            f"{PROG}: internal error on {internal} record(s) (DS005 in their reports): a defect in "
            "dsmt-rules; the other records were checked; please report it (--debug shows tracebacks)",
            err=True,
        )
        return EXIT_INTERNAL
    if summary.count(Status.REJECT) or (fail_on == "warning" and summary.count(Status.REVIEW)):
        return EXIT_REJECTED
    return EXIT_OK


def _show_value(value: Any) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_show_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False)


def _settings_text(settings: Settings, options: Mapping[str, Any]) -> str:
    """``--show-settings``: one ``key = value  # source`` line per key, after the file in force."""
    ctx = click.get_current_context()
    found = _settings_file_of(ctx)
    sources = _setting_sources(ctx)
    values = {key: getattr(settings, name) for key, name in setting_keys().items()}
    values.update({key: options.get(key) for key in OPTION_KEYS})
    shown = {key: _show_value(value) for key, value in values.items()}
    if ctx.meta.get(f"{_META_OPTION}isolated"):
        header = "settings file: none (--isolated)"
    elif found is None:
        header = "settings file: none found from the working directory upward"
    else:
        header = f"settings file: {found.origin}"
    key_width = max(map(len, shown))
    value_width = max(map(len, shown.values()))
    lines = [
        f"{key.ljust(key_width)} = {text.ljust(value_width)}  # {sources[key]}"
        for key, text in shown.items()
    ]
    return "\n".join([header, *lines])


@cli.command("fix")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@_check_options
@click.option(
    "--output", "-o", metavar="FILE", help="Write the repaired documents to FILE ('-': stdout)."
)
@click.option("--in-place", is_flag=True, help="Rewrite each input file with its repairs.")
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff; write nothing.")
@click.option("--unsafe-fixes", is_flag=True, help="Apply the unsafe fixes too (docs/fixes.md).")
@_guarded
def fix_command(
    paths: tuple[str, ...],
    output: str | None,
    in_place: bool,
    show_diff: bool,
    unsafe_fixes: bool,
    **params: Any,
) -> int:
    """Repair the claim documents in PATH... (JSON Lines) with the findings' fixes.

    Applies the safe fixes (and the unsafe ones with --unsafe-fixes), checks again, and repeats
    until nothing changes; a summary of what changed goes to stderr. The inputs are never
    changed unless --in-place is given. Exit status: with --diff, 1 when something would change;
    otherwise 1 when a claim is still rejected after the fixes.
    """
    from dsmt_rules.fix import run_fix

    if sum((output is not None, in_place, show_diff)) != 1:
        raise click.UsageError("give exactly one of --output FILE, --in-place and --diff")
    settings = settings_from_params(params)
    result = run_fix(
        paths,
        settings=settings,
        rules=build_ruleset(settings),
        output=output,
        in_place=in_place,
        show_diff=show_diff,
        unsafe=unsafe_fixes,
    )
    if show_diff:
        return EXIT_REJECTED if result.changed else EXIT_OK
    rejected = any(r.status is Status.REJECT for r in result.reports)
    return EXIT_REJECTED if rejected else EXIT_OK


@cli.command("read")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@_check_options
@click.option("--output", "-o", metavar="FILE", help="Write the documents to FILE, not stdout.")
@_guarded
def read_command(paths: tuple[str, ...], output: str | None, **params: Any) -> int:
    """Print the claim documents PATH... yields, as JSON Lines (reference data applied).

    What dsmt-rules reads from an 837, a FHIR Bundle or JSON: one claim document per record that
    holds a claim, in input order. Checking the output gives the same findings as checking the
    input (but the input positions, and DS003 for the 837's structure). Records that hold no
    claim are counted on stderr; `dsmt-rules check` reports them.
    """
    from dsmt_rules.job import run_read

    counts = run_read(paths, settings=settings_from_params(params), output=output)
    if counts.unread:
        _warn(f"{counts.unread} record(s) hold no claim and were not written (check reports them)")
    if not counts.claims and not counts.unread:
        _warn("the input holds no records")
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


@cli.group("profile", invoke_without_command=True)
@click.pass_context
def profile_group(ctx: click.Context) -> int:
    """Show profiles: the numbers and code sets behind the rules."""
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())
        return EXIT_ERROR
    return EXIT_OK


@profile_group.command("show")
@click.argument("profile", required=False, metavar="[NAME|FILE]")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["toml", "json"]),
    default="toml",
    show_default=True,
    help="A complete profile file (TOML), or a JSON object.",
)
@_settings_file_options
@_guarded
def profile_show(profile: str | None, fmt: str) -> int:
    """Print the effective profile NAME or FILE, after its `extends` chain.

    Without NAME: the profile of the settings file in force, else medicare. The output is a
    complete profile: it loads back to the same parameters.
    """
    from dsmt_rules.profiles import load_profile, profile_document, profile_toml

    if profile is None:
        found = _settings_file_of(click.get_current_context())
        profile = found.apply().profile if found is not None else Settings().profile
    effective = load_profile(profile)
    if fmt == "json":
        _emit(json.dumps(profile_document(effective), indent=2, ensure_ascii=False))
    else:
        _emit(
            f"# The effective profile {effective.name!r} (dsmt-rules profile show).\n"
            + profile_toml(effective)
        )
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
