"""Measure what real policy files cost and how well they read: OCR accuracy and speed on
scans this script renders itself, answers from OCR'd copies against the text copies, and row
questions on one subsidy table in DOCX, XLSX and PDF.

The scans are the demo corpus's five policies (Chinese and English) rendered as A4 pages at
150, 200 and 300 dpi, with a slight rotation, noise and, on some, a red seal over the text,
saved as image-only PDFs. Character accuracy is 1 - edit distance / length over the text with
whitespace removed (markdown markers left out of the source, as a printout would show it).

Run: ``python -m tools.real_files_bench [--out DIR]`` (about ten minutes on 2 cores). Needs a
Chinese font (Debian's fonts-wqy-microhei) to render the scans.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from index_store.embedding.factory import embedder_key
from index_store.open_index import open_store
from index_store.settings import Settings
from ingest.pipeline import ingest_paths
from ingest.sandbox import IsolatedLoader
from policyqa.compose import build_answer_service, build_ingestor
from policyqa.server import DEMO_DIR
from tools.sample_files import (
    SUBSIDY_CAPTION,
    SUBSIDY_QUESTIONS,
    CjkPdf,
    make_table_docx,
    make_table_pdf,
    make_table_xlsx,
    right_row,
)
from tools.scanned import Scan, char_accuracy, cjk_font, render_pages, save_pdf

SCANS = {
    "150dpi": Scan(dpi=150, rotation=0.8, noise=0.01, seed=1),
    "200dpi+seal": Scan(dpi=200, rotation=-0.5, noise=0.005, stamp=True, seed=2),
    "300dpi+seal": Scan(dpi=300, rotation=0.3, stamp=True, seed=3),
}
# The scan the answers are measured on, and the speed target's resolution.
ANSWER_SCAN = "200dpi+seal"
# (question, what a right answer quotes): questions on the demo corpus, written for this bench.
QUESTIONS = [
    ("承租市属国有企业经营用房的企业能免收几个月房租？", "免收3个月房租"),
    ("对减免租金的业主按什么比例给补贴？", "30%"),
    ("稳岗返还按失业保险费的多少比例返还？", "60%"),
    ("新增流动资金贷款按贷款市场报价利率的多少贴息？", "50%"),
    ("单户企业年度贴息总额不超过多少？", "100万元"),
    ("申请贷款贴息的企业需要成立多久？", "满1年"),
    ("申请纾困支持要提交哪些材料？", "营业执照复印件"),
    ("纾困措施每年什么时候申报？", "3月1日至4月30日"),
    ("纾困申请受理后多少个工作日内完成审核？", "20个工作日"),
    ("纾困措施的有效期到什么时候？", "2027年12月31日"),
    ("首次创业的小微企业能拿多少创业补贴？", "3万元"),
    ("小微企业创业担保贷款最高多少？", "30万元"),
    ("首次认定为国家高新技术企业奖励多少？", "30万元"),
    ("从外地整体迁入本区的高新技术企业奖励多少？", "20万元"),
    ("高新技术企业奖励要在认定公示后多久内申请？", "6个月"),
    ("重新认定通过的高新技术企业奖励多少？", "10万元"),
    ("How long do I have to return an unused item?", "30 days"),
    ("What is the restocking fee for opened items?", "15%"),
    ("How long is the warranty on electronics?", "2-year"),
    ("What is the Premium first response time for a Severity 1 incident?", "1 hour"),
    ("What service credit applies if monthly uptime falls below 99.0%?", "25%"),
    ("When is standard support available?", "Monday to Friday"),
]
_MARKDOWN = re.compile(r"^(?:#{1,6}\s+|>\s*)", re.MULTILINE)


def printed(path: Path) -> str:
    """A demo document's text as it reads on paper: markdown markers left out."""
    return _MARKDOWN.sub("", path.read_text(encoding="utf-8"))


@dataclass
class ScanResult:
    scan: str
    document: str
    pages: int
    accuracy: float
    seconds: float


def make_scans(out: Path, font: Path) -> dict[str, list[tuple[Path, Path, int]]]:
    """Per scan setting: (source, image-only PDF, pages) for each demo document."""
    made: dict[str, list[tuple[Path, Path, int]]] = {}
    for name, scan in SCANS.items():
        folder = out / "scans" / name
        folder.mkdir(parents=True, exist_ok=True)
        made[name] = []
        for source in sorted(DEMO_DIR.iterdir()):
            pages = render_pages(printed(source), scan, font)
            target = folder / f"{source.stem}.pdf"
            save_pdf(pages, target, scan.dpi)
            made[name].append((source, target, len(pages)))
    return made


def measure_ocr(made: dict[str, list[tuple[Path, Path, int]]]) -> list[ScanResult]:
    """Each scan read as ingest reads it (the parsing child, OCR a page at a time)."""
    loader = IsolatedLoader(200 * 2**20)
    results = []
    try:
        loader.load(made[ANSWER_SCAN][0][1])  # start the child and load the models first
        for name, docs in made.items():
            for source, pdf, pages in docs:
                started = time.perf_counter()
                doc = loader.load(pdf)
                seconds = time.perf_counter() - started
                accuracy = char_accuracy(printed(source), doc.text)
                results.append(ScanResult(name, source.name, pages, accuracy, seconds))
    finally:
        loader.close()
    return results


