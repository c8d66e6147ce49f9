"""``do/logs``: print (and follow) the endpoint's CloudWatch logs."""

from __future__ import annotations

import datetime as dt
import sys
import time

from botocore.exceptions import ClientError

from .aws import Aws, is_missing
from .names import endpoint_log_group, inference_component_log_group


def print_logs(aws: Aws, since_min: float, follow: bool, out=sys.stdout, poll: float = 5.0) -> int:
    """Print events newer than ``since_min`` minutes; with ``follow`` keep polling until interrupted."""
    settings = aws.settings
    if settings.deploy_mode == "inference-component":
        group = inference_component_log_group(settings.inference_component)
    else:
        group = endpoint_log_group(settings.endpoint)
    logs = aws.client("logs")
    start_ms = int((dt.datetime.now(dt.UTC).timestamp() - since_min * 60) * 1000)
    seen: set[str] = set()
    while True:
        try:
            pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group, startTime=start_ms)
            events = [event for page in pages for event in page.get("events", [])]
        except ClientError as exc:
            if not is_missing(exc):
                raise
            print(f"no log group {group} yet: the endpoint has not started a container", file=sys.stderr)
            events = []
        for event in sorted(events, key=lambda e: (e["timestamp"], e.get("eventId", ""))):
            if event.get("eventId") in seen:
                continue
            seen.add(event.get("eventId"))
            start_ms = max(start_ms, event["timestamp"])
            stamp = dt.datetime.fromtimestamp(event["timestamp"] / 1000, dt.UTC).strftime("%H:%M:%S")
            print(f"{stamp} {event.get('logStreamName', '')}: {event['message'].rstrip()}", file=out, flush=True)
        if not follow:
            return 0
        time.sleep(poll)
