"""Tables stay tables: rows in place, each with its column names, chunked between rows, for
DOCX, XLSX, PDF and legacy .doc; a cited row shows as a small table."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from index_store.errors import LoadError
from index_store.records import Answer, Citation
from ingest.chunking import ChunkingConfig, chunk_document
from ingest.loaders import load_file
from ingest.tables import row_lines
from tools.sample_files import (
    SUBSIDY_CAPTION,
    SUBSIDY_ROWS,
    make_table_docx,
    make_table_pdf,
    make_table_xlsx,
)

MB = 10 * 2**20
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FIRST_ROW = "补贴项目：一次性吸纳就业补贴；适用对象：招用高校毕业生的小微企业；补贴标准：每人1500元；申请期限：每年6月30日前"


def test_each_row_carries_its_column_names() -> None:
    rows = [["企业类型", "补贴标准"], ["小微企业", "每人1000元"], ["中型企业", "每人800元"]]
    assert row_lines(rows) == [
        "企业类型：小微企业；补贴标准：每人1000元",
        "企业类型：中型企业；补贴标准：每人800元",
    ]
    assert row_lines([["Type", "Subsidy"], ["Small", "1000"]]) == ["Type: Small; Subsidy: 1000"]


def test_merged_cells_repeat_in_every_row_they_cover() -> None:
    # pdfplumber reports the rows a merged cell spans as None.
    rows = [["类别", "项目", "标准"], ["就业", "吸纳", "1000元"], [None, "见习", "2000元"]]
    assert row_lines(rows)[1] == "类别：就业；项目：见习；标准：2000元"


def test_a_docx_cell_merged_across_columns_counts_once(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    table = document.add_table(rows=3, cols=3)
    for i, row in enumerate([["类别", "项目", "标准"], ["就业", "吸纳", "1000元"]]):
        for j, value in enumerate(row):
            table.cell(i, j).text = value
    table.cell(2, 0).merge(table.cell(2, 1)).text = "合计"
    table.cell(2, 2).text = "3000元"
    document.save(str(tmp_path / "merged.docx"))
    text = load_file(tmp_path / "merged.docx", MB).text
    assert text.split("\n")[-1] == "类别：合计；标准：3000元"


def test_a_table_without_a_header_row_keeps_plain_rows() -> None:
    assert row_lines([["2024", "100"], ["2025", "120"]]) == ["2024 | 100", "2025 | 120"]


def _check_subsidy(path: Path) -> None:
    doc = load_file(path, MB)
    assert FIRST_ROW in doc.text
    # In place: the paragraph before the table, the rows, then the paragraph after it.
    assert (
        doc.text.index("二、补贴标准") < doc.text.index(FIRST_ROW) < doc.text.index("三、申请方式")
    )
    (table,) = doc.tables
    assert table.caption == SUBSIDY_CAPTION
    assert doc.text[table.start : table.end].count("\n") == len(SUBSIDY_ROWS) - 2
    rows = doc.text[table.start : table.end].split("\n")
    # Small chunks, so that the table needs several: each holds whole rows only.
    for chunk in chunk_document(doc, ChunkingConfig(size=150, overlap=30, min_chars=20)):
        if chunk.start >= table.start - len(SUBSIDY_CAPTION) - 1 and chunk.end <= table.end:
            assert chunk.heading_path[-1] == SUBSIDY_CAPTION
            lines = [line for line in chunk.text.split("\n") if "：" in line and "；" in line]
            assert lines and all(line in rows for line in lines), chunk.text


def test_docx_tables_stay_in_place_with_headers_per_row(tmp_path: Path) -> None:
    _check_subsidy(make_table_docx(tmp_path / "subsidy.docx"))


def test_pdf_ruled_tables_are_read_as_rows(tmp_path: Path) -> None:
    path = make_table_pdf(tmp_path / "subsidy.pdf")
    _check_subsidy(path)
    assert load_file(path, MB).page_at(0) == 1


def test_xlsx_sheets_are_sections_of_rows(tmp_path: Path) -> None:
    path = make_table_xlsx(tmp_path / "subsidy.xlsx")
    doc = load_file(path, MB)
    assert doc.text.startswith("## 补贴标准\n" + SUBSIDY_CAPTION)
    assert FIRST_ROW in doc.text and doc.tables[0].caption == SUBSIDY_CAPTION


def test_xlsx_numbers_and_dates_read_as_written(tmp_path: Path) -> None:
    import datetime as dt

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["项目", "金额", "截止日期"])
    sheet.append(["补贴", 1500.0, dt.datetime(2026, 6, 30)])
    book.save(tmp_path / "n.xlsx")
    assert "项目：补贴；金额：1500；截止日期：2026-06-30" in load_file(tmp_path / "n.xlsx", MB).text


def test_a_huge_workbook_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from openpyxl import Workbook

    monkeypatch.setattr("ingest.office.MAX_SHEET_CELLS", 50)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for i in range(30):
        sheet.append([f"a{i}", f"b{i}"])
    book.save(tmp_path / "big.xlsx")
    with pytest.raises(LoadError) as info:
        load_file(tmp_path / "big.xlsx", MB)
    assert info.value.reason == "too_large" and "cells" in str(info.value)


@pytest.mark.skipif(shutil.which("antiword") is None, reason="Debian's antiword is not installed")
def test_legacy_doc_reads_through_antiword(tmp_path: Path) -> None:
    path = tmp_path / "subsidy.doc"
    shutil.copy(FIXTURES / "subsidy.doc", path)
    _check_subsidy(path)


def test_doc_without_antiword_fails_with_a_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ingest.office.shutil.which", lambda _name: None)
    path = tmp_path / "subsidy.doc"
    shutil.copy(FIXTURES / "subsidy.doc", path)
    with pytest.raises(LoadError) as info:
        load_file(path, MB)
    assert info.value.reason == "unsupported" and "antiword" in str(info.value)


@pytest.mark.skipif(shutil.which("antiword") is None, reason="Debian's antiword is not installed")
def test_a_broken_doc_fails_alone(tmp_path: Path) -> None:
    path = tmp_path / "broken.doc"
    path.write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 600)
    with pytest.raises(LoadError) as info:
        load_file(path, MB)
    assert info.value.reason == "corrupt"


def test_a_cited_row_shows_as_a_small_table() -> None:
    from dataclasses import replace

    from chatbot.ui.render import sources_html

    citation = Citation(
        n=1,
        doc_id="d",
        source="/x/subsidy.docx",
        title="示例市稳岗就业补贴实施细则",
        locator="",
        text=FIRST_ROW,
        start=0,
        end=len(FIRST_ROW),
        score=1.0,
        quote=FIRST_ROW,
    )
    answer = Answer("q", "a", "extractive", False, (citation,), language="zh")
    html = sources_html(answer)
    assert '<table class="pqa-row">' in html
    assert "<th>补贴标准</th>" in html and "<td>每人1500元</td>" in html
    prose = replace(
        citation, text="第一条 本办法适用于小微企业。", quote="第一条 本办法适用于小微企业。"
    )
    assert "pqa-row" not in sources_html(replace(answer, citations=(prose,)))
