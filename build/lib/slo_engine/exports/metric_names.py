"""The Prometheus metric names the exports query (one place; override to match your instrumentation)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class MetricNames(BaseModel):
    requests: str = Field(default="slo_engine_requests_total", description="counter of valid requests")
    errors: str = Field(default="slo_engine_errors_total", description="counter of failed requests")
    latency_bucket: str = Field(
        default="slo_engine_request_duration_milliseconds_bucket", description="cumulative histogram, le in ms"
    )
    service_label: str = "service"

    def selector(self, service: str) -> str:
        escaped = service.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.service_label}="{escaped}"'

    def good_and_total(self, service: str, sli: str, threshold_ms: float | None, window: str) -> tuple[str, str]:
        """PromQL for (good, total) rates over ``window``; availability good = total - errors."""
        sel = self.selector(service)
        if sli == "latency":
            if threshold_ms is None:
                raise ValueError(f"latency SLO of {service} has no threshold_ms")
            good = f'sum(rate({self.latency_bucket}{{{sel},le="{threshold_ms:g}"}}[{window}]))'
            total = f'sum(rate({self.latency_bucket}{{{sel},le="+Inf"}}[{window}]))'
            return good, total
        total = f"sum(rate({self.requests}{{{sel}}}[{window}]))"
        good = f"({total} - sum(rate({self.errors}{{{sel}}}[{window}])))"
        return good, total
