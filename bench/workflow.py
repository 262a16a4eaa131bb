"""Benchmark: the reasoning workflow per service, locally, and the input tokens a Bedrock run would send per service.

Runs the whole state machine definition locally (auto approval) on the 36-service sample fleet, then rebuilds
the exact Converse requests the Bedrock adapter would send for that run (the plan, one explanation per SLO) and
estimates their input tokens. A second pass loads every service with heavy memory (many long feedback notes and
past answers) to show the Context Manager's bound. Goal: under 8,000 input tokens per service.
"""

from __future__ import annotations

import argparse
import json
import time

from slo_engine.adapters.bedrock import BedrockReasoner, estimate_request_tokens
from slo_engine.agents.relationship import current_graph
from slo_engine.embedded.fleet import generate_fleet
from slo_engine.engine import Engine
from slo_engine.models import ContextEntry, FeedbackRecord, Plan
from slo_engine.workflow.pipeline import load_graph, run_workflow
from slo_engine.workflow.steps import _evidence_by_service


def tokens_per_service(engine: Engine, doc: dict, reasoner: BedrockReasoner) -> tuple[dict[str, int], int]:
    """Input tokens of the plan request (shared out per service) plus each of the service's explanations,
    and the largest plan request (a big fleet is planned in batches under the adapter's request bound)."""
    plan = Plan.model_validate(doc["plan"])
    nodes = {s.name: s for s in current_graph(engine.graph, engine.metrics).services}
    memory = doc["context"]["memory"]
    notes = {
        s: [f"feedback ({f['kind']}) from {f['by']}: {f['text']}" for f in mem.get("feedback", [])]
        + [f"asked: {q['question']} -> {q['answer']}" for q in mem.get("qa", [])]
        for s, mem in memory.items()
    }
    services = [nodes[p.service] for p in plan.services]
    requests = [
        reasoner.plan_request(b, notes, plan.window_days)
        for b in reasoner.plan_batches(services, notes, plan.window_days)
    ]
    plan_tokens = sum(estimate_request_tokens(r) for r in requests)
    largest = max(estimate_request_tokens(r) for r in requests)
    per_service = {p.service: plan_tokens // max(1, len(plan.services)) for p in plan.services}
    evidence = _evidence_by_service(doc)
    for rec_id in doc["summary"]["recommendation_ids"]:
        rec = engine.state.get_recommendation(rec_id)
        if rec is None:
            continue
        ev = evidence.get(rec.service)
        findings = [f for f in (ev.metric, ev.relationship, ev.runbook) if f is not None] if ev else []
        per_service[rec.service] += estimate_request_tokens(reasoner.explain_request(rec, findings))
    return per_service, largest


def heavy_memory(engine: Engine, services: list[str], items: int, chars: int) -> None:
    text = ("Paged at 03:00 again; the retry storm from the ledger made the budget look worse than users felt. " * 40)[
        :chars
    ]
    for service in services:
        for i in range(items):
            engine.state.add_feedback(FeedbackRecord(service=service, kind="too_strict", by=f"oncall-{i}", text=text))
            engine.state.add_context(ContextEntry(service=service, question=f"q{i}: {text[:300]}", answer=text[:600]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    started = time.perf_counter()
    fleet = generate_fleet(seed=args.seed, days=args.days)
    engine = Engine.embedded(in_memory=True)
    for name, series in fleet.series.items():
        engine.metrics.write_series(name, series)
    engine.metrics.write_edge_totals(fleet.edge_totals(), day=fleet.end // 86400 - 1)
    load_graph(engine, fleet.graph)
    load_seconds = time.perf_counter() - started
    reasoner = BedrockReasoner("anthropic.claude-3-5-sonnet-20240620-v1:0", client=object())

    results = {}
    for label, memory in (("fresh", None), ("heavy memory", (30, 2000))):
        if memory:
            heavy_memory(engine, sorted(fleet.series), *memory)
        t0 = time.perf_counter()
        result = run_workflow(engine, approve="auto", window_days=args.days, run_id=f"bench-{label.replace(' ', '-')}")
        seconds = time.perf_counter() - t0
        services = len({r.service for r in result.recommendations})
        tokens, plan_tokens = tokens_per_service(engine, result.run.doc, reasoner)
        values = sorted(tokens.values())
        results[label] = {
            "services": services,
            "status": result.run.status,
            "end_to_end_seconds": round(seconds, 2),
            "seconds_per_service": round(seconds / max(1, services), 3),
            "tokens_per_service_median": values[len(values) // 2],
            "tokens_per_service_max": values[-1],
            "plan_request_tokens": plan_tokens,
        }
    if args.json:
        print(json.dumps({"load_seconds": round(load_seconds, 2), "days": args.days, **results}, indent=2))
        return
    print(f"fleet: {len(fleet.series)} services x {args.days} days, loaded in {load_seconds:.1f} s")
    print("run          | services | end to end | per service | tokens/service (median / max) | largest plan request")
    for label, r in results.items():
        print(
            f"{label:12} | {r['services']:8} | {r['end_to_end_seconds']:8.2f} s | {r['seconds_per_service']:9.3f} s "
            f"| {r['tokens_per_service_median']:,} / {r['tokens_per_service_max']:,} | {r['plan_request_tokens']:,}"
        )


if __name__ == "__main__":
    main()
