"""Prometheus behind the metric store port: remote write of snapshots, PromQL over HTTP to read them back.

Works with any Prometheus that has the remote-write receiver and with Amazon Managed Prometheus (SigV4-signed
with botocore, imported lazily). The WriteRequest protobuf is encoded by hand (four small messages): generated
code would tie the layer to one protobuf runtime, and apache-beam (PyFlink) pins another. Snappy: ``cramjam``.

Each snapshot becomes, per series, two samples: 0 at the window's start and the window's count at its last
millisecond. The counter so resets every window, which keeps writes idempotent and stateless (no running totals):
``sum_over_time(x[R])`` is the exact count over any range; ``increase``/``rate`` are exact over a range that ends on
the last millisecond of a written window of the series (elsewhere Prometheus extrapolates, as for any counter);
``histogram_quantile`` works on the ``le`` buckets.
"""

from __future__ import annotations

import json
import math
import struct
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from slo_engine.models.snapshot import DEFAULT_LATENCY_BOUNDS_MS, SNAPSHOT_WINDOW_SECONDS, ServiceSnapshot
from slo_engine.ports import EdgeTotals, WriteReport
from slo_engine.slo.series import CountSeries

REQUESTS = "slo_requests_total"
ERRORS = "slo_errors_total"
LATENCY_BUCKET = "slo_request_duration_ms_bucket"
EDGE_REQUESTS = "slo_edge_requests_total"
EDGE_ERRORS = "slo_edge_errors_total"


class PrometheusError(RuntimeError):
    """Prometheus refused a write or a query; the message carries its status and answer."""


# ---- the remote-write protobuf, by hand -------------------------------------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1  # int64 as two's complement, as protobuf does
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _length_delimited(field_number: int, payload: bytes) -> bytes:
    return _varint(field_number << 3 | 2) + _varint(len(payload)) + payload


@dataclass(frozen=True)
class TimeSeries:
    """One remote-write series: labels (``__name__`` included) and (timestamp ms, value) samples."""

    labels: tuple[tuple[str, str], ...]
    samples: tuple[tuple[int, float], ...]

    def encode(self) -> bytes:
        parts = [
            _length_delimited(
                1, _length_delimited(1, name.encode()) + _length_delimited(2, value.encode())
            )  # Label {name = 1, value = 2}
            for name, value in sorted(self.labels)
        ]
        for timestamp_ms, value in self.samples:
            sample = b"\x09" + struct.pack("<d", value) + b"\x10" + _varint(timestamp_ms)  # Sample {value=1, ts=2}
            parts.append(_length_delimited(2, sample))
        return b"".join(parts)


def encode_write_request(series: Iterable[TimeSeries]) -> bytes:
    """``prometheus.WriteRequest {repeated TimeSeries timeseries = 1}``, snappy (block format) compressed."""
    import cramjam

    payload = b"".join(_length_delimited(1, s.encode()) for s in series)
    return bytes(cramjam.snappy.compress_raw(payload))


def snapshot_series(snapshot: ServiceSnapshot) -> list[TimeSeries]:
    """The series one snapshot writes (see the module docstring for the reset-per-window encoding)."""
    start_ms = snapshot.epoch_seconds * 1000
    last_ms = start_ms + snapshot.window_seconds * 1000 - 1

    def counter(name: str, value: int, **labels: str) -> TimeSeries:
        return TimeSeries((("__name__", name), *labels.items()), ((start_ms, 0.0), (last_ms, float(value))))

    service = snapshot.service
    series = [counter(REQUESTS, snapshot.requests, service=service), counter(ERRORS, snapshot.errors, service=service)]
    if snapshot.latency_ms is not None:
        running = 0
        for bound, count in zip(snapshot.latency_ms.bounds, snapshot.latency_ms.counts, strict=False):
            running += count
            series.append(counter(LATENCY_BUCKET, running, service=service, le=_le(bound)))
        series.append(counter(LATENCY_BUCKET, snapshot.latency_ms.total, service=service, le="+Inf"))
    for peer, edge in sorted(snapshot.downstream.items()):
        series.append(counter(EDGE_REQUESTS, edge.requests, service=service, peer=peer))
        series.append(counter(EDGE_ERRORS, edge.errors, service=service, peer=peer))
    return series


