"""Benchmark: time to recommend every SLI (with backtests) for N services x D days at 1-minute roll-ups.

The history is written to the embedded metric store first (bulk load, timed separately); the
recommendation then runs the whole workflow (the state machine definition, all agents, reviewer,
safety backtests, pre-approval) exactly as ``slo-engine recommend`` does. Prints one line per size
and the peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from slo_engine.engine import Engine
from slo_engine.models import DEFAULT_LATENCY_BOUNDS_MS, Dependency, ServiceNode
from slo_engine.slo.series import CountSeries
from slo_engine.workflow.pipeline import run_workflow

DAY = 86400
END = 1_793_491_200  # 2026-11-01T00:00:00Z


def synthetic_series(rng: np.random.Generator, days: int, base_rps: float) -> CountSeries:
    steps = days * 1440
    t = np.arange(steps)
    shape = 1 + 0.5 * np.sin(2 * np.pi * (t % 1440) / 1440)
    req = rng.poisson(base_rps * 60 * shape).astype(np.int64)
    ratio = np.full(steps, rng.uniform(1e-5, 1e-3))
    for _ in range(rng.integers(1, 5)):
        at = rng.integers(0, steps - 90)
        ratio[at : at + rng.integers(5, 90)] = rng.uniform(0.02, 0.4)
    err = rng.binomial(req, ratio).astype(np.int64)
    bounds = DEFAULT_LATENCY_BOUNDS_MS
    probs = np.diff(np.concatenate([[0.0], 1 - np.exp(-np.asarray(bounds) / rng.uniform(20, 400)), [1.0]]))
    probs = np.clip(probs, 0, None)
    probs /= probs.sum()
    lat = (req[:, None] * probs[None, :]).astype(np.int64)
    lat[:, 0] += req - lat.sum(axis=1)
    return CountSeries(END - days * DAY, 60, req, err, lat, bounds)


def build(data: Path, services: int, days: int, seed: int = 11) -> tuple[Engine, float]:
    if data.exists():
        shutil.rmtree(data)
    engine = Engine.embedded(data)
    rng = np.random.default_rng(seed)
    names = [f"svc-{i:05d}" for i in range(services)]
    t0 = time.perf_counter()
    for name in names:
        engine.metrics.write_series(name, synthetic_series(rng, days, float(rng.uniform(1, 200))))
    engine.graph.upsert_services([ServiceNode(name=n, tier=int(rng.integers(0, 4))) for n in names])
    deps = []
    for i, name in enumerate(names[1:], start=1):
        for j in rng.choice(i, size=min(i, 3), replace=False):
            deps.append(
                Dependency(**{"from": name, "to": names[int(j)], "kind": "hard" if rng.random() < 0.6 else "soft"})
            )
    engine.graph.upsert_dependencies(deps)
    return engine, time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="250x28,500x28,1000x14,1000x28", help="SERVICESxDAYS,...")
    parser.add_argument("--data", type=Path, default=Path("bench/.data/recommend"))
    parser.add_argument("--json", type=Path, help="append results as JSON to this file")
    args = parser.parse_args()
    rows = []
    for size in args.sizes.split(","):
        services, days = (int(x) for x in size.split("x"))
        engine, load_s = build(args.data, services, days)
        t0 = time.perf_counter()
        result = run_workflow(engine, approve="manual", window_days=28, run_id=f"bench-{size}")
        took = time.perf_counter() - t0
        assert result.run.status == "SUCCEEDED", result.run.doc.get("error")
        rows_held = services * days * 1440
        peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
        row = {
            "services": services,
            "days": days,
            "rows": rows_held,
            "load_s": round(load_s, 1),
            "recommend_s": round(took, 1),
            "recommendations": len(result.recommendations),
            "us_per_service_day": round(took / (services * days) * 1e6),
            "peak_rss_gib": round(peak_gib, 2),
            "largest_state_kib": round(result.run.largest_state_bytes / 1024, 1),
        }
        rows.append(row)
        print(
            f"{services:>5} services x {days:>2} days = {rows_held / 1e6:5.1f}M rows | load {load_s:6.1f}s | "
            f"recommend {took:6.1f}s ({row['us_per_service_day']} us per service-day, "
            f"{len(result.recommendations)} SLOs) | peak RSS {peak_gib:.2f} GiB | "
            f"largest state {row['largest_state_kib']} KiB (Step Functions allows 256)",
            flush=True,
        )
        for store in (engine.metrics,):
            getattr(store, "close", lambda: None)()
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    shutil.rmtree(args.data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
