"""The `mcc` command line: parse, get a valid spec, write the project, say what happened."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from . import __version__
from .answers import ANSWERS, Answer

if TYPE_CHECKING:  # the commands import what they need when they run: `mcc --help` starts in a fraction of that
    from rich.console import Console

    from .catalog import Catalog
    from .errors import FieldError, InvalidAnswers, MccError
    from .model_check import ModelReport
    from .prompts import Aborted
    from .render import Written
    from .sagemaker_archive import SageMakerArchive
    from .sources import Answers
    from .spec import ProjectSpec


@cache
def console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr)


def out() -> Console:
    return console()


def err() -> Console:
    return console(stderr=True)


class AnswerOption(click.Option):
    """An answer's flag; its help (choices, default, variable) made from the catalog only when it is shown."""

    def __init__(self, *args: Any, answer: Answer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answer = answer

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        from .answer_docs import option_help
        from .catalog import load_catalog

        self.help = option_help(self.answer, load_catalog())
        return super().get_help_record(ctx)


class AnswersCommand(click.Command):
    """A command taking the answers: its help lists them by the three decisions (then LLM options), and
    ``examples`` of mcc new at its end."""

    def __init__(self, *args: Any, examples: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.examples = examples

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from .answer_docs import GROUPS, group

        sections: dict[str, list[tuple[str, str]]] = {"Options": [], **{name: [] for name in GROUPS}}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                section = group(param.answer) if isinstance(param, AnswerOption) else "Options"
                sections[section].append(record)
        for name, records in sections.items():
            if records:
                with formatter.section(name):
                    formatter.write_dl(records)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from .answer_docs import EXAMPLES

        if self.examples:
            with formatter.section("Examples"):
                for line in EXAMPLES.splitlines():
                    formatter.write(f"{line}\n")  # as written: commands are not rewrapped


def _answer_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """One option per answer, all defaulting to None (or, repeatable, to nothing) so an absent flag is no answer."""
    for answer in reversed(ANSWERS):
        flag: str = answer.flag
        if answer.kind == "bool":
            flag, kind = f"{answer.flag}/--no-{answer.flag[2:]}", {"default": None}
        elif answer.kind == "list":
            kind = {"multiple": True, "metavar": "KEY=VALUE"}
        else:
            kind = {
                "type": {"int": click.INT, "float": click.FLOAT}.get(answer.kind, click.STRING),
                "metavar": {"int": "N", "float": "X", "path": "PATH"}.get(answer.kind, "TEXT"),
                "default": None,
            }
        option = click.option(flag, answer.key, cls=AnswerOption, answer=answer, help=answer.help, **kind)
        command = option(command)
    return command


class MainGroup(click.Group):
    """mcc's commands; a failure no command foresaw is still one error line (exit 2), never a traceback
    (``MCC_DEBUG=1`` shows it)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            err().print("[yellow]Interrupted; nothing was written.[/]")
            sys.exit(130)
        except Exception as exc:
            if os.environ.get("MCC_DEBUG"):
                raise
            err().print(f"[bold red]error:[/] {_unforeseen(exc)} (MCC_DEBUG=1 shows where)", highlight=False)
            sys.exit(2)


def _unforeseen(exc: Exception) -> str:
    if isinstance(exc, ImportError):
        return (f"this needs the Python module {exc.name or exc}, which is not installed beside mcc; "
                "reinstall mcc (pipx install --force ml-container-creator)")  # fmt: skip
    first = str(exc).strip().splitlines()
    return f"mcc failed unexpectedly: {type(exc).__name__}: {first[0][:300] if first else ''}".rstrip(": ")


@click.group(cls=MainGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120})
@click.version_option(__version__, prog_name="mcc")
def main() -> None:
    """ML Container Creator: turn a trained model into a SageMaker AI inference container project."""


@main.command(cls=AnswersCommand, examples=True)
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False),
    envvar="MCC_CONFIG",
    help="YAML, TOML or JSON file with answers (same shape as mcc.yaml)  (env MCC_CONFIG)",
)
@click.option("--yes", "-y", is_flag=True, help="Never prompt: use defaults, fail on missing answers")
@click.option("--force", is_flag=True, help="Write into a non-empty output directory, replacing generated files")
@click.option(
    "--no-model-check",
    "no_model_check",
    is_flag=True,
    envvar="MCC_NO_MODEL_CHECK",
    help="Do not load the model in the image's environment (offline): the schema is only what you declare, no "
    "answer is recorded; the server still checks the model when it starts  (env MCC_NO_MODEL_CHECK)",
)
@_answer_options
def new(config: str | None, yes: bool, force: bool, no_model_check: bool, **params: Any) -> None:
    """Generate a project. Precedence: flags > MCC_* env > --config > [tool.mcc] in ./pyproject.toml >
    defaults > prompts (interactive terminals only)."""
    import tempfile

    from .catalog import load_catalog
    from .defaults import missing_required, with_defaults
    from .errors import InvalidAnswers, MccError
    from .plan import plan_project
    from .predictive_plan import project_pinning
    from .prompts import Aborted, ask_missing, reaskable
    from .render import write_project
    from .session import clear, offer_resume
    from .sources import from_env, from_file, from_flags, from_pyproject, merge
    from .spec_check import build_spec, spec_warnings

    catalog = load_catalog()
    environ = dict(os.environ)
    interactive = not yes and sys.stdin.isatty()
    unknown: list[FieldError] = []  # settings no answer has, reported with every other problem
    answers: Answers = {}
    try:
        answers = merge(
            from_flags(params),
            from_env(environ),
            from_file(Path(config), unknown) if config else {},
            offer_resume(Path.cwd(), unknown) if interactive and not config else {},
            from_pyproject(Path.cwd(), unknown),
        )
        if interactive:
            answers = ask_missing(answers, catalog, environ, force)
        with tempfile.TemporaryDirectory(prefix="mcc-archive-") as scratch:
            while True:  # in a terminal, a refused answer is asked again, and only that one
                missing = missing_required(answers, catalog)
                given, archive = import_archive(answers, catalog, Path(tempfile.mkdtemp(dir=scratch)))
                try:
                    spec = build_spec(with_defaults(given, catalog, environ), catalog, force=force,
                                      problems=unknown + missing)  # fmt: skip
                    report = checked_model(spec, catalog, archive, skip=no_model_check)
                    break
                except InvalidAnswers as exc:
                    _name_missing(exc, missing, interactive)
                    again = reaskable({e.field for e in exc.errors}, answers, catalog) if interactive else []
                    if unknown or not again:
                        raise
                    _report(exc, final=False)
                    err().print(f"Asking again: {', '.join(again)} (your other answers are kept)", highlight=False)
                    answers = {k: g for k, g in answers.items() if k not in again}
                    answers = ask_missing(answers, catalog, environ, force, only=again)
            with err().status("Generating the project…"):
                files = plan_project(spec, catalog, archive, report)
                written = write_project(files, spec.output_dir, force=force)
    except (Aborted, MccError) as exc:
        kept = (exc.answers if isinstance(exc, Aborted) else answers) if interactive else None
        _exit_on(exc, answers, nothing_written=True, session=kept)
    except KeyboardInterrupt:  # not at a prompt (the model check, the rendering)
        _exit_on(Aborted(), answers, nothing_written=True, session=answers if interactive else None)
    except OSError as exc:
        where = f" in {spec.output_dir}" if "spec" in locals() else ""
        err().print(f"[bold red]error:[/] cannot write the project{where}: {exc.strerror or exc}. "
                    "Nothing was written.", highlight=False)  # fmt: skip
        sys.exit(2)
    if interactive:
        clear(Path.cwd())
    if archive:
        hooks = ", ".join(archive.hooks) or "none (mcc's defaults serve it)"
        out().print(f"imported {archive.source.name}: model/{archive.artifact.relative_to(archive.root).as_posix()}, "
                  f"code/inference.py hooks: {hooks}", highlight=False)  # fmt: skip
    if not spec.generative and spec.model.file:
        framework = catalog.frameworks[spec.model.framework]
        versions = project_pinning(spec, catalog).summary(framework, spec.model.file.name)
        if versions:
            out().print(versions, highlight=False, markup=False)
    if report is not None and report.checked:
        out().print(report.summary(catalog.runtime.python_version), highlight=False, markup=False)
    _summarize(spec, written, len(files), spec_warnings(spec, catalog))


def _keep_session(answers: Answers | None) -> None:
    from .session import save

    path = save(answers, Path.cwd()) if answers else None
    if path is not None:
        err().print(f"Your answers so far are kept in {path.name}: run mcc new here again to resume from them.",
                    highlight=False)  # fmt: skip


def _name_missing(exc: InvalidAnswers, missing: list[FieldError], interactive: bool) -> None:
    """Head the error with the missing answers and how to give them."""
    if missing:
        hint = "pass them as flags, MCC_* variables or in --config" + (
            "" if interactive else ", or run without --yes in a terminal"
        )
        more = " and invalid answers" if len(exc.errors) > len(missing) else ""
        exc.heading = f"missing required answers ({hint}){more}"


def checked_model(
    spec: ProjectSpec, catalog: Catalog, archive: SageMakerArchive | None, skip: bool
) -> ModelReport | None:
    """A predictive model loaded, read and asked the sample in the image's environment, with a progress line
    (None for generative projects); ``skip``: only the answers, said loudly."""
    from .predictive_plan import model_report, unchecked_report

    if spec.generative:
        return None
    if skip:
        err().print("[bold yellow]warning:[/] --no-model-check: the model was not loaded in the image's "
                    "environment. Its columns, the packages it needs (pandas) and its answer to the sample are "
                    "not known: code/schema.json holds only the declared names, and nothing is recorded for "
                    "do/test. The server still checks the model when it starts.", highlight=False)  # fmt: skip
        return unchecked_report(spec, catalog, archive)
    with err().status("Checking the model in the image's environment…") as status:
        return model_report(spec, catalog, archive, progress=status.update)


def import_archive(answers: Answers, catalog: Catalog, scratch: Path) -> tuple[Answers, SageMakerArchive | None]:
    """A model.tar.gz given as the model file or as --model-data: unpacked into ``scratch``; its artifact becomes
    the model file (served locally; with --model-data the image is built without it)."""
    from .errors import FieldError, InvalidAnswers
    from .sagemaker_archive import fetch, is_archive, unpack
    from .sources import Given
    from .validation import model_data_error

    answers = _from_model_package(answers)
    data = answers.get("model_data")
    if data is not None and "model_file" in answers:
        raise InvalidAnswers([FieldError("model_data", "give either --model-data or --model-file, not both",
                                         data.value, data.source)])  # fmt: skip
    if data is not None and model_data_error(str(data.value)) is None:
        answers = {**answers, "model_file": Given(str(data.value), data.source)}
    given = answers.get("model_file")
    remote = given is not None and str(given.value).startswith("s3://")
    if given is None or not is_archive(str(given.value)) or not (remote or Path(given.value).is_file()):
        return answers, None  # a missing file is reported with the other answers
    framework = answers.get("framework")
    source = fetch(str(given.value), scratch)
    archive = unpack(source, scratch / "unpacked", catalog, framework.value if framework else None)
    return {**answers, "model_file": Given(str(archive.artifact), given.source)}, archive


def _from_model_package(answers: Answers) -> Answers:
    """--model-package-arn: the package's ModelDataUrl becomes --model-data (the one model source given)."""
    from .errors import FieldError, InvalidAnswers
    from .model_registry import describe, package_arn_error
    from .sources import Given

    given = answers.get("model_package_arn")
    if given is None or package_arn_error(str(given.value)):
        return answers  # a malformed ARN is reported with the other answers
    others = [key for key in ("model_file", "model_data") if key in answers]
    if others:
        flags = " or ".join(f"--{key.replace('_', '-')}" for key in others)
        message = f"give either --model-package-arn or {flags}, not both"
        raise InvalidAnswers([FieldError("model_package_arn", message, given.value, given.source)])
    package = describe(str(given.value))
    out().print(f"model package {package.arn}: model data {package.model_data_url} (its image: {package.image})",
              highlight=False, markup=False, soft_wrap=True)  # fmt: skip
    return {**answers, "model_data": Given(package.model_data_url, f"{given.source}'s ModelDataUrl")}


@main.command()
def schema() -> None:
    """Print the JSON Schema of mcc.yaml / --config files: each setting's description, flag, variable, allowed
    values and default."""
    import json

    from .answer_docs import documented_schema
    from .catalog import load_catalog

    out().print_json(json.dumps(documented_schema(load_catalog())))


@main.command("catalog")
@click.argument(
    "table",
    type=click.Choice(["frameworks", "servers", "engines", "models", "instances", "regions"]),
    default="frameworks",
)
def catalog_command(table: str) -> None:
    """List what the catalog offers."""
    from .catalog import load_catalog
    from .catalog_tables import catalog_table

    out().print(catalog_table(load_catalog(), table))


@main.command()
@click.argument("project", type=click.Path(exists=True, file_okay=False), default=".")
@click.option("--strict", is_flag=True, help="Fail when hadolint or shellcheck is not installed")
def check(project: str, strict: bool) -> None:
    """Static checks of a generated project: Dockerfile, shell scripts, secrets (no Docker needed)."""
    from .checks import NOT_RUN, check_project

    if not (Path(project) / "mcc.yaml").is_file():
        err().print(f"[bold red]error:[/] {project} has no mcc.yaml: it was not generated by mcc "
                    "(or not at its top)", highlight=False)  # fmt: skip
        sys.exit(2)
    findings = check_project(Path(project), require_linters=strict)
    for finding in findings:
        (err() if finding.severity == "error" else out()).print(str(finding), markup=False)
    errors = [f for f in findings if f.severity == "error"]
    skipped = [f.check for f in findings if f.severity == NOT_RUN]
    not_run = f"; not run: {', '.join(skipped)} (install it, or --strict to require it)" if skipped else ""
    if errors:
        err().print(f"[red]{len(errors)} problem(s)[/]{not_run}", highlight=False)
        sys.exit(1)
    passed = "the checks that ran passed" if skipped else "all checks passed"
    out().print(f"[green]{passed}[/]{not_run}", highlight=False)


@main.command(cls=AnswersCommand)
@click.argument("project", type=click.Path(exists=True, file_okay=False), default=".")
@click.option("--dry-run", is_flag=True, help="Print what would change, and the diffs; write nothing")
@click.option("--yes", "-y", is_flag=True, help="Never prompt; answers the new mcc asks for take their defaults")
@click.option("--no-model-check", "no_model_check", is_flag=True, envvar="MCC_NO_MODEL_CHECK",
              help="Do not load the model in the image's environment (see mcc new --help)")  # fmt: skip
@_answer_options
def upgrade(project: str, dry_run: bool, yes: bool, no_model_check: bool, **params: Any) -> None:
    """Bring a generated project up to this mcc, keeping your edits (three-way merge with the recorded base).
    Answers: flags > the project's mcc.yaml > MCC_* env (for answers it does not record) > defaults > prompts."""
    from .catalog import load_catalog
    from .defaults import with_defaults
    from .errors import MccError
    from .plan import plan_project
    from .prompts import Aborted, ask_missing
    from .sources import Given, from_env, from_flags, from_mapping, merge
    from .spec_check import build_spec
    from .upgrade import RECORD, apply, diff, plan_upgrade, read_record

    root, catalog, environ = Path(project), load_catalog(), dict(os.environ)
    try:
        recorded = from_mapping(read_record(root), f"{root / RECORD}", root.resolve())
        answers = merge(from_flags({**params, "output_dir": None}), recorded, from_env(environ))
        answers["output_dir"] = Given(str(root), "mcc upgrade")
        if not yes and sys.stdin.isatty():
            answers = ask_missing(answers, catalog, environ, True)
        spec = build_spec(with_defaults(answers, catalog, environ), catalog, force=True)
        report = checked_model(spec, catalog, None, skip=no_model_check)
        with err().status("Re-rendering the project…"):
            steps = plan_upgrade(root, plan_project(spec, catalog, report=report))
    except (Aborted, MccError) as exc:
        _exit_on(exc, answers if "answers" in locals() else {})
    for step in steps:
        note = f"  ({step.note})" if step.note else ""
        out().print(f"{step.action:9} {step.path}{note}", highlight=False, markup=False, soft_wrap=True)
    if dry_run:
        for step in steps:
            out().print(diff(root, step), end="", highlight=False, markup=False, soft_wrap=True)
        out().print(f"dry run: {len(steps)} file(s) would change; nothing was written", highlight=False)
        return
    apply(root, steps)
    conflicts = [s.path for s in steps if s.action == "conflict"]
    if conflicts:
        err().print(f"[red]{len(conflicts)} file(s) with conflicts[/] (resolve the <<<<<<< markers): "
                  f"{', '.join(conflicts)}", highlight=False)  # fmt: skip
        sys.exit(1)
    out().print(f"[green]upgraded[/] {root} to mcc {__version__} ({len(steps)} file(s) changed)", highlight=False)


def _exit_on(
    exc: Aborted | MccError,
    answers: Answers | None = None,
    nothing_written: bool = False,
    session: Answers | None = None,
) -> NoReturn:
    """End the command: an answer refused or the prompts aborted; nothing was written (said after every error
    when ``nothing_written``). Errors raised after the answers were read (the model check's) are told where each
    answer came from. The decision tree's answers (``session``) are kept for the next run."""
    from .errors import InvalidAnswers
    from .prompts import Aborted

    if isinstance(exc, Aborted):
        err().print("[yellow]Aborted; nothing was written.[/]")
        _keep_session(session)
        sys.exit(130)
    if isinstance(exc, InvalidAnswers) and answers:
        exc.errors = [e if e.source or e.field not in answers else replace(e, source=answers[e.field].source)
                      for e in exc.errors]  # fmt: skip
    _report(exc)
    if nothing_written and not isinstance(exc, InvalidAnswers):
        err().print("Nothing was written.")
    _keep_session(session)
    sys.exit(exc.exit_code)


def _report(exc: MccError, final: bool = True) -> None:
    from rich.text import Text

    from .errors import InvalidAnswers

    if isinstance(exc, InvalidAnswers):
        err().print(f"[bold red]error:[/] {exc.heading}")
        for error in exc.errors:
            err().print(f"  - {error}", markup=False, highlight=False)
        if final:
            err().print("Nothing was written.")
    else:
        err().print(Text.assemble(("error:", "bold red"), f" {exc}"), highlight=False)  # the message as written


def _summarize(spec: ProjectSpec, written: Written, count: int, warnings: list[str]) -> None:
    try:
        shown = written.target.relative_to(Path.cwd())
    except ValueError:
        shown = written.target
    gen = spec.generation
    served = (
        f"{gen.source} ({gen.task}) on the {gen.engine} engine"
        if gen
        else f"{spec.model.framework} model, {spec.serving.web_server} behind nginx"
    )
    out().print(
        f"[green]Created[/] {shown}/ ({count} files): {served}, {spec.deployment.accelerator.upper()} image, "
        f"{spec.deployment.instance_type} in {spec.deployment.region}"
    )
    for warning in warnings:
        out().print(f"[yellow]warning:[/] {warning}", highlight=False)
    for path in written.kept:
        out().print(f"[yellow]kept your {path}[/] (delete it and rerun to get the generated one)")
    if not gen and not spec.model.sample_payload and not spec.model.sample:
        missing = ("do/test and the project's tests need one: pass --sample-payload FILE, or set "
                   "model.sample_payload in mcc.yaml and run mcc upgrade")  # fmt: skip
        out().print(f"[yellow]no sample payload:[/] {missing}")
    out().print("\nNext steps:", highlight=False)
    local = not gen or spec.deployment.accelerator == "cpu"
    steps = (
        [
            "python3 -m venv .venv && .venv/bin/pip install -r requirements-dev.txt",
            "do/run --local        # says 'ready at http://127.0.0.1:8080' (another port: LOCAL_PORT=8081)",
            "do/test               # in another terminal",
            "do/deploy --dry-run   # what deploying would send to AWS, and its hourly cost",
        ]
        if local
        else [
            "do/deploy --dry-run   # what deploying would send to AWS, and its hourly cost",
            "do/build && do/push && do/deploy   # the engine needs the instance's "
            + ("NeuronCores" if spec.deployment.accelerator == "neuron" else "GPUs"),
            "do/test --endpoint",
        ]
    )
    for line in (f"cd {shown}", *steps):
        out().print(f"  {line}", highlight=False, markup=False, soft_wrap=True)  # commands are not wrapped
