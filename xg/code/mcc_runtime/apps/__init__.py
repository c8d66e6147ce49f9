"""Thin web-framework adapters over :class:`mcc_runtime.service.InferenceService`."""

NOT_FOUND_MESSAGE = "not found; this server answers GET /ping and POST /invocations"
