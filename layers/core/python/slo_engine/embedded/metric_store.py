"""The embedded metric store: service history as columnar day blocks in one SQLite file.

Each (service, UTC day) is one row holding a compressed counts matrix (requests, errors and the
latency buckets for every step of the day) plus a bitmap of the 10-second slots already written,
so replaying a snapshot changes no count. Snapshots are rolled up to the store's resolution on
write (an exact sum of counts). The AWS counterpart is Amazon Managed Prometheus plus the S3
snapshot store.
"""

from __future__ import annotations

import sqlite3
import threading
import zlib
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from slo_engine.models.snapshot import DEFAULT_LATENCY_BOUNDS_MS, SNAPSHOT_WINDOW_SECONDS, ServiceSnapshot
from slo_engine.ports import EdgeTotals, WriteReport
from slo_engine.slo.series import CountSeries

DAY = 86400
_SLOT = SNAPSHOT_WINDOW_SECONDS
_SLOTS_PER_DAY = DAY // _SLOT
_DTYPES = {"H": np.uint16, "I": np.uint32, "q": np.int64}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (
    service TEXT NOT NULL, day INTEGER NOT NULL, data BLOB NOT NULL, filled BLOB NOT NULL,
    requests INTEGER NOT NULL, errors INTEGER NOT NULL,
    PRIMARY KEY (service, day)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS edges (
    service TEXT NOT NULL, peer TEXT NOT NULL, direction TEXT NOT NULL, day INTEGER NOT NULL,
    requests INTEGER NOT NULL, errors INTEGER NOT NULL,
    PRIMARY KEY (service, peer, direction, day)
) WITHOUT ROWID;
"""


class MetricStoreError(ValueError):
    """The store cannot take this input as it is (resolution, bounds, alignment)."""


def _encode(block: np.ndarray, level: int) -> bytes:
    """One byte for the integer width (upper case: zlib-compressed, lower case: raw), then the counts."""
    peak = int(block.max(initial=0))
    code = "H" if peak < 2**16 else "I" if peak < 2**32 else "q"
    raw = np.ascontiguousarray(block, dtype=_DTYPES[code]).tobytes()
    if level <= 0:
        return code.lower().encode() + raw
    return code.encode() + zlib.compress(raw, level)


def _decode(blob: bytes, shape: tuple[int, int]) -> np.ndarray:
    code = chr(blob[0])
    payload = blob[1:] if code.islower() else zlib.decompress(blob[1:])
    return np.frombuffer(payload, dtype=_DTYPES[code.upper()]).reshape(shape).astype(np.int64)


class SqliteMetricStore:
    """Implements ``ports.MetricStore`` over one SQLite file (or memory).

    ``compress_level`` 0 (the default) stores counts raw, about 27 bytes per one-minute row, and reads fastest;
    1-9 zlib-compresses each day block (about half the size, about 30% slower to read). Both read back alike.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        resolution_seconds: int = 60,
        bounds: tuple[float, ...] = DEFAULT_LATENCY_BOUNDS_MS,
        compress_level: int = 0,
    ) -> None:
        if resolution_seconds % _SLOT or DAY % resolution_seconds:
            raise MetricStoreError(
                f"resolution {resolution_seconds}s must be a multiple of {_SLOT}s that divides a day"
            )
        self._lock = threading.RLock()
        target = ":memory:" if path is None else str(path)
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        stored = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        if stored:
            resolution_seconds = int(stored["resolution_seconds"])
            bounds = tuple(float(b) for b in stored["bounds"].split(","))
        else:
            self._db.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [("resolution_seconds", str(resolution_seconds)), ("bounds", ",".join(repr(b) for b in bounds))],
            )
        self.resolution_seconds = resolution_seconds
        self.bounds = tuple(bounds)
        self._steps_per_day = DAY // resolution_seconds
        self._columns = 2 + len(self.bounds) + 1
        self._level = compress_level

    # -- writing ---------------------------------------------------------------------------------

    def write_snapshots(self, snapshots: Iterable[ServiceSnapshot]) -> WriteReport:
        """Add snapshots; a window already written (any 10-second slot of it) counts as a duplicate."""
        report = WriteReport()
        by_block: dict[tuple[str, int], list[ServiceSnapshot]] = defaultdict(list)
        for snap in snapshots:
            problem = self._check(snap)
            if problem:
                report.rejected.append(f"{snap.service} {snap.window_start.isoformat()}: {problem}")
                continue
            by_block[(snap.service, snap.epoch_seconds // DAY)].append(snap)
        with self._lock:
            self._db.execute("BEGIN")
            try:
                for (service, day), snaps in by_block.items():
                    self._merge_block(service, day, snaps, report)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return report

    def _check(self, snap: ServiceSnapshot) -> str | None:
        if snap.window_seconds % _SLOT:
            return f"window_seconds {snap.window_seconds} is not a multiple of {_SLOT}"
        if snap.window_seconds > self.resolution_seconds or self.resolution_seconds % snap.window_seconds:
            return (
                f"window_seconds {snap.window_seconds} does not fit the store's {self.resolution_seconds}-second "
                "steps (use a store resolution that is a multiple of every window)"
            )
        if snap.latency_ms is not None and not set(self.bounds) <= set(snap.latency_ms.bounds):
            return f"latency bounds {snap.latency_ms.bounds} do not include the store's bounds {list(self.bounds)}"
        return None

    def _latency_row(self, snap: ServiceSnapshot) -> np.ndarray:
        row = np.zeros(len(self.bounds) + 1, dtype=np.int64)
        if snap.latency_ms is None:
            return row
        # Exact coarsening: each source bucket lands in the first store bucket whose bound covers it.
        src_upper = np.asarray([*snap.latency_ms.bounds, np.inf])
        idx = np.searchsorted(np.asarray(self.bounds), src_upper, side="left")
        np.add.at(row, idx, np.asarray(snap.latency_ms.counts, dtype=np.int64))
        return row

    def _load_block(self, service: str, day: int) -> tuple[np.ndarray, np.ndarray]:
        found = self._db.execute("SELECT data, filled FROM blocks WHERE service=? AND day=?", (service, day)).fetchone()
        if found is None:
            return (
                np.zeros((self._steps_per_day, self._columns), dtype=np.int64),
                np.zeros(_SLOTS_PER_DAY, dtype=bool),
            )
        data = _decode(found[0], (self._steps_per_day, self._columns))
        filled = np.unpackbits(np.frombuffer(found[1], dtype=np.uint8), count=_SLOTS_PER_DAY).astype(bool)
        return data, filled

    def _save_block(self, service: str, day: int, data: np.ndarray, filled: np.ndarray) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO blocks VALUES (?, ?, ?, ?, ?, ?)",
            (
                service,
                day,
                _encode(data, self._level),
                np.packbits(filled).tobytes(),
                int(data[:, 0].sum()),
                int(data[:, 1].sum()),
            ),
        )

    def _merge_block(self, service: str, day: int, snaps: list[ServiceSnapshot], report: WriteReport) -> None:
        data, filled = self._load_block(service, day)
        edge_rows: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for snap in snaps:
            offset = snap.epoch_seconds - day * DAY
            first = offset // _SLOT
            slots = slice(first, first + snap.window_seconds // _SLOT)
            if filled[slots].any():
                report.duplicates += 1
                continue
            filled[slots] = True
            step = offset // self.resolution_seconds
            data[step, 0] += snap.requests
            data[step, 1] += snap.errors
            data[step, 2:] += self._latency_row(snap)
            for direction, peers in (("downstream", snap.downstream), ("upstream", snap.upstream)):
                for peer, counts in peers.items():
                    acc = edge_rows[(peer, direction)]
                    acc[0] += counts.requests
                    acc[1] += counts.errors
            report.written += 1
        self._save_block(service, day, data, filled)
        self._add_edges(service, day, edge_rows)

    def _add_edges(self, service: str, day: int, rows: dict[tuple[str, str], list[int]]) -> None:
        self._db.executemany(
            "INSERT INTO edges VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(service, peer, direction, day) "
            "DO UPDATE SET requests = requests + excluded.requests, errors = errors + excluded.errors",
            [(service, peer, direction, day, req, err) for (peer, direction), (req, err) in rows.items()],
        )

    def write_series(self, service: str, series: CountSeries) -> int:
        """Bulk-load a dense series (its steps must divide the store's resolution); returns days written.

        Used to load history in bulk (the synthetic fleet, benchmarks, imports). Days already present
        are replaced, not added to.
        """
        if tuple(series.bounds) != self.bounds:
            raise MetricStoreError("bulk series must use the store's latency bounds")
        if series.start % DAY:
            raise MetricStoreError("bulk series must start at a UTC day boundary")
        rolled = series.rollup(self.resolution_seconds)
        matrix = np.column_stack([rolled.requests, rolled.errors, rolled.latency_counts])
        days = -(-len(rolled) // self._steps_per_day)
        pad = days * self._steps_per_day - len(rolled)
        if pad:
            matrix = np.vstack([matrix, np.zeros((pad, self._columns), dtype=np.int64)])
        first_day = rolled.start // DAY
        filled = np.ones(_SLOTS_PER_DAY, dtype=bool)
        packed = np.packbits(filled).tobytes()
        rows = [
            (
                service,
                first_day + d,
                _encode(matrix[d * self._steps_per_day : (d + 1) * self._steps_per_day], self._level),
                packed,
                int(matrix[d * self._steps_per_day : (d + 1) * self._steps_per_day, 0].sum()),
                int(matrix[d * self._steps_per_day : (d + 1) * self._steps_per_day, 1].sum()),
            )
            for d in range(days)
        ]
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO blocks VALUES (?, ?, ?, ?, ?, ?)", rows)
            self._db.execute("COMMIT")
        return days

    def write_edge_totals(self, edges: Iterable[EdgeTotals], day: int) -> None:
        """Bulk-load edge totals attributed to one UTC day (``day`` = epoch days)."""
        with self._lock:
            self._db.execute("BEGIN")
            for edge in edges:
                self._add_edges(edge.service, day, {(edge.peer, edge.direction): [edge.requests, edge.errors]})
            self._db.execute("COMMIT")

    # -- reading ---------------------------------------------------------------------------------

    def services(self) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT service FROM blocks UNION SELECT service FROM edges ORDER BY 1").fetchall()
        return [r[0] for r in rows]

    def series(self, service: str, start: int | None = None, end: int | None = None) -> CountSeries:
        """The service's history at the store's resolution, dense from its first to its last day."""
        with self._lock:
            rows = self._db.execute(
                "SELECT day, data FROM blocks WHERE service=? AND day>=? AND day<=? ORDER BY day",
                (
                    service,
                    (start // DAY) if start is not None else -(2**62),
                    (end // DAY) if end is not None else 2**62,
                ),
            ).fetchall()
        if not rows:
            at = start if start is not None else 0
            return CountSeries.empty(at - at % self.resolution_seconds, self.resolution_seconds, 0, self.bounds)
        first, last = rows[0][0], rows[-1][0]
        spd = self._steps_per_day
        matrix = np.zeros(((last - first + 1) * spd, self._columns), dtype=np.int64)
        for day, blob in rows:
            at = (day - first) * spd
            matrix[at : at + spd] = _decode(blob, (spd, self._columns))
        lo = 0 if start is None else max(0, (start - first * DAY) // self.resolution_seconds)
        hi = len(matrix) if end is None else min(len(matrix), -(-(end - first * DAY) // self.resolution_seconds))
        matrix = matrix[lo:hi]
        return CountSeries(
            start=first * DAY + lo * self.resolution_seconds,
            step=self.resolution_seconds,
            requests=np.ascontiguousarray(matrix[:, 0]),
            errors=np.ascontiguousarray(matrix[:, 1]),
            latency_counts=np.ascontiguousarray(matrix[:, 2:]),
            bounds=self.bounds,
        )

    def totals(self, service: str) -> tuple[int, int]:
        """Requests and errors over the service's whole history, without reading its blocks."""
        with self._lock:
            row = self._db.execute(
                "SELECT COALESCE(SUM(requests), 0), COALESCE(SUM(errors), 0) FROM blocks WHERE service=?", (service,)
            ).fetchone()
        return int(row[0]), int(row[1])

    def edges(self, service: str) -> list[EdgeTotals]:
        """All stored calls per peer and direction; ``last_seen`` is the end of the last UTC day with calls."""
        with self._lock:
            rows = self._db.execute(
                "SELECT peer, direction, SUM(requests), SUM(errors), MAX(CASE WHEN requests > 0 THEN day END) "
                "FROM edges WHERE service=? GROUP BY peer, direction ORDER BY peer, direction",
                (service,),
            ).fetchall()
        return [EdgeTotals(service, p, d, int(r), int(e), _day_end(day)) for p, d, r, e, day in rows]

    def all_edges(self) -> list[EdgeTotals]:
        with self._lock:
            rows = self._db.execute(
                "SELECT service, peer, direction, SUM(requests), SUM(errors), "
                "MAX(CASE WHEN requests > 0 THEN day END) FROM edges GROUP BY service, peer, direction ORDER BY 1, 2, 3"
            ).fetchall()
        return [EdgeTotals(s, p, d, int(r), int(e), _day_end(day)) for s, p, d, r, e, day in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _day_end(day: int | None) -> datetime | None:
    """The end of UTC day number ``day`` (days since the epoch), as an aware datetime."""
    return None if day is None else datetime.fromtimestamp((int(day) + 1) * 86_400, tz=UTC)