def _le(bound: float) -> str:
    return repr(float(bound))


# ---- HTTP ---------------------------------------------------------------------------------------------------------

Transport = Callable[[str, str, bytes | None, dict[str, str]], tuple[int, bytes]]
"""(method, url, body, headers) -> (status, body)."""


def urllib_transport(timeout: float = 30.0) -> Transport:
    def send(method: str, url: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
        request = urllib.request.Request(url, data=body, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return int(response.status), response.read()
        except urllib.error.HTTPError as error:
            return int(error.code), error.read()

    return send


def sigv4_transport(region: str, service: str = "aps", timeout: float = 30.0) -> Transport:
    """Sign each request with the Lambda's (or the user's) AWS credentials, for Amazon Managed Prometheus."""
    import botocore.session
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        raise PrometheusError("no AWS credentials found to sign requests to Amazon Managed Prometheus")
    plain = urllib_transport(timeout)

    def send(method: str, url: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
        request = AWSRequest(method=method, url=url, data=body, headers=headers)
        SigV4Auth(credentials.get_frozen_credentials(), service, region).add_auth(request)
        return plain(method, url, body, dict(request.headers.items()))

    return send


@dataclass
class RemoteWriteClient:
    """POSTs snappy-compressed WriteRequests to ``url`` (``.../api/v1/write`` or AMP's ``.../api/v1/remote_write``)."""

    url: str
    transport: Transport = field(default_factory=urllib_transport)
    max_series_per_request: int = 2000

    def write(self, series: Sequence[TimeSeries]) -> int:
        """Send every series (in chunks); returns the samples sent. Raises PrometheusError on any refusal."""
        sent = 0
        for at in range(0, len(series), self.max_series_per_request):
            chunk = series[at : at + self.max_series_per_request]
            status, body = self.transport(
                "POST",
                self.url,
                encode_write_request(chunk),
                {
                    "Content-Encoding": "snappy",
                    "Content-Type": "application/x-protobuf",
                    "X-Prometheus-Remote-Write-Version": "0.1.0",
                    "User-Agent": "slo-engine",
                },
            )
            if status >= 300:
                raise PrometheusError(
                    f"remote write to {self.url} answered {status}: {body[:300].decode(errors='replace')}"
                )
            sent += sum(len(s.samples) for s in chunk)
        return sent

    def write_snapshots(self, snapshots: Iterable[ServiceSnapshot]) -> int:
        return self.write([s for snapshot in snapshots for s in snapshot_series(snapshot)])


@dataclass
class PromQLClient:
    """The PromQL HTTP API (``/api/v1/query``, ``/api/v1/label/<name>/values``) of ``base_url``."""

    base_url: str
    transport: Transport = field(default_factory=urllib_transport)

    def _get(self, path: str, params: Mapping[str, str]) -> Any:
        url = f"{self.base_url.rstrip('/')}/{path}?{urllib.parse.urlencode(params)}"
        status, body = self.transport("GET", url, None, {"Accept": "application/json"})
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        if status != 200 or not isinstance(answer, dict) or answer.get("status") != "success":
            raise PrometheusError(f"GET {url} answered {status}: {body[:300].decode(errors='replace')}")
        return answer["data"]

    def query(self, promql: str, at_seconds: float) -> list[dict[str, Any]]:
        """An instant query evaluated at ``at_seconds``; the ``result`` list (vector or matrix)."""
        data = self._get("api/v1/query", {"query": promql, "time": f"{at_seconds:.3f}"})
        return list(data["result"])

    def scalar(self, promql: str, at_seconds: float) -> float:
        """The single value of a one-element vector query (0.0 when it is empty)."""
        result = self.query(promql, at_seconds)
        if not result:
            return 0.0
        if len(result) != 1:
            raise PrometheusError(f"{promql} returned {len(result)} series, expected one")
        return float(result[0]["value"][1])

    def label_values(self, label: str, match: str | None = None) -> list[str]:
        params = {"match[]": match} if match else {}
        return [str(v) for v in self._get(f"api/v1/label/{label}/values", params)]


QUERY_URL = "SLO_ENGINE_PROMETHEUS_QUERY_URL"
"""Base URL of the PromQL API: a Prometheus (``http://host:9090``) or an AMP workspace endpoint (SigV4-signed)."""
REMOTE_WRITE_URL = "SLO_ENGINE_PROMETHEUS_REMOTE_WRITE_URL"


def transport_for(url: str) -> Transport:
    """SigV4 for Amazon Managed Prometheus URLs (the region read from the host), plain HTTP otherwise."""
    host = urllib.parse.urlparse(url).hostname or ""
    parts = host.split(".")
    if host.endswith(".amazonaws.com") and parts[0] == "aps-workspaces" and len(parts) > 2:
        return sigv4_transport(parts[1])
    return urllib_transport()


def _promql_string(text: str) -> str:
    return json.dumps(text)


# ---- the metric store -------------------------------------------------------------------------------------------


class PrometheusMetricStore:
    """Implements ``ports.MetricStore`` over a Prometheus (or AMP) that the snapshot sink writes to.

    Reads are exact: raw samples of the last millisecond of each window (range selectors, no extrapolation),
    summed into steps of ``resolution_seconds``. ``lookback_seconds`` bounds how far back reads go.
    """

    def __init__(
        self,
        query: PromQLClient,
        writer: RemoteWriteClient | None = None,
        *,
        resolution_seconds: int = 60,
        bounds: tuple[float, ...] = DEFAULT_LATENCY_BOUNDS_MS,
        lookback_seconds: int = 35 * 86400,
        now: Callable[[], float] | None = None,
    ) -> None:
        if resolution_seconds % SNAPSHOT_WINDOW_SECONDS:
            raise ValueError(f"resolution must be a multiple of {SNAPSHOT_WINDOW_SECONDS} seconds")
        import time

        self._query = query
        self._writer = writer
        self.resolution_seconds = resolution_seconds
        self.bounds = tuple(bounds)
        self._lookback = lookback_seconds
        self._now = now or time.time

    @classmethod
    def from_env(cls, *, resolution_seconds: int = 60) -> PrometheusMetricStore | None:
        """The store behind ``SLO_ENGINE_PROMETHEUS_QUERY_URL`` (and the remote-write URL if set); None if unset."""
        import os

        query_url = os.environ.get(QUERY_URL, "").strip()
        if not query_url:
            return None
        write_url = os.environ.get(REMOTE_WRITE_URL, "").strip()
        writer = RemoteWriteClient(write_url, transport_for(write_url)) if write_url else None
        return cls(PromQLClient(query_url, transport_for(query_url)), writer, resolution_seconds=resolution_seconds)

    def write_snapshots(self, snapshots: Iterable[ServiceSnapshot]) -> WriteReport:
        if self._writer is None:
            raise PrometheusError("this store was built without a remote-write client")
        batch = list(snapshots)
        report = WriteReport()
        for snapshot in batch:
            if snapshot.latency_ms is not None and list(snapshot.latency_ms.bounds) != list(self.bounds):
                report.rejected.append(
                    f"{snapshot.service} {snapshot.window_start.isoformat()}: latency bounds "
                    f"{snapshot.latency_ms.bounds} differ from the store's {list(self.bounds)}"
                )
        accepted = [s for s in batch if s.latency_ms is None or list(s.latency_ms.bounds) == list(self.bounds)]
        self._writer.write_snapshots(accepted)
        report.written = len(accepted)
        return report

    def _window_samples(
        self, selector: str, at: float, span: int
    ) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
        """Raw (timestamp s, value) samples of ``selector`` over ``span`` seconds up to ``at``: window ends only."""
        found = []
        for item in self._query.query(f"{selector}[{span}s]", at):
            samples = [
                (float(t), float(v)) for t, v in item["values"] if round(float(t) * 1000) % 1000 == 999
            ]  # the window's last millisecond carries its count; its start carries 0
            found.append((dict(item["metric"]), samples))
        return found

    def _span(self, start: int | None, end: int | None) -> tuple[float, int]:
        at = float(end) if end is not None else self._now()
        first = float(start) if start is not None else at - self._lookback
        return at, max(1, int(np.ceil(at - first)))

    def services(self) -> list[str]:
        return sorted(self._query.label_values("service", match=REQUESTS))

    def series(self, service: str, start: int | None = None, end: int | None = None) -> CountSeries:
        at, span = self._span(start, end)
        label = f"{{service={_promql_string(service)}}}"
        step = self.resolution_seconds
        columns: dict[str, dict[int, float]] = defaultdict(dict)
        for name, key in ((REQUESTS, "requests"), (ERRORS, "errors")):
            for _, samples in self._window_samples(f"{name}{label}", at, span):
                for t, v in samples:
                    slot = int(t) // step * step
                    columns[key][slot] = columns[key].get(slot, 0.0) + v
        cumulative: dict[str, dict[int, float]] = defaultdict(dict)
        for metric, samples in self._window_samples(f"{LATENCY_BUCKET}{label}", at, span):
            le = metric.get("le", "")
            for t, v in samples:
                slot = int(t) // step * step
                cumulative[le][slot] = cumulative[le].get(slot, 0.0) + v
        slots = sorted(set(columns["requests"]) | set(columns["errors"]))
        if not slots:
            origin = (start if start is not None else int(at)) // step * step
            return CountSeries.empty(origin, step, 0, self.bounds)
        first, last = slots[0], slots[-1]
        n = (last - first) // step + 1
        index = {slot: (slot - first) // step for slot in slots}
        requests = np.zeros(n, dtype=np.int64)
        errors = np.zeros(n, dtype=np.int64)
        for slot, value in columns["requests"].items():
            requests[index[slot]] = round(value)
        for slot, value in columns["errors"].items():
            errors[index[slot]] = round(value)
        latency = np.zeros((n, len(self.bounds) + 1), dtype=np.int64)
        below = np.zeros(n, dtype=np.int64)
        for i, bound in enumerate(self.bounds):
            upto = np.zeros(n, dtype=np.int64)
            for slot, value in cumulative.get(_le(bound), {}).items():
                if slot in index:
                    upto[index[slot]] = round(value)
            latency[:, i] = upto - below
            below = upto
        total = np.zeros(n, dtype=np.int64)
        for slot, value in cumulative.get("+Inf", {}).items():
            if slot in index:
                total[index[slot]] = round(value)
        latency[:, -1] = total - below
        return CountSeries(
            start=first, step=step, requests=requests, errors=errors, latency_counts=latency, bounds=self.bounds
        )

    def totals(self, service: str) -> tuple[int, int]:
        history = self.series(service)
        return int(history.requests.sum()), int(history.errors.sum())

    def edges(self, service: str) -> list[EdgeTotals]:
        at, span = self._span(None, None)
        sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        seen: dict[tuple[str, str], float] = {}
        for column, name in ((0, EDGE_REQUESTS), (1, EDGE_ERRORS)):
            for direction, selector in (
                ("downstream", f"{name}{{service={_promql_string(service)}}}"),
                ("upstream", f"{name}{{peer={_promql_string(service)}}}"),
            ):
                for metric, samples in self._window_samples(selector, at, span):
                    peer = metric["peer"] if direction == "downstream" else metric["service"]
                    sums[(peer, direction)][column] += round(sum(v for _, v in samples))
                    if column == 0:
                        times = [t for t, v in samples if v > 0]
                        if times:
                            seen[(peer, direction)] = max(seen.get((peer, direction), times[0]), max(times))
        return [
            EdgeTotals(service, peer, direction, requests, errors, _moment(seen.get((peer, direction))))
            for (peer, direction), (requests, errors) in sorted(sums.items())
        ]


def _moment(epoch_seconds: float | None) -> datetime | None:
    """The end of the window whose count sits at ``epoch_seconds`` (its last millisecond; windows end on seconds)."""
    return None if epoch_seconds is None else datetime.fromtimestamp(math.ceil(epoch_seconds), tz=UTC)
