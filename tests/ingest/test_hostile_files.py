"""Hostile files fail alone, within limits, and leave the rest of the batch and the index intact."""

from __future__ import annotations

import resource
import time
import zipfile
import zlib
from pathlib import Path

import pytest

from index_store.errors import LoadError
from index_store.store import IndexStore
from ingest.pipeline import Ingestor, ingest_paths
from ingest.sandbox import IsolatedLoader, ParseLimits
from tests.files import make_docx, make_pdf

# The real model, real processes or real files: out of the quick loop (-m "not slow").
pytestmark = pytest.mark.slow

SMALL_LIMITS = ParseLimits(memory_mb=512, cpu_s=20, wall_s=60)


def pdf_bomb(expanded_mb: int) -> bytes:
    """A one-page PDF whose content stream inflates to ``expanded_mb`` MB."""
    unit = b"BT /F1 12 Tf 72 720 Td (bomb) Tj ET\n" * 1000
    compressor = zlib.compressobj(9)
    stream = b"".join(compressor.compress(unit) for _ in range(expanded_mb * 2**20 // len(unit)))
    stream += compressor.flush()
    pdf = make_pdf(["placeholder"])
    start = pdf.index(b"<< /Length")
    end = pdf.index(b"endstream", start) + len(b"endstream")
    body = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream
    patched = pdf[:start] + body + b"\nendstream" + pdf[end:]
    return patched  # the xref offsets are off now; pypdf rebuilds them, as it does for real files


def docx_bomb(path: Path, padding_mb: int) -> Path:
    """A valid DOCX whose document.xml is padded (after the root element) to ``padding_mb``."""
    good = make_docx(path.with_suffix(".src.docx"), "Bomb", [("Body", ["Some text."])])
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename != "word/document.xml":
                dst.writestr(item, data)
                continue
            with dst.open("word/document.xml", "w", force_zip64=True) as out:
                out.write(data)
                for _ in range(padding_mb):
                    out.write(b" " * 2**20)
    good.unlink()
    return path


def docx_entities(path: Path) -> Path:
    """A DOCX whose document.xml declares a billion-laughs entity chain and uses it."""
    good = make_docx(path.with_suffix(".src.docx"), "Laughs", [("Body", ["Plain text."])])
    levels = ['<!ENTITY l0 "lol">'] + [
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    ]
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "word/document.xml":
                text = data.decode()
                head, _, rest = text.partition("?>")
                text = f"{head}?><!DOCTYPE w:document [{''.join(levels)}]>{rest}"
                text = text.replace("Plain text.", "&l9;")
                data = text.encode()
            dst.writestr(item, data)
    good.unlink()
    return path


def test_a_pdf_decompression_bomb_fails_alone(tmp_path: Path) -> None:
    path = tmp_path / "bomb.pdf"
    path.write_bytes(pdf_bomb(800))
    loader = IsolatedLoader(50 * 2**20, SMALL_LIMITS)
    started = time.monotonic()
    with pytest.raises(LoadError) as info:
        loader.load(path)
    assert info.value.reason in ("resource_limit", "corrupt")
    assert time.monotonic() - started < SMALL_LIMITS.wall_s
    good = tmp_path / "good.pdf"
    good.write_bytes(make_pdf(["Refunds are paid within 30 days."]))
    assert "30 days" in loader.load(good).text  # the next file gets a fresh parser
    loader.close()


def test_a_docx_zip_bomb_hits_the_memory_limit_in_the_child(tmp_path: Path) -> None:
    bomb = docx_bomb(tmp_path / "bomb.docx", padding_mb=700)
    assert bomb.stat().st_size < 5 * 2**20  # small on disk, 700 MB inflated
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    loader = IsolatedLoader(50 * 2**20, SMALL_LIMITS)
    with pytest.raises(LoadError) as info:
        loader.load(bomb)
    assert info.value.reason == "resource_limit" and "limits" in str(info.value)
    # The parent never held the inflated text.
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024
    loader.close()


def xlsx_bomb(path: Path, padding_mb: int) -> Path:
    """A valid workbook whose sheet XML is padded (inside a cell's text) to ``padding_mb``."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["项目", "标准"])
    sheet.append(["PAD", "1000元"])
    good = path.with_suffix(".src.xlsx")
    book.save(good)
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if not item.filename.startswith("xl/worksheets/"):
                dst.writestr(item, data)
                continue
            head, _, tail = data.partition(b"PAD")
            with dst.open(item.filename, "w", force_zip64=True) as out:
                out.write(head)
                for _ in range(padding_mb):
                    out.write(b"x" * 2**20)
                out.write(tail)
    good.unlink()
    return path


def test_an_xlsx_zip_bomb_fails_alone_in_the_child(tmp_path: Path) -> None:
    bomb = xlsx_bomb(tmp_path / "bomb.xlsx", padding_mb=700)
    assert bomb.stat().st_size < 5 * 2**20
    loader = IsolatedLoader(50 * 2**20, SMALL_LIMITS)
    try:
        with pytest.raises(LoadError) as info:
            loader.load(bomb)
        assert info.value.reason in ("resource_limit", "corrupt")
        good = tmp_path / "good.xlsx"
        xlsx_bomb(good, padding_mb=0)
        assert "标准：1000元" in loader.load(good).text  # the next file gets a fresh parser
    finally:
        loader.close()


def test_xml_entities_in_a_docx_are_not_expanded(tmp_path: Path) -> None:
    path = docx_entities(tmp_path / "laughs.docx")
    loader = IsolatedLoader(50 * 2**20, SMALL_LIMITS)
    started = time.monotonic()
    try:
        text = loader.load(path).text
        assert "lol" * 100 not in text and len(text) < 10_000
    except LoadError as exc:
        assert exc.reason in ("corrupt", "empty", "resource_limit")
    assert time.monotonic() - started < 30
    loader.close()


HOSTILE_NAMES = [
    "line\nbreak.txt",
    "-dash-first.txt",
    "\u202eevil-rtl.txt",
    "double..dot...txt",
    "空格 和 中文 名.txt",
    "x" * 200 + ".txt",
    "<script>alert(1)<\\script>.txt",
]


def test_a_batch_with_hostile_files_keeps_its_good_files(
    ingestor: Ingestor, store: IndexStore, tmp_path: Path
) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    for i, name in enumerate(HOSTILE_NAMES):
        (folder / name).write_text(f"第一条 第{i}号通知：按规定申请补贴。\n", encoding="utf-8")
    (folder / "bomb.pdf").write_bytes(pdf_bomb(300))
    (folder / "truncated.pdf").write_bytes(make_pdf(["Some text"])[:80])
    (folder / "garbage.docx").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    (folder / "garbage.xlsx").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    (folder / "garbage.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (folder / "garbage.tif").write_bytes(b"II*\x00" + bytes(range(256)))
    report = ingest_paths([folder], ingestor)
    added = {Path(o.source).name for o in report.by_status("added")}
    assert added == set(HOSTILE_NAMES)
    failed = {Path(o.source).name: o.reason for o in report.by_status("failed")}
    broken = {"truncated.pdf", "garbage.docx", "garbage.xlsx", "garbage.png", "garbage.tif"}
    assert set(failed) == {"bomb.pdf", *broken}
    assert all(failed[name] == "corrupt" for name in broken), failed
    assert {Path(d.source).name for d in store.documents()} == set(HOSTILE_NAMES)
