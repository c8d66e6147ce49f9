#!/usr/bin/env bash
# Generate the sample scikit-learn project, serve it on this machine behind nginx, send one request.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROJECT="$ROOT/build/demo-model"
PORT="${DEMO_PORT:-8080}"

"$ROOT/.venv/bin/mcc" new --yes --force --project-name demo-model --sample-model --output-dir "$PROJECT"

echo "== installing the project's pinned requirements into $PROJECT/.venv"
[[ -x "$PROJECT/.venv/bin/python" ]] || "${PYTHON:-python3}" -m venv "$PROJECT/.venv"
"$PROJECT/.venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$PROJECT/requirements.txt"

echo "== do/run --local (nginx + gunicorn on port $PORT; log in $PROJECT/serve.log)"
LOCAL_PORT="$PORT" "$PROJECT/do/run" --local >"$PROJECT/serve.log" 2>&1 &
server=$!
trap 'kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT

echo "== do/test: POST samples/payload.csv to /invocations"
cat "$PROJECT/samples/payload.csv"
LOCAL_PORT="$PORT" "$PROJECT/do/test"
