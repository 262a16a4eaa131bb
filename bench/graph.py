"""Benchmark: a generated fleet of 10,000 services and 50,000 dependency edges loaded into the embedded graph
stores (SQLite, and the embedded Cypher database Ladybug through the same Cypher as Neo4j), read back, and analysed
(cycles, fan-in/out, blast radius, critical paths, dependency ceilings with observed availability).

Goal (issue 4): the analyses under 2 s. Prints one line per step; ``--services`` / ``--edges`` change the size.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from slo_engine.graph.analysis import analyze_graph, build_digraph
from slo_engine.graph.ceiling import fleet_ceilings
from slo_engine.models.graph import Dependency, ServiceGraph, ServiceNode

T = TypeVar("T")


def generated_fleet(services: int, edges: int, seed: int = 4) -> ServiceGraph:
    """Layered like a real fleet (callers mostly call services further down), 80 % hard edges, a few cycles."""
    rng = random.Random(seed)
    names = [f"svc-{i:05d}" for i in range(services)]
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < edges - 20:
        caller = rng.randrange(services - 1)
        callee = min(services - 1, caller + 1 + int(rng.expovariate(1 / 200)))
        pairs.add((caller, callee))
    while len(pairs) < edges:  # back edges: cycles
        callee = rng.randrange(services - 10)
        pairs.add((callee + rng.randrange(1, 10), callee))
    return ServiceGraph(
        services=[ServiceNode(name=name, tier=rng.randrange(6)) for name in names],
        dependencies=[
            Dependency(from_=names[a], to=names[b], kind="hard" if rng.random() < 0.8 else "soft", source="observed")
            for a, b in sorted(pairs)
        ],
    )


def timed(label: str, work: Callable[[], T]) -> T:
    """Runs ``work`` and prints wall and CPU seconds (CPU: what the figure would be on an idle machine)."""
    started, cpu_started = time.perf_counter(), time.process_time()
    result = work()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(f"{label:<62} {wall:8.3f} s wall {cpu:8.3f} s CPU", flush=True)
    return result


def load(store: Any, graph: ServiceGraph) -> None:
    store.upsert_services(graph.services)
    store.upsert_dependencies(graph.dependencies)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--edges", type=int, default=50_000)
    parser.add_argument("--skip-cypher", action="store_true", help="leave out the Ladybug store")
    parser.add_argument("--changed-edges", type=int, default=5_000, help="edges re-upserted with MERGE after the load")
    args = parser.parse_args()

    graph = timed(
        f"generate {args.services:,} services / {args.edges:,} edges",
        lambda: generated_fleet(args.services, args.edges),
    )
    with tempfile.TemporaryDirectory() as folder:
        from slo_engine.embedded.graph_store import SqliteGraphStore

        sqlite_store = SqliteGraphStore(Path(folder) / "graph.db")
        timed("load into SqliteGraphStore (file)", lambda: load(sqlite_store, graph))
        timed("reload the same graph (idempotent upserts)", lambda: load(sqlite_store, graph))
        current = timed("read back SqliteGraphStore.to_graph()", sqlite_store.to_graph)
        sqlite_store.close()

        if not args.skip_cypher:
            try:
                from slo_engine.embedded.cypher_graph_store import CypherGraphStore

                cypher_store = CypherGraphStore(Path(folder) / "graph.lbug")
            except ImportError as exc:
                print(f"Ladybug store skipped: {exc}")
            else:
                timed("bulk load into CypherGraphStore (Ladybug, COPY FROM)", lambda: cypher_store.bulk_load(graph))
                changed = [d.model_copy(update={"confidence": 0.5}) for d in graph.dependencies[: args.changed_edges]]
                timed(
                    f"upsert {len(changed):,} changed edges into it (UNWIND/MERGE)",
                    lambda: cypher_store.upsert_dependencies(changed),
                )
                timed(
                    "read back CypherGraphStore services + edges",
                    lambda: (cypher_store.services(), cypher_store.dependencies()),
                )
                cypher_store.close()

    rng = random.Random(9)
    availability = {s.name: 1 - rng.uniform(0, 0.01) for s in current.services}
    own = {name: min(1.0, value + 0.001) for name, value in availability.items()}

    def analyses() -> tuple[Any, Any]:
        digraph = build_digraph(current)
        ceilings = fleet_ceilings(current, own, availability, {})
        return analyze_graph(digraph, ceilings), ceilings

    started = time.process_time()
    report, ceilings = timed("analyses: digraph, cycles, fan, blast radius, paths, ceilings", analyses)
    elapsed = time.process_time() - started
    capped = sum(1 for c in ceilings.values() if c.capped_by)
    print(
        f"result: {report.services:,} services, {report.dependencies:,} edges, {len(report.cycles)} cycles, "
        f"longest hard chain {len(report.longest_critical_path)}, {capped:,} ceilings capped by a dependency"
    )
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"peak RSS {peak_mib:,.0f} MiB; analyses goal < 2 s: {'met' if elapsed < 2 else 'MISSED'} ({elapsed:.2f} s CPU)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
