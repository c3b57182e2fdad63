"""Real policy files end to end with the bundled model: a subsidy table in DOCX, XLSX and PDF
answers row questions with the right row under its column names; a scanned page answers with a
citation that says it was OCR'd; long ingests report files, pages and chunks."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chatbot.answering.documents import Library
from index_store.embedding.factory import embedder_key
from index_store.open_index import open_store
from index_store.settings import Settings
from ingest.pipeline import Ingestor, Progress, ingest_paths
from policyqa.compose import build_answer_service, build_ingestor
from policyqa.manage import DocumentManager
from tests.files import DEMO_DIR, ZH_POLICY
from tools.sample_files import (
    SUBSIDY_CAPTION,
    SUBSIDY_QUESTIONS,
    CjkPdf,
    make_table_docx,
    make_table_pdf,
    make_table_xlsx,
    right_row,
)
from tools.scanned import Scan, cjk_font, render_pages

# The real model, real processes or real files: out of the quick loop (-m "not slow").
pytestmark = pytest.mark.slow

MAKERS: dict[str, Callable[[Path], Path]] = {
    "docx": make_table_docx,
    "xlsx": make_table_xlsx,
    "pdf": make_table_pdf,
}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embed-cache")  # the demo corpus is embedded once


def _settings(root: Path, cache_dir: Path) -> Settings:
    return Settings(_env_file=None, index_dir=root / "index", cache_dir=cache_dir)  # type: ignore[call-arg]


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_table_rows_answer_with_their_headers(kind: str, tmp_path: Path, cache_dir: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(DEMO_DIR, docs)  # other policies to tell the table apart from
    MAKERS[kind](docs / f"subsidy.{kind}")
    settings = _settings(tmp_path, cache_dir)
    store = open_store(settings, embedder_key(settings), create=True)
    try:
        assert not ingest_paths([docs], build_ingestor(settings, store)).failed
        service = build_answer_service(settings, store, with_llm=False)
        right = 0
        for question, item, value in SUBSIDY_QUESTIONS:
            cited = right_row(service.ask(question), item, value)
            if cited is not None:
                assert SUBSIDY_CAPTION in cited.clause  # cited by its table
                right += 1
        assert right >= 9, f"{kind}: {right}/10 row questions answered from the right row"
    finally:
        store.close()


@pytest.mark.skipif(cjk_font() is None, reason="no Chinese font to render a scan")
def test_a_scanned_page_answers_with_an_ocr_citation(tmp_path: Path, cache_dir: Path) -> None:
    font = cjk_font()
    assert font is not None
    text = (DEMO_DIR / "中小企业纾困扶持办法.txt").read_text(encoding="utf-8")
    docs = tmp_path / "docs"
    docs.mkdir()
    render_pages(text, Scan(dpi=200, rotation=0.5, stamp=True), font)[0].save(docs / "scan.png")
    settings = _settings(tmp_path, cache_dir)
    store = open_store(settings, embedder_key(settings), create=True)
    try:
        assert not ingest_paths([docs], build_ingestor(settings, store)).failed
        answer = build_answer_service(settings, store, with_llm=False).ask(
            "稳岗返还按失业保险费的多少比例返还？"
        )
        assert not answer.refused and "60%" in answer.answer
        cited = answer.citations[0]
        assert cited.clause.startswith("第二章 第四条") and cited.clause.endswith(
            "第1页（OCR识别）"
        )
    finally:
        store.close()


@pytest.fixture
def mixed_folder(tmp_path: Path) -> Iterator[Path]:
    font = cjk_font()
    if font is None:
        pytest.skip("no Chinese font to render a scan")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "notice.txt").write_text(ZH_POLICY, encoding="utf-8")
    render_pages(ZH_POLICY, Scan(dpi=150), font)[0].save(folder / "scan.png")
    yield folder


def test_ingest_reports_files_pages_and_chunks(mixed_folder: Path, ingestor: Ingestor) -> None:
    steps: list[Progress] = []
    report = ingest_paths([mixed_folder], ingestor, steps.append)
    assert not report.failed
    pages = [s for s in steps if s.outcome is None]
    assert [(Path(s.file).name, s.pages_done) for s in pages] == [("scan.png", 1)]
    last = steps[-1]
    assert (last.files_done, last.pages_done) == (2, 1)
    assert last.chunks == sum(o.chunks or 0 for o in report.outcomes) > 0


def test_admin_upload_shows_files_pages_and_chunks(mixed_folder: Path, ingestor: Ingestor) -> None:
    messages: list[tuple[float, str]] = []
    manager = DocumentManager(ingestor, Library(ingestor.store))
    files = [str(p) for p in sorted(mixed_folder.iterdir())]
    rows = manager.upload(files, ["public"], "default", lambda f, m: messages.append((f, m)))
    assert [r[1] for r in rows] == ["added", "added"]
    assert messages[-1][0] == 1.0
    assert "2/2 files · 1 pages OCR'd" in messages[-1][1]


LOAN_NOTICE = """示县中小企业贷款贴息办法
（示例文件）示县财政局〔2026〕8号
一、贴息对象
在本县登记注册的中小企业，上年度营业收入不超过2亿元。
二、贴息标准
按贷款市场报价利率的50%给予贴息，单户企业每年贴息不超过50万元。
三、申请时间
每年6月1日至6月30日申请。
"""


def _locator_docs(folder: Path) -> None:
    import docx

    folder.mkdir()
    (folder / "贴息.txt").write_bytes(LOAN_NOTICE.encode("gb18030"))
    pdf = CjkPdf()
    pdf.text_page(
        [
            "示县人才引进补贴办法",
            "第一条 为引进人才，制定本办法。",
            "第二条 引进博士的，给予安家补贴20万元。",
        ]
    )
    pdf.text_page(
        ["第三条 引进硕士的，给予安家补贴10万元。", "第四条 本办法自2026年1月1日起施行。"]
    )
    (folder / "人才.pdf").write_bytes(pdf.to_bytes())
    document = docx.Document()
    for line in [
        "示县数字化转型补贴办法",
        "（示例文件，由PolicyQA编写）示县经信发〔2026〕11号",
        "第一条 为推动企业数字化转型，制定本办法。",
        "第二条 补贴标准",
        "对企业购买工业软件、上云服务的，按实际投入的20%给予补贴，最高不超过30万元。",
        "第七条 申报要求",
        "企业应在项目完成后3个月内申报。",
        "申报时须提交项目验收报告和发票复印件。",
    ]:
        document.add_paragraph(line)
    document.save(str(folder / "数字化.docx"))


def test_locators_name_the_innermost_entry(tmp_path: Path, cache_dir: Path) -> None:
    _locator_docs(tmp_path / "docs")
    settings = _settings(tmp_path, cache_dir)
    store = open_store(settings, embedder_key(settings), create=True)
    try:
        assert not ingest_paths([tmp_path / "docs"], build_ingestor(settings, store)).failed
        service = build_answer_service(settings, store, with_llm=False)

        def cited(question: str) -> tuple[str, str]:
            answer = service.ask(question)
            assert not answer.refused, question
            return answer.citations[0].clause, answer.answer

        # A GB18030 notice of 一、/二、 sections: the quote's own section.
        assert cited("贴息标准是多少？")[0] == "二、贴息标准"
        # A sentence on page 2 of a PDF is cited with page 2.
        assert cited("引进硕士给多少安家补贴？")[0] == "第三条 第2页"
        # The header line and the purpose clause are no answer.
        clause, text = cited("数字化转型补贴标准是多少？")
        assert clause == "第二条" and "〔2026〕11号" not in text and "制定本办法" not in text
        # A quote over both paragraphs of 第七条 is in 第七条, not its first 款.
        clause, text = cited("数字化转型补贴的申报要求是什么？")
        assert clause == "第七条" and "发票复印件" in text
        # Refusals name pages as the citations do.
        refused = service.ask("引进外籍专家有什么补贴？")
        assert refused.refused and "第1页" in refused.answer and "p. " not in refused.answer
    finally:
        store.close()
