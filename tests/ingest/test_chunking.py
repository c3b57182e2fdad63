from __future__ import annotations

import itertools

import pytest

from index_store.records import SourceDocument
from ingest.chunking import ChunkingConfig, chunk_document, find_markers, split_units, table_header
from tests.files import EN_POLICY, ZH_POLICY

CFG = ChunkingConfig(size=300, overlap=50, min_chars=20)


def chunks_of(text: str, title: str, cfg: ChunkingConfig = CFG):  # type: ignore[no-untyped-def]
    return chunk_document(SourceDocument("s", text, title), cfg)


def test_chinese_chapters_and_articles_form_the_heading_path() -> None:
    chunks = chunks_of(ZH_POLICY.strip(), "关于支持小微企业稳定发展的通知")
    by_article = {c.heading_path[-1]: c for c in chunks}
    social = by_article["第三条 社保补贴"]
    assert social.heading_path == (
        "关于支持小微企业稳定发展的通知",
        "第二章 支持措施",
        "第三条 社保补贴",
    )
    assert "每人每月500元" in social.text
    assert by_article["第四条"].heading_path[1] == "第三章 申报"


def test_inline_markers_in_single_line_notices() -> None:
    # Many notices arrive as one line with spaces between sections.
    text = (
        "某市税务局 为支持疫情防控，提出以下要求。 一、支持物资供应 对生产企业免征增值税。"
        "（一）落实优惠政策。（二）优化退税服务。 二、支持医疗救治 对医疗机构免征增值税。"
    )
    units = split_units(text, "某市税务局")
    paths = [u.path for u in units]
    assert ("某市税务局", "一、支持物资供应", "（一）落实优惠政策") in paths
    assert ("某市税务局", "一、支持物资供应", "（二）优化退税服务") in paths
    assert ("某市税务局", "二、支持医疗救治") in paths


def test_article_references_inside_sentences_are_not_headings() -> None:
    text = "第五条 企业应当按照本办法第十条规定提交材料，并遵守第三章的要求。"
    labels = [m.label for m in find_markers(text)]
    assert labels == ["第五条"]


def test_a_number_closing_an_english_sentence_is_not_a_list_item() -> None:
    text = (
        "The Fiscal Year runs from February 1 to January 31. The naming follows the end month."
        "\nScores range from 1 to 5. Use the whole range.\n1. First step\n2. Second step"
    )
    assert [m.label for m in find_markers(text)] == ["1. First step", "2. Second step"]
    # In Chinese text a number after a word and a space still opens an item.
    text = "捐款账号 2102108009 2.网络捐款 登录网站。防护口罩：GB 19083-2010 2. N95口罩：进口。"
    assert [m.label for m in find_markers(text)] == ["2.网络捐款", "2."]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("第一章 总则\n", [(10, "第一章 总则")]),
        ("第二节 申报\n", [(11, "第二节 申报")]),
        ("一、支持措施。", [(13, "一、支持措施")]),
        ("（三）房租减免：", [(14, "（三）房租减免")]),
        ("1. 申请表；", [(15, "1.")]),
        ("(2) 营业执照", [(18, "(2) 营业执照")]),
        ("## Section 3 Warranty\n", [(2, "Section 3 Warranty")]),
        ("Section 4.2 Refunds\n", [(11, "Section 4.2 Refunds")]),
        ("Article 7 Liability\n", [(12, "Article 7 Liability")]),
        ("3.2 Opened items\n", [(16, "3.2 Opened items")]),
        ("3.2. Opened items\n", [(16, "3.2. Opened items")]),
        ("第5条 申报\n", [(12, "第5条 申报")]),
        ("1）申请表\n2）营业执照\n", [(18, "1）申请表"), (18, "2）营业执照")]),
        # Inside a line these are times and references, not items.
        ("开放时间（9:00-17:00）", []),
        ("依照 第5条规定办理", []),
    ],
)
def test_marker_levels_and_labels(text: str, expected: list[tuple[int, str]]) -> None:
    assert [(m.level, m.label) for m in find_markers(text)] == expected


def test_english_sections_and_numbered_subsections() -> None:
    chunks = chunks_of(EN_POLICY.strip(), "Travel Expense Policy")
    flights = next(c for c in chunks if "economy class" in c.text)
    assert flights.heading_path == ("Travel Expense Policy", "Section 2 Booking", "2.1 Flights")
    hotels = next(c for c in chunks if "200 dollars" in c.text)
    assert hotels.heading_path[-1] == "2.2 Hotels"


def test_offsets_point_at_the_exact_text() -> None:
    text = ZH_POLICY.strip() + "\n" + "为进一步优化营商环境，持续推进改革。" * 40
    doc = SourceDocument("s", text, "t")
    for c in chunk_document(doc, ChunkingConfig(size=120, overlap=30, min_chars=20)):
        assert text[c.start : c.end] == c.text


def test_long_clause_splits_on_sentences_with_overlap() -> None:
    sentences = [f"第{i}句规定企业应当按期申报材料并接受审核。" for i in range(1, 31)]
    text = "第七条 申报要求\n" + "".join(sentences)
    chunks = chunks_of(text, "办法", ChunkingConfig(size=100, overlap=40, min_chars=10))
    assert len(chunks) > 3
    assert all(len(c.text) <= 100 for c in chunks)
    for c in chunks[:-1]:
        assert c.text.endswith("。"), c.text  # cut on a sentence end
    for prev, nxt in itertools.pairwise(chunks):
        assert nxt.start < prev.end  # consecutive windows overlap
        assert prev.end - nxt.start <= 40
    assert all(c.heading_path == ("办法", "第七条 申报要求") for c in chunks)


