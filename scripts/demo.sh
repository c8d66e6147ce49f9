#!/usr/bin/env bash
# The demo: mcc installed as a user installs it (this checkout, with the [sample] extra, in its own
# environment), the sample scikit-learn project generated, served on this machine behind nginx, one request.
# Only what the demo needs is installed (no test or framework packages): uv installs it, from its cache after
# the first run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROJECT="$ROOT/build/demo-model"
VENV="$ROOT/build/demo-venv"
PORT="${DEMO_PORT:-8080}"
started=$SECONDS

echo "== installing mcc (with its [sample] extra) into $VENV"
if [[ ! -x "$VENV/bin/uv" ]]; then
    "${PYTHON:-python3}" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check uv
fi
"$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" "${ROOT}[sample]"

"$VENV/bin/mcc" new --yes --force --project-name demo-model --sample-model --output-dir "$PROJECT"

echo "== installing the project's pinned requirements into $PROJECT/.venv"
[[ -x "$PROJECT/.venv/bin/python" ]] || "$VENV/bin/uv" venv --quiet --python "$VENV/bin/python" "$PROJECT/.venv"
"$VENV/bin/uv" pip install --quiet --python "$PROJECT/.venv/bin/python" -r "$PROJECT/requirements.txt"

echo "== do/run --local (nginx + the model server on 127.0.0.1:$PORT; log in $PROJECT/serve.log)"
export PYTHON="$PROJECT/.venv/bin/python" LOCAL_PORT="$PORT"  # what do/ runs with
"$PROJECT/do/run" --local >"$PROJECT/serve.log" 2>&1 &
server=$!
trap 'kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT

echo "== do/test: POST samples/payload.csv to /invocations"
cat "$PROJECT/samples/payload.csv"
"$PROJECT/do/test"
echo "== the demo took $((SECONDS - started)) s"
