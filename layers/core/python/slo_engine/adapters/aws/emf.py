"""CloudWatch Embedded Metric Format (EMF) lines: a JSON log line that CloudWatch turns into metrics, with no API
call and no extra dependency. Used for model token usage, so that it is totalled per model and operation across
every Lambda container (and findable per run with Logs Insights on ``execution``)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

NAMESPACE = "SloEngine"


def token_usage_line(usage: dict[str, Any], now_ms: int | None = None) -> str:
    """One EMF line: ``ModelInputTokens``, ``ModelOutputTokens`` and ``ModelCalls`` by (Model, Operation)."""
    return json.dumps(
        {
            "_aws": {
                "Timestamp": int(time.time() * 1000) if now_ms is None else now_ms,
                "CloudWatchMetrics": [
                    {
                        "Namespace": NAMESPACE,
                        "Dimensions": [["Model", "Operation"]],
                        "Metrics": [
                            {"Name": "ModelInputTokens", "Unit": "Count"},
                            {"Name": "ModelOutputTokens", "Unit": "Count"},
                            {"Name": "ModelCalls", "Unit": "Count"},
                        ],
                    }
                ],
            },
            "Model": usage["model"],
            "Operation": usage["operation"],
            "ModelInputTokens": usage["input_tokens"],
            "ModelOutputTokens": usage["output_tokens"],
            "ModelCalls": 1,
            "execution": usage["execution"],
        },
        separators=(",", ":"),
    )


def token_usage_sink(stream: TextIO | None = None) -> Callable[[dict[str, Any]], None]:
    """A ``BedrockReasoner.usage_sink`` that writes EMF lines to stdout (what Lambda sends to CloudWatch Logs)."""

    def write(usage: dict[str, Any]) -> None:
        out = stream or sys.stdout
        out.write(token_usage_line(usage) + "\n")
        out.flush()

    return write


def usage_sink_from_env() -> Callable[[dict[str, Any]], None] | None:
    """The EMF sink inside Lambda (``AWS_LAMBDA_FUNCTION_NAME`` set); None elsewhere (the ledger still counts)."""
    import os

    return token_usage_sink() if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") else None
