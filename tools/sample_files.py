"""Sample policy files made at run time: one subsidy table written as DOCX, XLSX and PDF
(the same rows in each), and a minimal PDF writer for Chinese text pages, ruled tables and
scanned pages. The table tests and ``tools.real_files_bench`` use them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from index_store.records import Answer, Citation

# A subsidy table as policies print it: the same rows go into a DOCX, an XLSX and a PDF, and
# each row is asked about on its own (tests/ingest/test_tables.py, tools/real_files_bench.py).
SUBSIDY_CAPTION = "表1 稳岗就业补贴标准"
SUBSIDY_ROWS = [
    ["补贴项目", "适用对象", "补贴标准", "申请期限"],
    ["一次性吸纳就业补贴", "招用高校毕业生的小微企业", "每人1500元", "每年6月30日前"],
    ["社会保险补贴", "招用就业困难人员的企业", "每人每月400元", "每季度首月"],
    ["公益性岗位补贴", "开发公益性岗位的单位", "每人每月1200元", "每年9月"],
    ["创业担保贷款", "个人创业者", "贷款额度最高30万元", "随时申请"],
    ["稳岗返还", "不裁员的参保企业", "上年度失业保险费的60%", "每年5月"],
    ["技能提升补贴", "取得职业资格证书的职工", "每人1000元至2000元", "取证后12个月内"],
    ["以工代训补贴", "组织职工以工代训的企业", "每人每月500元", "每年11月"],
    ["见习补贴", "接收青年见习的单位", "每人每月2000元", "见习结束后3个月内"],
    ["首次创业补贴", "首次创办小微企业的高校毕业生", "一次性10000元", "注册后1年内"],
    ["场地租金补贴", "入驻创业孵化基地的企业", "每年最高2万元", "每年12月"],
]
SUBSIDY_TITLE = "示例市稳岗就业补贴实施细则"
SUBSIDY_BEFORE = [
    "一、总则",
    "为稳定就业岗位，支持企业吸纳就业，制定本细则。",
    "二、补贴标准",
    SUBSIDY_CAPTION,
]
SUBSIDY_AFTER = ["三、申请方式", "企业通过示例市政务服务网提交申请，人社部门在20个工作日内审核。"]
# (question, the row's 补贴项目, the value the answer must quote)
SUBSIDY_QUESTIONS = [
    ("招用高校毕业生的小微企业能领多少一次性吸纳就业补贴？", "一次性吸纳就业补贴", "每人1500元"),
    ("招用就业困难人员的企业社会保险补贴标准是多少？", "社会保险补贴", "每人每月400元"),
    ("开发公益性岗位的单位每月能补贴多少？", "公益性岗位补贴", "每人每月1200元"),
    ("个人创业者的创业担保贷款额度最高多少？", "创业担保贷款", "30万元"),
    ("不裁员的参保企业稳岗返还多少？", "稳岗返还", "60%"),
    ("职工取得职业资格证书的技能提升补贴是多少？", "技能提升补贴", "1000元至2000元"),
    ("以工代训补贴的标准是什么？", "以工代训补贴", "每人每月500元"),
    ("接收青年见习的单位见习补贴多少？", "见习补贴", "每人每月2000元"),
    ("高校毕业生首次创业补贴有多少钱？", "首次创业补贴", "一次性10000元"),
    ("入驻创业孵化基地的企业场地租金补贴最多多少？", "场地租金补贴", "每年最高2万元"),
]


def right_row(answer: Answer, item: str, value: str) -> Citation | None:
    """The citation of ``answer``'s first quote when it quotes the row of ``item`` with
    ``value`` under 补贴标准 (a row question answered from the right row), else None."""
    first = next((c for c in answer.citations if c.quote), None)
    if answer.refused or first is None:
        return None
    row = first.quote.split("\n")[0]
    right = row.startswith(f"补贴项目：{item}；") and value in row.split("补贴标准：")[-1]
    return first if right else None


def make_table_docx(path: Path) -> Path:
    """The subsidy policy as a DOCX: paragraphs, the ruled table, paragraphs after it."""
    import docx

    document = docx.Document()
    document.core_properties.title = SUBSIDY_TITLE
    document.add_paragraph(SUBSIDY_TITLE, style="Title")
    for text in SUBSIDY_BEFORE:
        document.add_paragraph(text)
    table = document.add_table(rows=len(SUBSIDY_ROWS), cols=len(SUBSIDY_ROWS[0]))
    table.style = "Table Grid"
    for i, row in enumerate(SUBSIDY_ROWS):
        for j, value in enumerate(row):
            table.cell(i, j).text = value
    for text in SUBSIDY_AFTER:
        document.add_paragraph(text)
    document.save(str(path))
    return path


def make_table_xlsx(path: Path) -> Path:
    """The subsidy table as a workbook: a caption row over the header, then the rows."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "补贴标准"
    sheet.append([SUBSIDY_CAPTION])
    for row in SUBSIDY_ROWS:
        sheet.append(row)
    book.properties.title = SUBSIDY_TITLE
    book.save(str(path))
    return path


