"""Child-process entry: ``python -m tools.bench.worker TASK`` with a JSON request on stdin;
prints the workload's JSON result as the last line of stdout."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from index_store.settings import Settings
from tools.bench import workloads


def run(task: str, request: dict[str, Any]) -> dict[str, Any]:
    settings = Settings(**request["settings"])
    if task == "ingest-ours":
        return workloads.ingest_ours(settings, Path(request["corpus"]))
    if task == "ingest-naive":
        return workloads.ingest_naive(settings, Path(request["corpus"]))
    if task == "embed-floor":
        return workloads.embed_floor(settings, Path(request["corpus"]), list(request["sizes"]))
    if task == "build-scale":
        return workloads.build_scale_index(
            settings, Path(request["eval_data"]), int(request["chunks"])
        )
    if task == "embedder":
        return workloads.embedder_throughput(list(request["passages"]))
    if task == "query":
        return workloads.query_latency(settings, list(request["questions"]))
    raise SystemExit(f"unknown bench task {task!r}")


def main() -> None:
    result = run(sys.argv[1], json.load(sys.stdin))
    sys.stdout.write("\n" + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
