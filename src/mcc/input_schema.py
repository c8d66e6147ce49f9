"""The project's schema where the model check is skipped (--no-model-check): only what the answers tell.

The declared names (--feature-names), else a CSV sample's header, each column's kind a guess; the server reads the
model's own columns when it starts and refuses a project that contradicts them. Everything else about the
schema is learned in the image's environment (``model_check``, ``mcc_runtime.schema_sources``).
"""

from __future__ import annotations

from pathlib import Path

from mcc_runtime.schema import Column, InputSchema, csv_header


def unchecked_schema(declared: tuple[str, ...], sample_payload: Path | None) -> InputSchema:
    names = declared
    if not names and sample_payload and sample_payload.suffix.lower() == ".csv" and sample_payload.is_file():
        names = csv_header(sample_payload.read_bytes())
    columns = tuple(Column(name, certain=False) for name in names)
    return InputSchema(columns, source=("declared" if declared else "sample") if columns else "")
