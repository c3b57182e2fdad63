"""OCR for scanned pages: the layout rules on recognised boxes, and real scans (rendered here
from policy text, with rotation, noise and a red seal) read through the parsing child."""

from __future__ import annotations

import io
import re
import zlib
from pathlib import Path

import pytest

from index_store.errors import LoadError
from ingest.ocr import Box, english_spaces, fix_text, join_pieces, layout, remove_red
from ingest.paged import OCR_MAX_PIXELS, OCR_PAGES_KEY
from ingest.sandbox import IsolatedLoader
from tests.files import DEMO_DIR
from tools.sample_files import CjkPdf, pdf_file
from tools.scanned import Scan, char_accuracy, cjk_font, render_pages, save_pdf

MB = 50 * 2**20
POLICY = (DEMO_DIR / "中小企业纾困扶持办法.txt").read_text(encoding="utf-8")
needs_font = pytest.mark.skipif(
    cjk_font() is None,
    reason="no Chinese font to render scans (apt-get install fonts-wqy-microhei)",
)
# Tests that run OCR (seconds a page) are out of the quick loop (-m "not slow").
ocr = pytest.mark.slow


def box(text: str, x0: float, y0: float, x1: float, h: float = 30) -> Box:
    return Box(text, x0, y0, x1, y0 + h)


def test_wrapped_chinese_lines_join_without_spaces() -> None:
    boxes = [
        box("第三条 房租减免", 100, 100, 400),
        box("承租市属国有企业经营用房的中小微企业，免收3", 160, 150, 1500),  # indented: new
        box("个月房租。", 100, 200, 260),  # wraps from the line above
        box("（二）承租其他经营用房的，鼓励业主减免租金。", 160, 250, 1400),
    ]
    assert layout(boxes) == (
        "第三条 房租减免\n承租市属国有企业经营用房的中小微企业，免收3个月房租。\n"
        "（二）承租其他经营用房的，鼓励业主减免租金。"
    )


def test_boxes_on_one_line_read_left_to_right() -> None:
    boxes = [box("申报时间", 500, 102, 640), box("第六条", 100, 100, 200)]
    assert layout(boxes) == "第六条 申报时间"  # a marker run on gets its space back
    assert join_pieces("refunds are", "paid") == "refunds are paid"
    assert join_pieces("reim-", "bursed") == "reimbursed"
    assert join_pieces("补贴", "标准") == "补贴标准"


def test_english_words_ocr_ran_together_are_split_again() -> None:
    read = "Standard support isavailableMonday toFriday,9:00 to18:00in thecustomer's zone."
    assert english_spaces(read) == (
        "Standard support is available Monday to Friday, 9:00 to 18:00 in the customer's zone."
    )
    # Words, names and numbers that stand as written are kept.
    kept = "Refunds within 30 days; PolicyQA, PP-OCRv4, 1,000 and 3.5 items."
    assert english_spaces(kept) == kept
    assert english_spaces("第一条 PM2.5浓度达标的企业") == "第一条 PM2.5浓度达标的企业"


def test_ocr_fixes_keep_doc_numbers_and_markers() -> None:
    assert fix_text("示政办【2026】3号") == "示政办〔2026〕3号"
    assert fix_text("第一章总则\n按照第十条规定") == "第一章 总则\n按照第十条规定"


def test_red_seals_are_removed_and_black_text_kept() -> None:
    import numpy as np

    pixels = np.full((4, 4, 3), 255, dtype=np.uint8)
    pixels[0, 0] = (220, 30, 35)  # seal red
    pixels[1, 1] = (20, 20, 20)  # text black
    out = remove_red(pixels)
    assert tuple(out[0, 0]) == (255, 255, 255) and tuple(out[1, 1]) == (20, 20, 20)


@pytest.fixture(scope="module")
def loader() -> object:
    isolated = IsolatedLoader(MB)
    yield isolated
    isolated.close()


@pytest.fixture(scope="module")
def pages() -> list[object]:
    font = cjk_font()
    if font is None:
        pytest.skip("no Chinese font to render scans")
    return list(render_pages(POLICY, Scan(dpi=200, rotation=0.6, noise=0.01, stamp=True), font))


@ocr
@needs_font
def test_a_scanned_pdf_reads_with_its_structure(
    tmp_path: Path, loader: IsolatedLoader, pages: list[object]
) -> None:
    path = tmp_path / "scan.pdf"
    save_pdf(pages, path, 200)  # type: ignore[arg-type]
    seen: list[tuple[int, int]] = []
    doc = loader.load(path, lambda done, total: seen.append((done, total)))
    assert seen == [(1, 2), (2, 2)]
    assert doc.metadata[OCR_PAGES_KEY] == "1,2" and len(doc.page_starts) == 2
    assert char_accuracy(POLICY, doc.text) >= 0.97
    # Structure markers start lines, so the chunker and the locators work on the scan.
    assert re.search(r"^第四条 稳岗返还$", doc.text, re.MULTILINE)
    assert re.search(r"^（一）承租市属国有企业", doc.text, re.MULTILINE)
    assert "示政办〔2026〕3号" in doc.text
    # No spaces inside Chinese text, but for the one typeset after 第X条 (as in the source).
    spaced = re.sub(r"第[一二三四五六七八九十]+[章条] ", "", doc.text)
    assert not re.search(r"[\u4e00-\u9fff] [\u4e00-\u9fff]", spaced)
    second = doc.text.index("第四章")
    assert doc.page_at(second) == 2


