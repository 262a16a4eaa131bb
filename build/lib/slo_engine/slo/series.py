"""Dense, columnar count series: the one numeric shape the SLO math works on.

A series holds, for each step of a regular grid, the requests, the errors and the latency
histogram counts of one service. Missing steps are zeros (no traffic), so rolling windows are
plain cumulative-sum differences and every roll-up is an exact sum of counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class CountSeries:
    start: int
    """Epoch seconds of the first step."""
    step: int
    """Seconds per step (10 for raw snapshots, 60 for the default roll-up)."""
    requests: IntArray
    errors: IntArray
    latency_counts: IntArray
    """Shape (steps, len(bounds) + 1); zero columns when no histogram was given."""
    bounds: tuple[float, ...]

    def __post_init__(self) -> None:
        n = self.requests.shape[0]
        if self.errors.shape != (n,):
            raise ValueError("errors must have one entry per step")
        if self.latency_counts.shape != (n, len(self.bounds) + 1):
            raise ValueError(
                f"latency_counts must have shape ({n}, {len(self.bounds) + 1}), got {self.latency_counts.shape}"
            )

    @classmethod
    def empty(cls, start: int, step: int, steps: int, bounds: tuple[float, ...]) -> CountSeries:
        return cls(
            start=start,
            step=step,
            requests=np.zeros(steps, dtype=np.int64),
            errors=np.zeros(steps, dtype=np.int64),
            latency_counts=np.zeros((steps, len(bounds) + 1), dtype=np.int64),
            bounds=bounds,
        )

    def __len__(self) -> int:
        return int(self.requests.shape[0])

    @property
    def end(self) -> int:
        """Epoch seconds just after the last step."""
        return self.start + len(self) * self.step

    @property
    def good(self) -> IntArray:
        return self.requests - self.errors

    @property
    def total_requests(self) -> int:
        return int(self.requests.sum())

    @property
    def total_errors(self) -> int:
        return int(self.errors.sum())

    def active_span_seconds(self) -> int:
        """Seconds between the first and the end of the last step that saw any request."""
        nz = np.flatnonzero(self.requests)
        if nz.size == 0:
            return 0
        return int((nz[-1] - nz[0] + 1) * self.step)

    def history_days(self, granularity_seconds: int = 3600) -> float:
        """Days from the first to the last whole hour (by default) that saw any request."""
        nz = np.flatnonzero(self.requests)
        if nz.size == 0:
            return 0.0
        first = (self.start + int(nz[0]) * self.step) // granularity_seconds
        last = (self.start + int(nz[-1]) * self.step) // granularity_seconds
        return (last - first + 1) * granularity_seconds / 86400

    def rollup(self, step: int) -> CountSeries:
        """Sum counts into coarser steps (``step`` a multiple of the current step); counts are unchanged."""
        if step == self.step:
            return self
        if step % self.step != 0:
            raise ValueError(f"cannot roll {self.step}-second steps up to {step} seconds")
        factor = step // self.step
        offset = (self.start % step) // self.step  # align the grid to multiples of ``step``
        pad_front = offset
        n = len(self) + pad_front
        pad_back = (-n) % factor
        req = np.concatenate([np.zeros(pad_front, np.int64), self.requests, np.zeros(pad_back, np.int64)])
        err = np.concatenate([np.zeros(pad_front, np.int64), self.errors, np.zeros(pad_back, np.int64)])
        lat_cols = self.latency_counts.shape[1]
        lat = np.concatenate(
            [
                np.zeros((pad_front, lat_cols), np.int64),
                self.latency_counts,
                np.zeros((pad_back, lat_cols), np.int64),
            ]
        )
        return CountSeries(
            start=self.start - pad_front * self.step,
            step=step,
            requests=req.reshape(-1, factor).sum(axis=1),
            errors=err.reshape(-1, factor).sum(axis=1),
            latency_counts=lat.reshape(-1, factor, lat_cols).sum(axis=1),
            bounds=self.bounds,
        )

    def without(self, mask: BoolArray) -> CountSeries:
        """A copy with the masked steps' counts left out (exclusion windows)."""
        keep = ~mask
        return CountSeries(
            start=self.start,
            step=self.step,
            requests=self.requests * keep,
            errors=self.errors * keep,
            latency_counts=self.latency_counts * keep[:, None],
            bounds=self.bounds,
        )