def test_tiny_headings_merge_into_the_clause_they_introduce() -> None:
    text = (
        "第二章 支持措施\n第三条 房租减免\n"
        "对承租国有经营用房的小微企业，免收两个月房租，之后三个月减半收取，以减轻企业负担。"
    )
    chunks = chunks_of(text, "办法", ChunkingConfig(size=300, overlap=50, min_chars=40))
    assert len(chunks) == 1
    assert chunks[0].heading_path == ("办法", "第二章 支持措施", "第三条 房租减免")


def test_a_markdown_heading_introduces_what_follows_it_not_what_precedes_it() -> None:
    text = (
        "## Scope\n\nThis policy covers every product bought from the store.\n\n"
        "## Refunds\n\n### Opened items\n\nOpened items can be returned within 14 days.\n"
    )
    chunks = chunks_of(text, "Policy", ChunkingConfig(size=300, overlap=50, min_chars=80))
    assert [c.heading_path for c in chunks] == [
        ("Policy", "Scope"),
        ("Policy", "Refunds", "Opened items"),
    ]
    assert chunks[1].text.startswith("## Refunds")


def test_lines_inside_a_fenced_code_block_are_neither_headings_nor_items() -> None:
    # From the handbook's tools page: a shell comment took over every later heading path.
    text = (
        "## Git\n\nPrune deleted branches with an alias.\n\n"
        "```sh\n# Delete all remote tracking Git branches\n1. not a list item\nalias p=x\n```\n\n"
        "~~~\n## still code\n~~~\n\n"
        "### Calendars\n\nThe GitLab Team Meetings Calendar lists company-wide meetings.\n"
    )
    labels = [m.label for m in find_markers(text)]
    assert labels == ["Git", "Calendars"]
    chunks = chunks_of(text, "Tools", ChunkingConfig(size=300, overlap=50, min_chars=20))
    assert chunks[-1].heading_path == ("Tools", "Git", "Calendars")
    # An unclosed fence runs to the end of the text, as in CommonMark.
    assert [m.label for m in find_markers("## A\n```\n## B\n")] == ["A"]
    # A page's YAML front matter is metadata too: its comment is no heading.
    front = "---\ntitle: Security\n# See https://www.docsy.dev/docs\n---\n\n## Vision\n"
    assert [m.label for m in find_markers(front)] == ["Vision"]


def test_small_sibling_items_merge_under_their_common_parent() -> None:
    text = (
        "第六条 申报材料\n企业应当提交以下材料，并对真实性负责：\n"
        "1. 申请表；\n2. 营业执照复印件；\n3. 缴费证明。"
    )
    chunks = chunks_of(text, "办法", ChunkingConfig(size=300, overlap=50, min_chars=80))
    assert len(chunks) == 1
    assert chunks[0].heading_path == ("办法", "第六条 申报材料")


def test_plain_prose_without_markers_still_chunks_on_sentences() -> None:
    text = "重庆249家餐饮门店推行无接触点餐服务。" * 30
    chunks = chunks_of(text, "新闻", ChunkingConfig(size=150, overlap=0, min_chars=20))
    assert len(chunks) >= 4
    assert all(c.heading_path == ("新闻",) for c in chunks)
    assert "".join(c.text for c in chunks) == text


def test_latin_script_text_gets_three_times_the_characters_of_chinese() -> None:
    # About as many model tokens either way: an English character is about a third of one.
    cfg = ChunkingConfig(size=100, overlap=20, min_chars=10)
    english = "Refunds are paid within 14 days of the request. " * 20
    chinese = "退款在申请之日起十四日内支付。" * 40
    en_chunks = chunks_of(english, "Policy", cfg)
    zh_chunks = chunks_of(chinese, "办法", cfg)
    assert max(len(c.text) for c in en_chunks) > 200
    assert all(len(c.text) <= 300 for c in en_chunks)
    assert all(len(c.text) <= 100 for c in zh_chunks)
    # Overlap scales with the size: consecutive English windows share up to 60 characters.
    for prev, nxt in itertools.pairwise(en_chunks):
        assert 0 < prev.end - nxt.start <= 60
    assert cfg.for_text(chinese) == cfg
    assert cfg.for_text(english) == ChunkingConfig(size=300, overlap=60, min_chars=30)


def test_a_sentence_longer_than_the_chunk_is_still_cut() -> None:
    text = "企业" * 400
    chunks = chunks_of(text, "t", ChunkingConfig(size=100, overlap=0, min_chars=10))
    assert all(len(c.text) <= 100 for c in chunks)
    assert "".join(c.text for c in chunks) == text


def test_table_header_of_a_row_below_it() -> None:
    text = "Intro\n| Member | Channel |\n| --- | :---: |\n| CEO | #ceo |\n| CFO | #finance |\nEnd"
    assert table_header(text, text.index("| CFO")) == "| Member | Channel |"
    assert table_header(text, text.index("| CEO")) == "| Member | Channel |"
    # The header itself, text that is no row, a position inside a row: nothing to add.
    for at in ("| Member", "End", "#finance"):
        assert table_header(text, text.index(at)) is None
    headless = "| a | b |\n| c | d |\n| e | f |"
    assert table_header(headless, headless.index("| e")) is None
