"""``python -m mcc_lifecycle ACTION``: what the do/ scripts call for everything that talks to AWS."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from . import (
    benchmark,
    clean,
    codebuild,
    deploy,
    deploy_plan,
    ecr,
    hyperpod,
    iam,
    inference_components,
    invoke,
    logs,
    model_data,
    registry,
    rules,
    status,
)
from .aws import Aws
from .settings import Settings, SettingsError
from .waiting import DeployFailed

VALIDATED_AS = {
    "ecr-repository": "push",
    "ecr-password": "push",
    "test-endpoint": "test",
    "benchmark": "test",
    "adapter": "test",
    "status": "test",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mcc_lifecycle", description=__doc__.splitlines()[0])
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("export", help="print the resolved settings as JSON")
    actions.add_parser("check", help="validate the settings for every action, call nothing")
    actions.add_parser("ecr-repository", help="create the ECR repository if missing; print its URI")
    actions.add_parser("ecr-password", help="print the registry password for docker login --password-stdin")
    submit = actions.add_parser("submit", help="build and push on AWS CodeBuild")
    submit.add_argument("--root", type=Path, required=True)
    submit.add_argument("--tag", required=True)
    deploy_parser = actions.add_parser("deploy", help="deploy in DEPLOY_MODE and wait")
    deploy_parser.add_argument("--dry-run", action="store_true", help="print the requests and the cost; send none")
    deploy_parser.add_argument("--instance-table", type=Path, help="do/lib/instance-types.json (prices)")
    deploy_parser.add_argument("--root", type=Path, default=Path("."), help="the project (hyperpod: k8s/)")
    actions.add_parser("register", help="record the pushed image (+ MODEL_DATA_URL) in the Model Registry")
    package = actions.add_parser("package", help="pack model/ as model.tar.gz; --upload puts it in S3")
    package.add_argument("--root", type=Path, required=True)
    package.add_argument("--upload", action="store_true", help="to MODEL_DATA_URL, or the project's bucket")
    test = actions.add_parser("test-endpoint", help="invoke the endpoint with a payload and check the answer")
    test.add_argument("--payload", type=Path, required=True)
    test.add_argument("--wait", type=float, default=300.0, help="seconds to wait for an async result")
    test.add_argument("--task", choices=["chat", "embedding"], help="a generative model's request kind")
    test.add_argument("--adapter", help="invoke this LoRA adapter's inference component instead")
    test.add_argument("--expected", type=Path, help="the JSON answer the payload must get (samples/expected.json)")
    adapter = actions.add_parser("adapter", help="LoRA adapters as inference components: add, list, remove")
    adapter.add_argument("--root", type=Path, required=True)
    adapter.add_argument("adapter_action", choices=["add", "list", "remove"])
    adapter.add_argument("name", nargs="?")
    adapter.add_argument("artifact_url", nargs="?", help="add: s3://…/adapter.tar.gz")
    bench = actions.add_parser("benchmark", help="sweep concurrencies against a server (--url) or the endpoint")
    bench.add_argument("--url", help="a running server; default: the deployed endpoint")
    bench.add_argument("--payload", type=Path, required=True)
    bench.add_argument("--chat", action="store_true", help="a chat model: stream, measure TTFT and tokens")
    bench.add_argument("--concurrency", type=_concurrencies, default=[1, 4, 16, 64])
    bench.add_argument("--requests", type=int, default=200, help="answers per concurrency level")
    bench.add_argument("--out", type=Path, required=True, help="directory for the JSON and CSV results")
    bench.add_argument("--instance-table", type=Path, required=True, help="do/lib/instance-types.json")
    compare = actions.add_parser("benchmark-compare", help="saved benchmark runs side by side, with cost")
    compare.add_argument("runs", type=Path, nargs="+")
    status_parser = actions.add_parser("status", help="the endpoint, its instances, this project's IC and adapters")
    status_parser.add_argument("--root", type=Path, default=Path("."))
    log = actions.add_parser("logs", help="print the endpoint's CloudWatch logs (hyperpod: its pods' logs)")
    log.add_argument("--root", type=Path, default=Path("."))
    log.add_argument("--since", type=float, default=30.0, help="minutes back to start (default 30)")
    log.add_argument("--no-follow", action="store_true")
    remove = actions.add_parser("clean", help="delete what this project created")
    remove.add_argument("target", choices=[*clean.TARGETS, "all"])
    remove.add_argument("--root", type=Path, default=Path("."))
    actions.add_parser("bootstrap", help="create the SageMaker and CodeBuild roles and the ECR repository")
    return parser


def _concurrencies(text: str) -> list[int]:
    """``1,4,16`` -> [1, 4, 16]: whole numbers from 1 to 1024."""
    try:
        levels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of whole numbers") from None
    if not levels or not all(1 <= level <= 1024 for level in levels):
        raise argparse.ArgumentTypeError(f"{text!r}: each concurrency must be 1 to 1024")
    return levels


def _adapter(aws: Aws, args: argparse.Namespace) -> int:
    """do/adapter: check the request against the project (its engine, LoRA, the names) before any call."""
    if args.adapter_action != "list" and not args.name:
        raise ValueError(f"do/adapter {args.adapter_action} needs the adapter's NAME")
    if args.adapter_action == "add" and not args.artifact_url:
        raise ValueError("do/adapter add needs NAME and S3_URI (s3://…/adapter.tar.gz)")
    serving_file = args.root / "code" / "serving.json"
    serving = json.loads(serving_file.read_text()) if serving_file.exists() else {}
    url = args.artifact_url if args.adapter_action == "add" else None
    errors = inference_components.adapter_errors(aws.settings, serving, args.name or "adapter", url)
    if errors:
        print("cannot manage adapters here; nothing was called:", file=sys.stderr)
        for error in errors:
            print(f"  - {error}", file=sys.stderr)
        return 2
    return inference_components.adapter_action(aws, args.adapter_action, args.name, args.artifact_url)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        errors = rules.settings_errors(settings, VALIDATED_AS.get(args.action, args.action))
        if getattr(args, "dry_run", False) and not settings.role_arn:  # shown as not set; the rest still checked
            errors = [e for e in errors if not e.startswith("ROLE_ARN must be set")]
        if args.action == "check":
            errors = sorted(
                {e for action in ("push", "submit", "deploy") for e in rules.settings_errors(settings, action)}
            )
        if errors:
            print("invalid settings (do/config or the environment); nothing was called:", file=sys.stderr)
            for error in errors:
                print(f"  - {error}", file=sys.stderr)
            return 2
        return _run(args, settings)
    except (SettingsError, LookupError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except NoCredentialsError:
        print("error: no AWS credentials (aws configure, AWS_PROFILE or AWS_ACCESS_KEY_ID)", file=sys.stderr)
        return 1
    except ClientError as exc:
        error = exc.response.get("Error", {})
        print(f"error: AWS {exc.operation_name}: {error.get('Code')}: {error.get('Message')}", file=sys.stderr)
        return 1
    except (BotoCoreError, DeployFailed, AssertionError, TimeoutError, hyperpod.KubectlError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace, settings: Settings) -> int:
    aws = Aws(settings)
    if args.action == "export":
        derived = {
            "endpoint": settings.endpoint,
            "repository": settings.repository,
            "codebuild": settings.codebuild_name,
            "platform": settings.image_platform,
        }
        print(json.dumps({**settings.as_dict(), "derived": derived}, indent=2))
    elif args.action == "check":
        print("settings are valid", file=sys.stderr)
    elif args.action == "ecr-repository":
        print(ecr.ensure_repository(aws))
    elif args.action == "ecr-password":
        print(ecr.login_password(aws))
    elif args.action == "submit":
        ok, message = codebuild.outcome(codebuild.submit(aws, args.root, args.tag))
        print(message, file=sys.stderr)
        return 0 if ok else 1
    elif args.action == "deploy" and args.dry_run and settings.deploy_mode == hyperpod.MODE:
        deploy_plan.hyperpod_dry_run(aws, args.root, args.instance_table, sys.stdout, sys.stderr)
    elif args.action == "deploy" and args.dry_run:
        deploy_plan.dry_run(aws, args.instance_table, sys.stdout, sys.stderr)
    elif args.action == "deploy" and settings.deploy_mode == hyperpod.MODE:
        hyperpod.deploy(aws, args.root, args.instance_table, ecr.image_uri(aws))
    elif args.action == "deploy":
        deploy.deploy(aws, ecr.image_uri(aws))
    elif args.action == "register":
        arn = registry.register(aws, ecr.image_uri(aws))
        print(f"registered {arn} ({settings.model_approval_status})", file=sys.stderr)
        print(arn)
    elif args.action == "package":
        archive = model_data.pack(args.root / "model", args.root / "dist" / model_data.ARCHIVE_NAME)
        print(f"packed {archive}", file=sys.stderr)
        if args.upload and settings.deploy_mode == hyperpod.MODE:  # the operator mounts files, not an archive
            prefix = hyperpod.model_prefix(aws, args.root)
            print(f"MODEL_DATA_PREFIX={model_data.upload_files(aws, args.root / 'model', prefix)}")
        elif args.upload:
            print(f"MODEL_DATA_URL={model_data.upload(aws, archive, settings.model_data_url)}")
    elif args.action == "adapter":
        return _adapter(aws, args)
    elif args.action == "test-endpoint":
        if args.adapter:
            aws = aws.with_component(inference_components.adapter_component(settings, args.adapter))
        if args.task:
            answer = invoke.test_generative_endpoint(aws, args.payload, args.task, args.wait)
        else:
            answer = invoke.test_endpoint(aws, args.payload, args.wait, args.expected)
        print(json.dumps(answer))
        print(f"OK: endpoint {settings.endpoint} answered every row", file=sys.stderr)
    elif args.action == "benchmark":
        benchmark.command(aws, args.url, args.payload, args.chat, args.concurrency, args.requests, args.out,
                          args.instance_table)  # fmt: skip
    elif args.action == "benchmark-compare":
        print(benchmark.compare([benchmark.load(path) for path in args.runs]))
    elif args.action in ("status", "logs") and settings.deploy_mode == hyperpod.MODE:
        if args.action == "status":
            return hyperpod.print_status(aws, args.root)
        return hyperpod.print_logs(aws, args.root, args.since, follow=not args.no_follow)
    elif args.action == "status":
        return status.print_status(aws)
    elif args.action == "logs":
        return logs.print_logs(aws, args.since, follow=not args.no_follow)
    elif args.action == "clean" and settings.deploy_mode == hyperpod.MODE and args.target in ("endpoint", "all"):
        hyperpod.clean(aws, args.root)
        if args.target == "all":
            for target in clean.TARGETS[1:]:
                clean.clean(aws, target)
    elif args.action == "clean":
        clean.clean(aws, args.target)
    elif args.action == "bootstrap":
        arns = iam.bootstrap(aws)
        print(f"ECR repository: {ecr.ensure_repository(aws)}", file=sys.stderr)
        print(f"ROLE_ARN={arns['sagemaker']}")
        print(f"CODEBUILD_ROLE_ARN={arns['codebuild']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
