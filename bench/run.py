"""Run every benchmark under bench/ in turn (``make bench``); each prints its own figures.

Figures worth keeping go to docs/benchmarks.md by hand, with the date and whether the machine was shared.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["recommend_scale.py", "ingest.py", "graph.py", "runbooks.py", "workflow.py", "api.py"]


def main() -> int:
    failed = []
    for name in ORDER + sorted(p.name for p in HERE.glob("*.py") if p.name not in {*ORDER, "run.py"}):
        script = HERE / name
        if not script.exists() or name.startswith("_"):
            continue
        print(f"== {name}", flush=True)
        if subprocess.run([sys.executable, str(script)], check=False).returncode:
            failed.append(name)
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
