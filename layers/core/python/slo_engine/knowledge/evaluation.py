"""Measuring retrieval: recall@k of a runbook index for alert-name, symptom and paraphrased queries.

Used by the tests and by bench/runbooks.py on the public runbook corpus; a team can run the same measure on its
own runbooks (files named after their alerts).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from slo_engine.ports import RunbookIndex

SYMPTOM_SECTION = re.compile(r"^#{2,6}\s+(meaning|impact|symptoms?|description|overview)\b", re.IGNORECASE)
ALERT_FILE = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")

PROMETHEUS_OPERATOR_PARAPHRASES = {
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
"""Our own wording of a symptom (not the runbooks' words) -> the public runbook that answers it."""


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


def alert_runbooks(root: Path) -> dict[str, Path]:
    """Runbooks named after their alert (``KubePodCrashLooping.md``), keyed by their path under ``root``."""
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*.md")) if ALERT_FILE.match(p.stem)}


def recall_at_k(index: RunbookIndex, queries: dict[str, str], k: int = 5) -> tuple[float, list[float]]:
    """Share of queries whose expected path is among the top ``k`` hits, and each query's latency in seconds."""
    found, latencies = 0, []
    for query, expected in queries.items():
        started = time.perf_counter()
        hits = index.search(query, k=k)
        latencies.append(time.perf_counter() - started)
        found += expected in [hit.path for hit in hits]
    return found / max(len(queries), 1), latencies
