"""Builders for test input files in every supported format (made at test time, no fixtures
on disk)."""

from __future__ import annotations

from pathlib import Path

from tools.sample_files import pdf_file

DEMO_DIR = Path(__file__).resolve().parents[1] / "policyqa" / "demo_corpus"
DEMO_INTERNAL_DIR = DEMO_DIR.with_name("demo_internal")

ZH_POLICY = """关于支持小微企业稳定发展的通知
第一章 总则
第一条 为支持小微企业稳定发展，制定本通知。本通知适用于本市登记注册的小微企业。
第二章 支持措施
第二条 租金减免
对承租国有经营用房的小微企业，免收两个月房租。
第三条 社保补贴
对新招用高校毕业生的小微企业，按每人每月500元给予社会保险补贴，补贴期限最长12个月。
第三章 申报
第四条 企业应于2026年5月31日前通过政务服务网提交申请材料。
"""

EN_POLICY = """# Travel Expense Policy

Section 1 Scope
This policy applies to all employees who travel on company business.

Section 2 Booking
2.1 Flights
Employees should book economy class flights at least 14 days in advance to get discounted fares.
2.2 Hotels
Hotel costs are reimbursed up to 200 dollars per night in major cities.
"""


def _pdf_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages: list[str]) -> bytes:
    """A valid PDF with one text line per page (Helvetica, ASCII text), or blank pages for
    empty strings (an image-only scan has no text layer either)."""
    objects: list[bytes] = []
    n_pages = len(pages)
    page_ids = [3 + 2 * i for i in range(n_pages)]
    font_id = 3 + 2 * n_pages
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{p} 0 R" for p in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    for i, text in enumerate(pages):
        content_id = page_ids[i] + 1
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> /Contents {content_id} 0 R >>".encode()
        )
        stream = f"BT /F1 12 Tf 72 720 Td ({_pdf_string(text)}) Tj ET".encode() if text else b""
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    return pdf_file(objects)


def make_encrypted_pdf(pages: list[str], user_password: str, owner_password: str) -> bytes:
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(pages))))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="AES-128")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def make_docx(path: Path, title: str, sections: list[tuple[str, list[str]]]) -> Path:
    import docx

    document = docx.Document()
    document.add_heading(title, level=0)
    for heading, paragraphs in sections:
        document.add_heading(heading, level=1)
        for p in paragraphs:
            document.add_paragraph(p)
    document.save(str(path))
    return path
