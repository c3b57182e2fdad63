"""`python -m tools.bench` end to end at a tiny size: every section runs and reports sane figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from statistics import median

import pytest

from tests.conftest import SHARED, needs_shared

# The real model, real processes or real files: out of the quick loop (-m "not slow").
pytestmark = pytest.mark.slow
# Run from the repository root, as a developer runs it (tools is not installed).
BENCH = [sys.executable, "-m", "tools.bench"]
ROOT = Path(__file__).resolve().parents[2]


@needs_shared()
def test_bench_measures_every_section_against_the_baseline(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [*BENCH, "--eval-data", str(SHARED),
         "--work-dir", str(tmp_path / "work"), "--docs", "3", "--ingest-runs", "2",
         "--sizes", "300", "--questions", "6", "--users", "2", "--duration", "2",
         "--embed-passages", "8", "--json", str(out)],
        capture_output=True, text=True, timeout=900, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    embedder = report["embedder"]
    assert embedder["passages"] == 8 and embedder["cosine_min"] >= 0.99
    # Every precision this CPU runs is measured beside fp32, which matches the C engine closely.
    precisions = embedder["precisions"]
    assert precisions["fp32"]["cosine_min"] >= 0.999
    assert embedder["default_precision"] in precisions
    assert all(p["cosine_min_vs_fp32"] >= 0.99 and p["per_s"] > 0 for p in precisions.values())
    # Eight passages are too few to compare the rate with its bound (noise inverted them once).
    assert embedder["torch_per_s"] > 0 and embedder["fp32_bound_per_s"] > 0
    ingest = report["ingest"]
    assert ingest["corpus"]["set"] == "ncp-policy-qa" and ingest["corpus"]["files"] == 3
    assert ingest["ours"]["passages"] > 0 and ingest["naive"]["passages"] > 0
    assert ingest["ours"]["embedded"] == ingest["ours"]["passages"]  # cold cache: all embedded
    assert ingest["ours"]["unchanged_s"] < ingest["ours"]["first_s"]
    assert ingest["ours"]["peak_rss_mb"] > 100 and ingest["naive"]["peak_rss_mb"] > 100
    # The floor embeds each character once; PolicyQA adds heading paths and overlaps.
    floor = {r["size"]: r for r in ingest["floor"]["by_size"]}
    assert 0 < floor[300]["tokens"] < ingest["ours"]["tokens"]
    assert ingest["naive"]["tokens"] > 0
    # Two runs in turn: the times are their medians, each run's shown beside them.
    runs = ingest["runs"]
    assert len(runs) == 2 and all(r["ours_s"] > 0 and r["naive_s"] > 0 for r in runs)
    assert ingest["ours"]["first_s"] == median(r["ours_s"] for r in runs)
    assert ingest["naive"]["first_s"] == median(r["naive_s"] for r in runs)
    assert runs[0]["floor_s"] == min(r["s"] for r in floor.values())
    assert ingest["floor"]["best_s"] == median(r["floor_s"] for r in runs)
    assert ingest["ceiling_vs_naive"] == round(
        ingest["naive"]["first_s"] / ingest["floor"]["best_s"], 2
    )
    # Writing the floor's pieces to Chroma takes time: an ingest that can be searched has a
    # lower bound still.
    assert all(r["floor_store_s"] > 0 for r in runs)
    assert ingest["floor"]["store_s"] == median(r["floor_store_s"] for r in runs)
    stored = ingest["naive"]["first_s"] / (ingest["floor"]["best_s"] + ingest["floor"]["store_s"])
    assert ingest["stored_ceiling_vs_naive"] == round(stored, 2) < ingest["ceiling_vs_naive"]
    # PolicyQA's own passages embedded alone bound its ingest from below: each run's is less
    # than its whole first ingest (which also reads, chunks, tokenises and writes them).
    assert all(0 < r["own_embed_s"] < r["ours_s"] for r in runs)
    assert ingest["ours"]["own_embed_s"] == median(r["own_embed_s"] for r in runs)
    own = ingest["naive"]["first_s"] / ingest["ours"]["own_embed_s"]
    assert ingest["own_ceiling_vs_naive"] == round(own, 2)
    real, scale = report["query"]
    assert real["chunks"] == ingest["ours"]["passages"]
    assert 300 <= scale["chunks"] < 600  # cycled corpora stop once they reach the size
    for row in (real, scale):
        for kind in (
            "retrieval", "retrieval_answer", "answer_features", "answer_rerank", "naive_retrieval"
        ):  # fmt: skip
            assert row[kind]["n"] == 6 and 0 < row[kind]["p50_ms"] <= row[kind]["p95_ms"]
    assert "+ features" in done.stdout and "+ cross" in done.stdout  # beside today's path
    serve = report["serve"]
    assert serve["requests"] > 0 and set(serve["statuses"]) == {"200"}
    assert serve["index"] == "scale-300" and serve["server_peak_rss_mb"] > 100
    assert report["cold_start"]["help_s"] > 0
    # The printed report carries the ratios measured in this run.
    assert "ratio MB/s ours/naive" in done.stdout and "first/unchanged" in done.stdout
    assert "times are the medians of 2 runs" in done.stdout
    assert f"{runs[1]['ours_s']} / {runs[1]['naive_s']} / {runs[1]['floor_s']} s" in done.stdout
    assert f"beats naive by more than {ingest['ceiling_vs_naive']}x" in done.stdout
    stored_ceiling = ingest["stored_ceiling_vs_naive"]
    assert f"stores all of the corpus beats naive by more than {stored_ceiling}x" in done.stdout
    own_ceiling = ingest["own_ceiling_vs_naive"]
    assert f"no ingest of these passages beats naive by more than {own_ceiling}x" in done.stdout


@needs_shared()
def test_bench_refuses_an_ingest_set_it_does_not_have(tmp_path: Path) -> None:
    done = subprocess.run(
        [*BENCH, "--eval-data", str(SHARED),
         "--work-dir", str(tmp_path), "--ingest-set", "no-such-set", "--sections", "ingest"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 2 and "no set 'no-such-set'" in done.stderr
    assert not any(tmp_path.iterdir())  # refused before any work


@needs_shared()
@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ("query,serve", "add ingest to --sections"),  # no index to query
        ("ingest,qurey", "no bench section qurey"),
    ],
)
def test_bench_refuses_sections_it_cannot_run(tmp_path: Path, sections: str, message: str) -> None:
    done = subprocess.run(
        [*BENCH, "--eval-data", str(SHARED),
         "--work-dir", str(tmp_path), "--sections", sections],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 2 and message in done.stderr
    assert not any(tmp_path.iterdir())  # refused before any work