def measure_mixed(out: Path, made: dict[str, list[tuple[Path, Path, int]]]) -> dict[str, float]:
    """A 20-page text PDF, then the same with one scanned page added: what the text pages
    cost, and how many pages went to OCR."""
    from io import BytesIO

    from pypdf import PdfReader

    text_only, mixed = CjkPdf(), CjkPdf()
    for i in range(20):
        items = (f"（{j + 1}）第{i + 1}页的第{j + 1}项内容。" for j in range(30))
        lines = [f"第{i + 1}条 本页是文字层。", *items]
        text_only.text_page(lines)
        mixed.text_page(lines)
    scan_pdf = made[ANSWER_SCAN][0][1]
    image = PdfReader(str(scan_pdf)).pages[0].images[0]
    jpeg = BytesIO(image.data)
    from PIL import Image

    width, height = Image.open(jpeg).size
    mixed.scanned_page(image.data, width, height)
    (out / "text20.pdf").write_bytes(text_only.to_bytes())
    (out / "mixed21.pdf").write_bytes(mixed.to_bytes())
    loader = IsolatedLoader(200 * 2**20)
    try:
        loader.load(out / "mixed21.pdf")  # start the child and load the OCR models first
        started = time.perf_counter()
        loader.load(out / "text20.pdf")
        text_s = time.perf_counter() - started
        ocr_pages: list[int] = []
        started = time.perf_counter()
        loader.load(out / "mixed21.pdf", lambda done, _total: ocr_pages.append(done))
        mixed_s = time.perf_counter() - started
    finally:
        loader.close()
    return {"text20_s": text_s, "mixed21_s": mixed_s, "ocr_pages": float(len(ocr_pages))}


def _answers(folder: Path, root: Path, cache: Path) -> list[bool]:
    settings = Settings(_env_file=None, index_dir=root / "index", cache_dir=cache)  # type: ignore[call-arg]
    store = open_store(settings, embedder_key(settings), create=True)
    try:
        report = ingest_paths([folder], build_ingestor(settings, store))
        assert not report.failed, report.failed
        service = build_answer_service(settings, store, with_llm=False)
        right = []
        for question, expected in QUESTIONS:
            answer = service.ask(question)
            right.append(not answer.refused and expected in answer.answer)
        return right
    finally:
        store.close()


def measure_answers(out: Path, made: dict[str, list[tuple[Path, Path, int]]]) -> dict[str, int]:
    cache = out / "cache"
    text_right = _answers(DEMO_DIR, out / "text-index", cache)
    scans = out / "answer-scans"
    scans.mkdir(exist_ok=True)
    for _, pdf, _ in made[ANSWER_SCAN]:
        shutil.copy(pdf, scans / pdf.name)
    ocr_right = _answers(scans, out / "ocr-index", cache)
    for (question, _), a, b in zip(QUESTIONS, text_right, ocr_right, strict=True):
        if a != b:
            print(f"  differs: {question} text={a} ocr={b}")
    return {"questions": len(QUESTIONS), "text": sum(text_right), "ocr": sum(ocr_right)}


def measure_tables(out: Path) -> dict[str, int]:
    right: dict[str, int] = {}
    makers = {"docx": make_table_docx, "xlsx": make_table_xlsx, "pdf": make_table_pdf}
    for kind, make in makers.items():
        folder = out / f"table-{kind}"
        shutil.copytree(DEMO_DIR, folder)
        make(folder / f"subsidy.{kind}")
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, index_dir=out / f"table-{kind}-index", cache_dir=out / "cache"
        )
        store = open_store(settings, embedder_key(settings), create=True)
        try:
            ingest_paths([folder], build_ingestor(settings, store))
            service = build_answer_service(settings, store, with_llm=False)
            count = 0
            for question, item, value in SUBSIDY_QUESTIONS:
                cited = right_row(service.ask(question), item, value)
                count += cited is not None and SUBSIDY_CAPTION in cited.clause
            right[kind] = count
        finally:
            store.close()
    return right


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="where to keep the scans (default: a temp dir)")
    args = parser.parse_args()
    font = cjk_font()
    if font is None:
        raise SystemExit("no Chinese font: apt-get install fonts-wqy-microhei")
    out = args.out or Path(tempfile.mkdtemp(prefix="policyqa-real-files-"))
    out.mkdir(parents=True, exist_ok=True)
    made = make_scans(out, font)
    results = measure_ocr(made)
    print("| scan | document | pages | char accuracy | s/page |")
    print("| --- | --- | --- | --- | --- |")
    for r in results:
        print(
            f"| {r.scan} | {r.document} | {r.pages} | {r.accuracy:.4f} | "
            f"{r.seconds / r.pages:.2f} |"
        )
    for name in SCANS:
        rows = [r for r in results if r.scan == name]
        pages = sum(r.pages for r in rows)
        mean = statistics.fmean(r.accuracy for r in rows)
        print(
            f"{name}: accuracy min {min(r.accuracy for r in rows):.4f} mean {mean:.4f}, "
            f"{sum(r.seconds for r in rows) / pages:.2f} s/page over {pages} pages"
        )
    mixed = measure_mixed(out, made)
    print(
        f"mixed PDF: 20 text pages {mixed['text20_s']:.2f} s; with 1 scanned page added "
        f"{mixed['mixed21_s']:.2f} s, pages sent to OCR: {mixed['ocr_pages']:.0f}"
    )
    answers = measure_answers(out, made)
    print(
        f"answers ({ANSWER_SCAN} scans): text copy {answers['text']}/{answers['questions']}, "
        f"OCR copy {answers['ocr']}/{answers['questions']}"
    )
    tables = measure_tables(out)
    print(
        "row questions answered from the right row: "
        + ", ".join(f"{kind} {n}/{len(SUBSIDY_QUESTIONS)}" for kind, n in tables.items())
    )
    print(f"scans kept in {out}")


if __name__ == "__main__":
    main()