class CjkPdf:
    """A minimal PDF writer for Chinese text pages (the standard STSong-Light CID font, which
    readers resolve without an embedded font), ruled tables and scanned (JPEG) pages."""

    SIZE = 9.0  # points; every CJK glyph is one em wide

    def __init__(self) -> None:
        self.pages: list[tuple[bytes, bytes | None, tuple[int, int]]] = []

    @staticmethod
    def _text(x: float, y: float, text: str, size: float) -> bytes:
        hexed = text.encode("utf-16-be").hex().upper()
        return f"BT /F1 {size} Tf {x:.1f} {y:.1f} Td <{hexed}> Tj ET\n".encode()

    def text_page(
        self, before: list[str], rows: list[list[str]] | None = None, after: Sequence[str] = ()
    ) -> None:
        size, y, out = self.SIZE, 800.0, bytearray()
        for line in before:
            out += self._text(50, y, line, size)
            y -= size * 2
        if rows:
            widths = [max(len(r[i]) for r in rows) * size + 8 for i in range(len(rows[0]))]
            height = size * 2
            for row in rows:
                x = 50.0
                for width, cell in zip(widths, row, strict=True):
                    out += (
                        f"{x:.1f} {y - height * 0.3:.1f} {width:.1f} {height:.1f} re S\n".encode()
                    )
                    out += self._text(x + 4, y, cell, size)
                    x += width
                y -= height
            y -= size
        for line in after:
            out += self._text(50, y, line, size)
            y -= size * 2
        self.pages.append((bytes(out), None, (0, 0)))

    def scanned_page(self, jpeg: bytes, width: int, height: int) -> None:
        self.pages.append((b"q 595 0 0 842 0 0 cm /Im1 Do Q\n", jpeg, (width, height)))

    def to_bytes(self) -> bytes:
        objects: list[bytes] = [b"", b""]  # catalog and page tree, filled in at the end
        font = len(objects) + 1
        objects += [
            b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H "
            b"/DescendantFonts [%d 0 R] >>" % (font + 1),
            b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo "
            b"<< /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> /FontDescriptor %d 0 R "
            b"/DW 1000 >>" % (font + 2),
            b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox "
            b"[-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 "
            b"/StemV 93 >>",
        ]
        kids = []
        for content, jpeg, (w, h) in self.pages:
            resources = b"/Font << /F1 %d 0 R >>" % font
            if jpeg is not None:
                objects.append(
                    b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace "
                    b"/DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n"
                    % (w, h, len(jpeg))
                    + jpeg
                    + b"\nendstream"
                )
                resources += b" /XObject << /Im1 %d 0 R >>" % len(objects)
            objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
            objects.append(
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << %s >> "
                b"/Contents %d 0 R >>" % (resources, len(objects))
            )
            kids.append(len(objects))
        objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
        refs = " ".join(f"{k} 0 R" for k in kids)
        objects[1] = f"<< /Type /Pages /Kids [{refs}] /Count {len(kids)} >>".encode()
        return pdf_file(objects)


def pdf_file(objects: Sequence[bytes]) -> bytes:
    """A PDF of ``objects`` (numbered from 1, the catalog first) with its cross-reference
    table and trailer."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    trailer = f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n"
    return bytes(out) + trailer.encode() + b"%%EOF\n"


def make_table_pdf(path: Path) -> Path:
    """The subsidy policy as a one-page text PDF with the table ruled."""
    pdf = CjkPdf()
    pdf.text_page([SUBSIDY_TITLE, *SUBSIDY_BEFORE], SUBSIDY_ROWS, SUBSIDY_AFTER)
    path.write_bytes(pdf.to_bytes())
    return path