@ocr
@needs_font
@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_page_images_are_read(
    tmp_path: Path, loader: IsolatedLoader, pages: list[object], suffix: str
) -> None:
    path = tmp_path / f"page{suffix}"
    pages[0].convert("RGB").save(path)  # type: ignore[attr-defined]
    doc = loader.load(path)
    assert doc.kind == "image" and doc.metadata[OCR_PAGES_KEY] == "1"
    assert "按上年度实际缴纳失业保险费的60%予以返还" in doc.text


@ocr
@needs_font
def test_a_multi_page_tiff_is_a_page_per_frame(
    tmp_path: Path, loader: IsolatedLoader, pages: list[object]
) -> None:
    path = tmp_path / "scan.tif"
    first, second = (p.convert("L") for p in pages[:2])  # type: ignore[attr-defined]
    first.save(path, save_all=True, append_images=[second], compression="tiff_deflate")
    doc = loader.load(path)
    assert doc.metadata[OCR_PAGES_KEY] == "1,2"
    assert doc.page_at(doc.text.index("负责解释")) == 2


@ocr
@needs_font
def test_a_mixed_pdf_runs_ocr_only_where_a_page_has_no_text(
    tmp_path: Path, loader: IsolatedLoader, pages: list[object]
) -> None:
    jpeg = io.BytesIO()
    page = pages[1].convert("RGB")  # type: ignore[attr-defined]
    page.save(jpeg, "JPEG", quality=85)
    pdf = CjkPdf()
    pdf.text_page(["示例市文件", "第一条 本页是文字层，不需要识别。"])
    pdf.scanned_page(jpeg.getvalue(), *page.size)
    path = tmp_path / "mixed.pdf"
    path.write_bytes(pdf.to_bytes())
    seen: list[tuple[int, int]] = []
    doc = loader.load(path, lambda done, total: seen.append((done, total)))
    assert seen == [(1, 1)]  # the text page paid nothing
    assert doc.metadata[OCR_PAGES_KEY] == "2"
    assert doc.page_at(doc.text.index("本页是文字层")) == 1
    assert doc.page_at(doc.text.index("负责解释")) == 2


def _many_page_scan(pages: int) -> bytes:
    """A PDF of ``pages`` pages that all draw one tiny image: small on disk, long to OCR."""
    jpeg = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (8, 8), "white").save(jpeg, "JPEG")
    data = jpeg.getvalue()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    objects.append(
        b"<< /Type /XObject /Subtype /Image /Width 8 /Height 8 /ColorSpace /DeviceRGB "
        b"/BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n"
        % len(data)
        + data
        + b"\nendstream"
    )
    content = b"q 595 0 0 842 0 0 cm /Im1 Do Q"
    objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    kids = []
    for _ in range(pages):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /XObject << /Im1 3 0 R >> >> /Contents 4 0 R >>"
        )
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        pages,
    )
    return pdf_file(objects)


def test_a_2000_page_scan_is_refused_before_any_ocr(tmp_path: Path) -> None:
    path = tmp_path / "archive.pdf"
    path.write_bytes(_many_page_scan(2000))
    loader = IsolatedLoader(MB)
    seen: list[int] = []
    try:
        with pytest.raises(LoadError) as info:
            loader.load(path, lambda done, _total: seen.append(done))
    finally:
        loader.close()
    assert info.value.reason == "too_large" and "2000 pages" in str(info.value)
    assert seen == []


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` pixels and holds one empty row: a bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x00\x00\x00\x00"
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * (width + 1)))
        + chunk(b"IEND", b"")
    )


def test_an_image_bomb_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(30_000, 30_000))  # 900 megapixels declared
    loader = IsolatedLoader(MB)
    try:
        with pytest.raises(LoadError) as info:
            loader.load(path)
    finally:
        loader.close()
    assert info.value.reason == "too_large"


@ocr
@needs_font
def test_a_50_megapixel_photo_is_scaled_down_and_read(
    tmp_path: Path, loader: IsolatedLoader, pages: list[object]
) -> None:
    from PIL import Image

    from ingest.paged import page_image

    small = pages[1].convert("RGB")  # type: ignore[attr-defined]
    big = small.resize((small.width * 36 // 10, small.height * 36 // 10))  # about 50 MP
    assert big.width * big.height > 49_000_000
    path = tmp_path / "photo.jpg"
    big.save(path, quality=80)
    assert Image.open(path).size == big.size
    image = page_image(path, 0)
    assert image.width * image.height <= OCR_MAX_PIXELS
    assert "负责解释" in loader.load(path).text
