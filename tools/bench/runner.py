"""``python -m tools.bench``: ingest, query, concurrency and cold-start figures, with the naive
llama-index pipeline measured in the same run as the baseline.

Every heavy step runs in a child process of its own (fresh interpreter, own peak RSS). The work
directory holds the corpora, indexes and caches of one run; nothing is reused between runs, so the
first ingest really starts from a cold embedding cache.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from statistics import median
from typing import Any

from tools.bench.workloads import percentiles

logger = logging.getLogger(__name__)

# Piece sizes for the embedding floor: the Chinese chunk size and half of it (Latin-script
# text gets ``char_scale`` times as many characters, as the chunker gives it). Of 100-500
# characters, 150 was fastest on the ncp corpus (shorter pieces carry more prefix tokens,
# longer ones more attention), 300 within 7 % of it.
FLOOR_SIZES = (150, 300)


BENCH_SECTIONS = ("embedder", "ingest", "query", "serve", "cold_start")


@dataclass(frozen=True)
class BenchConfig:
    eval_data: Path
    work_dir: Path
    docs: int = 60  # documents of ``ingest_set`` for the ingest comparison
    ingest_set: str = "ncp-policy-qa"
    ingest_runs: int = 1  # the comparison's runs, each pipeline in turn; times are medians
    sizes: tuple[int, ...] = (1_000, 10_000, 100_000)
    questions: int = 100
    users: int = 4
    duration_s: float = 20.0
    max_requests: int = 2_000
    embed_passages: int = 128
    sections: tuple[str, ...] = BENCH_SECTIONS


REPO_ROOT = Path(__file__).resolve().parents[2]


def _worker(task: str, request: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tools.bench.worker", task],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,  # tools is not installed: the worker runs from the repository root
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench worker {task} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _settings(root: Path, **extra: Any) -> dict[str, Any]:
    return {"index_dir": str(root / "index"), "cache_dir": str(root / "cache"), **extra}


def write_corpus(cfg: BenchConfig) -> tuple[Path, float]:
    """The first ``docs`` documents of the ingest set as text files (both pipelines read the
    same files)."""
    from eval.datasets import load_eval_set
    from policyqa.evaluation import read_page

    corpus = cfg.work_dir / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    size = 0
    for doc in load_eval_set(cfg.eval_data / cfg.ingest_set, read_page).documents[: cfg.docs]:
        path = corpus / f"{doc.doc_id.replace('/', '_')}.txt"
        path.write_text(f"{doc.title}\n{doc.text}\n", encoding="utf-8")
        size += path.stat().st_size
    return corpus, size / 2**20


def questions(cfg: BenchConfig) -> list[str]:
    """Real questions, Chinese and English, alternating."""
    from eval.datasets import load_eval_set
    from policyqa.evaluation import read_page

    zh = [q.question for q in load_eval_set(cfg.eval_data / "ncp-policy-qa", read_page).queries]
    en = [q.question for q in load_eval_set(cfg.eval_data / "policyqa-privacy", read_page).queries]
    mixed = [q for pair in zip(zh, en, strict=False) for q in pair]
    return mixed[: cfg.questions]


def bench_embedder(cfg: BenchConfig) -> dict[str, Any]:
    """Embedding throughput on 300-character Chinese passages cut from the ncp corpus."""
    from eval.datasets import load_eval_set
    from policyqa.evaluation import read_page

    passages: list[str] = []
    for doc in load_eval_set(cfg.eval_data / "ncp-policy-qa", read_page).documents:
        text = doc.text.replace("\n", "")
        passages += [text[i : i + 300] for i in range(0, len(text) - 300, 300)]
        if len(passages) >= cfg.embed_passages:
            break
    return _worker("embedder", {"settings": {}, "passages": passages[: cfg.embed_passages]})


def bench_ingest(cfg: BenchConfig) -> dict[str, Any]:
    """PolicyQA, the naive pipeline and the floor, each from a cold start, ``ingest_runs``
    times in turn (this machine's speed drifts between runs; taking turns spreads the drift over
    all three). The first run's figures, with the median times of all runs."""
    corpus, mb = write_corpus(cfg)
    runs: list[dict[str, dict[str, Any]]] = []
    for n in range(cfg.ingest_runs):
        tag = f"-{n + 1}" if n else ""  # the first run's index is the one the query bench reads
        runs.append({
            "ours": _worker("ingest-ours", {
                "settings": _settings(cfg.work_dir / f"ours{tag}"), "corpus": str(corpus)}),
            "naive": _worker("ingest-naive", {
                "settings": _settings(cfg.work_dir / f"naive{tag}"), "corpus": str(corpus)}),
            "floor": _worker("embed-floor", {
                "settings": _settings(cfg.work_dir / f"floor{tag}"), "corpus": str(corpus),
                "sizes": list(FLOOR_SIZES)}),
        })  # fmt: skip
    first = runs[0]
    ours = first["ours"] | {
        key: median(r["ours"][key] for r in runs) for key in ("first_s", "own_embed_s")
    }
    naive = first["naive"] | {"first_s": median(r["naive"]["first_s"] for r in runs)}
    floor = first["floor"] | {
        key: median(r["floor"][key] for r in runs) for key in ("best_s", "store_s")
    }
    for side in (ours, naive):
        side["passages_per_s"] = round(side["passages"] / side["first_s"], 2)
        side["mb_per_s"] = round(mb / side["first_s"], 4)
    return {
        "corpus": {"set": cfg.ingest_set, "files": len(list(corpus.iterdir())), "mb": round(mb, 3)},
        "ours": ours,
        "naive": naive,
        "floor": floor,
        "speedup_vs_naive_mb_per_s": round(ours["mb_per_s"] / naive["mb_per_s"], 2),
        "ceiling_vs_naive": round(naive["first_s"] / floor["best_s"], 2),
        "stored_ceiling_vs_naive": round(
            naive["first_s"] / (floor["best_s"] + floor["store_s"]), 2
        ),
        "own_ceiling_vs_naive": round(naive["first_s"] / ours["own_embed_s"], 2),
        "unchanged_speedup": round(ours["first_s"] / max(ours["unchanged_s"], 1e-3), 1),
        "runs": [
            {
                "ours_s": r["ours"]["first_s"],
                "naive_s": r["naive"]["first_s"],
                "floor_s": r["floor"]["best_s"],
                "floor_store_s": r["floor"]["store_s"],
                "own_embed_s": r["ours"]["own_embed_s"],
                "speedup_vs_naive": round(r["naive"]["first_s"] / r["ours"]["first_s"], 2),
            }
            for r in runs
        ],
    }


