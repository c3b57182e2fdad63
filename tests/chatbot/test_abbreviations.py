"""Abbreviations a question uses and the library spells out (社保 for 社会保险)."""

from __future__ import annotations

from chatbot.answering.abbreviations import abbreviations, spelled_out
from index_store.keyword import KeywordIndex, tokenize


def _library(*texts: str) -> KeywordIndex:
    return KeywordIndex([f"c{i}" for i in range(len(texts))], [tokenize(t) for t in texts])


def test_an_abbreviation_the_library_never_writes_is_read_as_it_writes_it() -> None:
    library = _library("经批准后可缓缴社会保险费。", "提高企业效益。", "高新技术企业给予奖励。")
    assert spelled_out("社保费可以缓缴吗？", library) == "社会保险费可以缓缴吗？"
    # 提高企业 holds the characters 高企 across two words; it does not write 高企.
    assert spelled_out("高企奖励多少？", library) == "高新技术企业奖励多少？"


def test_only_a_word_that_starts_with_the_abbreviation_is_read_as_it() -> None:
    library = _library("个人所得税免征。", "高新技术企业给予奖励。", "人力资源社会保障局负责解释。")
    # 哪几个税种 holds 个税 across two words, 提高企业 holds 高企: neither is the abbreviation.
    assert spelled_out("免征哪几个税种？", library) == "免征哪几个税种？"
    assert spelled_out("如何提高企业效益？", library) == "如何提高企业效益？"
    assert spelled_out("个税和高企呢？", library) == "个人所得税和高新技术企业呢？"
    # jieba splits 人社局 into 人 and 社局: where it starts is enough.
    assert spelled_out("人社局负责什么？", library) == "人力资源社会保障局负责什么？"


def test_the_users_word_stays_when_the_library_writes_it_or_not_the_full_form() -> None:
    # jieba reads 社保费 as one word: the library still writes 社保.
    writes_it = _library("企业社保费减免三个月。", "经批准后可缓缴社会保险费。")
    assert spelled_out("社保费可以缓缴吗？", writes_it) == "社保费可以缓缴吗？"
    # However jieba splits it: 省人社厅 may be read as 省, 人社, 厅.
    split = _library("山西省人社厅开展线上招聘。", "人力资源社会保障厅负责解释。")
    assert spelled_out("人社厅开展了什么活动？", split) == "人社厅开展了什么活动？"
    neither = _library("贷款贴息期限不超过1年。")
    assert spelled_out("社保费可以缓缴吗？", neither) == "社保费可以缓缴吗？"
    assert spelled_out("What is the refund window?", neither) == "What is the refund window?"


def test_the_longer_abbreviation_and_the_full_form_the_library_writes_come_first() -> None:
    library = _library("凭社会保障卡办理。", "缴纳社会保险费。", "人力资源社会保障局负责解释。")
    assert spelled_out("社保卡怎么办？", library) == "社会保障卡怎么办？"
    assert spelled_out("社保怎么交？", library) == "社会保险怎么交？"
    # With 和 or without, as the library writes it.
    assert spelled_out("人社局负责什么？", _library("人力资源社会保障局负责解释。")) == (
        "人力资源社会保障局负责什么？"
    )
    assert spelled_out("人社局负责什么？", _library("人力资源和社会保障局负责解释。")) == (
        "人力资源和社会保障局负责什么？"
    )


def test_every_abbreviation_is_shorter_than_its_full_forms() -> None:
    table = abbreviations()
    assert len(table) >= 20
    for short, full_forms in table:
        assert full_forms and all(len(short) < len(f) for f in full_forms), short
