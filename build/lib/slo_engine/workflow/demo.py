"""``slo-engine demo``: the sample fleet through the whole local pipeline, results under ``out/``.

History (28 days at one-minute roll-ups) is bulk-loaded into the embedded metric store; the last
five minutes arrive as raw events folded by the embedded aggregator, as the Flink job would.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from slo_engine.engine import Engine
from slo_engine.workflow.orchestrator import Approver, Progress
from slo_engine.workflow.pipeline import PipelineResult, load_graph, load_runbooks, run_workflow

DAY = 86400


def run_demo(
    out_dir: Path,
    *,
    seed: int = 7,
    days: int = 28,
    approve: str = "auto",
    progress: Progress | None = None,
    log: Callable[[str], None] = print,
    approver: Approver | None = None,
) -> PipelineResult:
    from slo_engine.embedded.fleet import generate_fleet
    from slo_engine.embedded.metric_store import SqliteMetricStore
    from slo_engine.ingest.aggregator import SnapshotAggregator
    from slo_engine.models import ServiceSnapshot

    t0 = time.perf_counter()
    data_dir = out_dir / "data"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fleet = generate_fleet(seed=seed, days=days)
    log(f"  [green]✓[/] generated {len(fleet.services)} services x {days} days ({time.perf_counter() - t0:.1f}s)")

    engine = Engine.embedded(data_dir)
    metrics = engine.metrics
    assert isinstance(metrics, SqliteMetricStore)
    for name, series in fleet.series.items():
        metrics.write_series(name, series)
    metrics.write_edge_totals(fleet.edge_totals(), day=fleet.end // DAY - 1)
    load_graph(engine, fleet.graph)
    fleet.write_graph_json(out_dir / "graph.json")
    runbook_root = out_dir / "runbooks"
    if runbook_root.exists():
        shutil.rmtree(runbook_root)
    fleet.write_runbooks(runbook_root)
    chunks = load_runbooks(engine, runbook_root, fleet.services)
    log(f"  [green]✓[/] loaded history, graph and {len(fleet.runbooks)} runbooks ({chunks} chunks)")

    # The live edge: raw events for the five minutes after the history, through the aggregator.
    aggregator = SnapshotAggregator()
    raw = 0
    for event in fleet.raw_events(minutes=5, end_epoch=fleet.end + 300):
        aggregator.add(event)
        raw += 1
    snapshots = [ServiceSnapshot.model_validate(s) for s in aggregator.close()]
    written = metrics.write_snapshots(snapshots)
    log(
        f"  [green]✓[/] aggregated {raw:,} raw events into {len(snapshots):,} ten-second snapshots "
        f"({written.written:,} stored, {written.duplicates} duplicates)"
    )

    result = run_workflow(
        engine, approve=approve, window_days=days, progress=progress, run_id=f"demo-{seed}", approver=approver
    )
    if result.run.status != "SUCCEEDED":
        raise RuntimeError(f"the workflow failed: {result.run.doc.get('error')}")
    recs = result.recommendations
    (out_dir / "recommendations.json").write_text(json.dumps([r.public() for r in recs], indent=2) + "\n")
    (out_dir / "summary.txt").write_text(result.run.doc["summary"]["text"] + "\n")
    (out_dir / "states.txt").write_text("\n".join(result.run.states) + "\n")
    result.notes.append(
        f"Wrote {out_dir}/recommendations.json, summary.txt, graph.json and runbooks/ "
        f"in {time.perf_counter() - t0:.1f}s. States: {' -> '.join(dict.fromkeys(result.run.states))}"
    )
    return result