def bench_query(cfg: BenchConfig, qs: list[str]) -> list[dict[str, Any]]:
    rows = [{"size": "ingest corpus", "vectors": "e5"} | _worker(
        "query", {"settings": _settings(cfg.work_dir / "ours"), "questions": qs}
    )]  # fmt: skip
    for size in cfg.sizes:
        root = cfg.work_dir / f"scale-{size}"
        built = _worker(
            "build-scale",
            {"settings": _settings(root), "eval_data": str(cfg.eval_data), "chunks": size},
        )
        result = _worker("query", {"settings": _settings(root), "questions": qs})
        rows.append({"size": size, "vectors": "token-hash (scale only)", "build": built} | result)
    return rows


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYQA_")}
    return env | {
        "POLICYQA_INDEX_DIR": str(root / "index"),
        "POLICYQA_CACHE_DIR": str(root / "cache"),
    }


def _policyqa() -> str:
    return str(Path(sys.executable).with_name("policyqa"))


def bench_serve(cfg: BenchConfig, qs: list[str]) -> dict[str, Any]:
    """Server ready time, then ``users`` simulated users posting questions for a bounded time,
    against the largest index of the run; the server's peak RSS at the end."""
    built = [cfg.work_dir / f"scale-{n}" for n in sorted(cfg.sizes, reverse=True)]
    root = next((r for r in built if (r / "index").exists()), cfg.work_dir / "ours")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    server = subprocess.Popen(
        [_policyqa(), "serve", "--port", str(port)],
        # Capacity, not the rate limiter, is what this measures: lift the per-client limits.
        env=_env(root)
        | {"POLICYQA_RATE_LIMIT_PER_MINUTE": "100000", "POLICYQA_MAX_INFLIGHT": "64"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        ready_s = _wait_ready(f"{url}/healthz", server, started)
        _load(f"{url}/api/ask", qs[:3], replace(cfg, users=1, max_requests=3))  # warm up
        load = _load(f"{url}/api/ask", qs, cfg)
        peak = _peak_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    index = root.name if root.name != "ours" else "ingest corpus"
    return {"index": index, "server_ready_s": round(ready_s, 2), "server_peak_rss_mb": peak} | load


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return -1.0


def _wait_ready(url: str, server: subprocess.Popen[bytes], started: float) -> float:
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return time.perf_counter() - started
        except OSError:
            if server.poll() is not None or time.perf_counter() - started > 300:
                raise RuntimeError("the server did not become ready") from None
            time.sleep(0.05)


def _load(url: str, qs: list[str], cfg: BenchConfig) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    lock = threading.Lock()
    deadline = time.perf_counter() + cfg.duration_s
    counter = iter(range(cfg.max_requests))

    def user() -> None:
        # Request n asks question n: no question comes back before all the others have been
        # asked, so no cache of recent questions answers for the server.
        for n in counter:
            if time.perf_counter() > deadline:
                return
            body = json.dumps({"question": qs[n % len(qs)]}).encode()
            request = urllib.request.Request(
                url, data=body, headers={"Content-Type": "application/json"}
            )
            t0 = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    response.read()
                    status = str(response.status)
            except urllib.error.HTTPError as exc:
                status = str(exc.code)
            with lock:
                latencies.append(time.perf_counter() - t0)
                statuses[status] = statuses.get(status, 0) + 1

    began = time.perf_counter()
    threads = [threading.Thread(target=user) for _ in range(cfg.users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    return {
        "users": cfg.users,
        "requests": len(latencies),
        "statuses": statuses,
        "throughput_rps": round(len(latencies) / wall, 2),
        "latency": percentiles(latencies),
    }


def bench_cold_start(cfg: BenchConfig, question: str) -> dict[str, Any]:
    def wall(args: list[str]) -> float:
        t0 = time.perf_counter()
        subprocess.run(
            [_policyqa(), *args], env=_env(cfg.work_dir / "ours"), check=True,
            capture_output=True,
        )  # fmt: skip
        return time.perf_counter() - t0

    helps = sorted(wall(["--help"]) for _ in range(3))
    return {"help_s": round(helps[1], 3), "first_ask_s": round(wall(["ask", question]), 2)}


def run_bench(
    cfg: BenchConfig, save: Callable[[dict[str, Any]], None] | None = None
) -> dict[str, Any]:
    """Every section in turn; ``save`` gets the report after each one (a long run that fails
    late keeps what it measured)."""
    cfg.work_dir.mkdir(parents=True, exist_ok=True)
    qs = questions(cfg)
    report: dict[str, Any] = {"config": {k: str(v) for k, v in vars(cfg).items()}}
    sections: list[tuple[str, Callable[[], Any]]] = [
        ("embedder", lambda: bench_embedder(cfg)),
        ("ingest", lambda: bench_ingest(cfg)),
        ("query", lambda: bench_query(cfg, qs)),
        ("serve", lambda: bench_serve(cfg, qs)),
        ("cold_start", lambda: bench_cold_start(cfg, qs[0])),
    ]
    for name, run in sections:
        if name not in cfg.sections:
            continue
        logger.info("bench section=%s", name)
        report[name] = run()
        if save is not None:
            save(report)
    return report
