"""Reading questions against passages in the other language through the policy glossary (English
over Chinese, Chinese over English): which terms a question has, how much of its meaning a
passage holds, which meanings a library never expresses, what BM25 searches for, and when a
question counts as asked across languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbot.answering import crosslingual
from chatbot.answering.crosslingual import (
    Term,
    asked_across,
    coverage,
    keywords,
    reachable,
    term_weight,
    terms,
    unexpressed,
)
from chatbot.answering.retrieval import HybridRetriever, RetrievalConfig
from index_store.errors import ConfigError
from index_store.records import Chunk, Hit
from index_store.store import IndexStore
from ingest.pipeline import Ingestor, ingest_paths
from tests.conftest import HashingEmbedding

NOTICE = (
    "（三）上云用云奖励。企业购买经认定的工业互联网平台服务的，按当年实际支付费用的50%给予奖励。"
)


def _hit(text: str) -> Hit:
    chunk = Chunk(
        chunk_id="c0", doc_id="d0", ordinal=0, text=text, start=0, end=len(text),
        heading_path=("通知",), page=None, source="d0", title="通知",
    )  # fmt: skip
    return Hit(chunk=chunk, score=1.0)


def _asked(found: tuple[Term, ...]) -> list[str]:
    return [" ".join(t.words) for t in found]


def test_the_longest_glossary_term_wins_and_framing_words_drop() -> None:
    found = terms("What is the corporate income tax rate for one-off awards?")
    assert _asked(found) == ["corpor incom tax", "rate", "one off", "award"]
    assert found[0].meanings == ("企业所得税",)


def test_a_word_the_glossary_lacks_is_a_term_without_chinese() -> None:
    found = terms("How do I get a refund for a cancelled flight?")
    assert _asked(found) == ["refund", "cancel", "flight"]
    assert found[-1].meanings == ()


def test_every_glossary_line_parses_to_a_term_with_chinese_words() -> None:
    glossary = crosslingual.glossary()
    assert len(glossary) > 300
    assert all(key and options and all(options) for key, options in glossary.items())
    # Read backwards, with the Chinese file: Chinese words, each with English ones.
    backwards = crosslingual.chinese_glossary()
    assert len(backwards) > len(glossary)
    assert all(
        not word.isascii() and english and all(w.isascii() for w in english)
        for word, english in backwards.items()
    )


def test_coverage_counts_a_term_held_by_any_of_its_chinese_words() -> None:
    found = terms("What share of the cloud platform fees is rewarded?")
    even = coverage(found, NOTICE, lambda t: 1.0)
    assert even == 1.0
    # A term the passage does not hold costs its weight.
    missing = terms("What share of the cloud platform fees is refunded to exporters?")
    assert coverage(missing, NOTICE, lambda t: 1.0) < 0.75


def test_a_meaning_the_corpus_never_uses_weighs_the_most() -> None:
    idf = {"奖励": 1.0, "_奖励": 1.0}.get
    weight = crosslingual.term_weight(lambda token: idf(token, 5.0))
    award, vat = terms("award VAT")
    assert weight(award) == 1.0
    assert weight(vat) == 5.0
    # A word the glossary does not know weighs the most: nothing says the passages hold it.
    (flight,) = terms("flight")
    assert weight(flight) == 5.0


def test_bm25_looks_for_the_chinese_words() -> None:
    searched = keywords(terms("What is the annual cap on loan interest subsidies?"))
    for word in ("每年", "最高", "贷款", "贴息"):
        assert word in searched.split()


def test_an_english_question_over_chinese_passages_is_asked_across() -> None:
    assert asked_across("What is the cloud award?", [_hit(NOTICE)] * 3)
    assert not asked_across("上云用云奖励是多少？", [_hit(NOTICE)] * 3)
    # An English passage among the best: the question is read in its own language.
    assert not asked_across("What is the cloud award?", [_hit(NOTICE), _hit("The cloud award.")])
    assert not asked_across("What is the cloud award?", [])
    # A word both languages write alike still leaves the question asked across.
    assert asked_across("What is the IPO award?", [_hit("企业IPO上市的，给予奖励。")] * 3)


def test_a_word_written_alike_in_both_languages_is_its_own_meaning() -> None:
    weight = crosslingual.term_weight(lambda token: 1.0)
    found = terms("What is the IPO award?")
    assert coverage(found, "企业IPO上市的，给予奖励。", weight) == 1.0
    assert coverage(found, "企业上市的，给予奖励。", weight) == 0.5
    # A library that never writes it cannot answer about it.
    seen = {"_奖励": 1.0, "奖励": 1.0}
    assert unexpressed(found, lambda token: seen.get(token, 5.0)) == [found[0]]
    # Latin letters in a Chinese question: "SLA" in the English passages.
    sla = terms("SLA的首次响应时间是多少？")
    assert ("sla",) in [t.words for t in sla]
    assert coverage(sla, "Under the SLA, the first response time is 1 hour.", weight) == 1.0
    # Only a word in capitals counts as written alike: "flight" has no meaning of its own.
    assert terms("a cancelled flight")[-1].meanings == ()


def test_a_chinese_question_reads_through_the_glossary_backwards() -> None:
    found = terms("已拆封的商品退货要收多少手续费？")
    # 要收 and 多少 frame the question; each term brings its English words.
    assert _asked(found) == ["已拆封", "商品", "退货", "手续费"]
    assert "opened" in found[0].meanings
    assert "return" in found[2].meanings
    # The English glossary read backwards: 贴息 is "interest subsidy".
    assert "interest subsidy" in terms("贴息")[0].meanings
    # A word the glossary lacks is a term without English words.
    assert terms("无人机")[0].meanings == ()
    searched = keywords(terms("退款一般多久到账？"))
    assert "refund" in searched and "一般" not in searched


def test_english_words_are_held_in_a_row_not_anywhere() -> None:
    (shipping,) = terms("运费")
    assert "delivery fee" in shipping.meanings
    text = "You may return an item within 30 days of delivery. A restocking fee applies."
    assert coverage([shipping], text, lambda t: 1.0) == 0.0
    assert coverage([shipping], "A delivery fee of 5 euros applies.", lambda t: 1.0) == 1.0
    # A meaning of stopwords is read as written: "more than" is not "no more than".
    most = Term(("最多",), ("no more than",))
    assert coverage([most], "travel more than four times a year", lambda t: 1.0) == 0.0
    assert coverage([most], "No more than 100 euros.", lambda t: 1.0) == 1.0


def test_a_passage_can_hold_only_what_the_glossary_reads() -> None:
    known, unknown = terms("refund drone")
    assert reachable([known, unknown], lambda token: 1.0) == 0.5
    assert reachable([known], lambda token: 1.0) == 1.0
    assert reachable([], lambda token: 1.0) == 0.0


def test_a_meaning_the_library_never_uses_is_unexpressed() -> None:
    seen = {"_餐饮": 1.0, "餐饮": 1.0}
    idf = lambda token: seen.get(token, 5.0)  # noqa: E731
    vat, restaurant = terms("VAT restaurants")
    assert unexpressed([vat, restaurant], idf) == [vat]
    # A word the glossary does not know says nothing either way.
    (unknown,) = terms("flight")
    assert unexpressed([unknown], idf) == []


def test_a_word_of_the_same_meaning_holds_a_term_in_its_own_language() -> None:
    weight = term_weight(lambda t: 1.0)
    online, apply = terms("线上怎么申报？")
    assert "在线" in crosslingual.synonyms(online)  # both "online"
    chinese = "企业通过“示例市企业服务平台”在线提交申请。"
    assert coverage([online], chinese, weight, as_asked=True) == 1.0
    # 申报 is "apply for": "This policy applies to" is 适用, not an application.
    scope = "This policy applies to all products bought online or in our shops."
    assert coverage([apply], scope, weight) == 0.0
    assert coverage([online], scope, weight) == 1.0


def test_a_passage_in_the_question_language_holds_its_terms_as_asked() -> None:
    weight = term_weight(lambda t: 1.0)
    english = terms("How long is the refund window?")
    assert coverage(english, "Refund window: 30 days from delivery.", weight, as_asked=True) == 1
    # Without as_asked the passage must hold the terms' Chinese words.
    assert coverage(english, "Refund window: 30 days from delivery.", weight) == 0
    chinese = terms("退款需要多长时间？")
    english_passage = "Refunds are issued within 5 business days."
    assert coverage(chinese, "退款在收到商品后5个工作日内完成。", weight, as_asked=True) == 1
    assert coverage(chinese, english_passage, weight, as_asked=True) == 0


def test_a_glossary_line_without_a_tab_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "glossary.tsv"
    broken.write_text("subsidy\t补贴\nrefund 退款\n", encoding="utf-8")
    monkeypatch.setattr(crosslingual, "GLOSSARY_FILE", broken)
    crosslingual.glossary.cache_clear()
    try:
        with pytest.raises(ConfigError, match=r"glossary.tsv:2: .*'refund 退款'"):
            crosslingual.glossary()
    finally:
        crosslingual.glossary.cache_clear()


REFUNDS = """# Example Store Refund Policy

## Section 2 Refunds

You may return an unused item within 30 days of delivery for a full refund. Refunds are issued
within 5 business days after we receive the item.

## Section 3 Travel

Meals during business travel are covered by a daily allowance of 60 euros.
"""

SUPPORT = """# Example Cloud Support Service Level Agreement

Standard support is available Monday to Friday.
"""

RELIEF = """示例市支持中小微企业纾困发展若干措施

第四条 稳岗返还
对上年度不裁员的中小微企业，按上年度实际缴纳失业保险费的60%予以返还。
第三条 上云用云奖励
企业购买工业互联网平台服务的，按实际支付费用的50%给予奖励，连续支持不超过2年。
第五条 贷款贴息
对新增流动资金贷款的中小微企业，按贷款市场报价利率的50%给予贴息，单户企业年度贴息总额不超过100万元。
第七条 申报时间
申报时间为每年3月1日至4月30日，逾期不予受理，受理后20个工作日内完成审核。
"""


def test_a_library_of_both_languages_is_searched_in_the_one_that_answers(
    ingestor: Ingestor, store: IndexStore, tmp_path: Path
) -> None:
    (tmp_path / "refunds.md").write_text(REFUNDS, encoding="utf-8")
    (tmp_path / "relief.txt").write_text(RELIEF, encoding="utf-8")
    (tmp_path / "support.md").write_text(SUPPORT, encoding="utf-8")
    assert not ingest_paths([tmp_path], ingestor).failed
    retriever = HybridRetriever(store, HashingEmbedding(), RetrievalConfig(top_k=3))

    def first(question: str) -> str:
        return retriever.search(question)[0].chunk.text

    # The Chinese passages share 时间 with it; the English ones hold its meaning.
    assert "Refunds are issued" in first("退款需要多长时间到账？")
    assert "贴息总额" in first("What is the annual cap on loan interest subsidies?")
    # Asked in the passages' own language, they answer as before.
    assert "贴息总额" in first("贷款贴息的总额上限是多少？")
    assert "Refunds are issued" in first("When are refunds issued?")
    # The English policy never says "shipping": no reason to leave the question's language.
    assert "申报时间" in first("退货运费的申报时间是什么？")
    # "refund" is held in both languages (返还 in 稳岗返还 too); "get" frames the question in
    # neither. The English policy holds all it asks: it stays in English.
    assert "Refunds are issued" in first("Can I get a refund?")
    # Words of expense policies: 餐补 (a meal allowance), 一天 (per day).
    assert "daily allowance" in first("餐补一天多少钱？")
    # 补贴 is not "support": "Cloud support" does not answer about a cloud subsidy.
    assert "连续支持" in first("上云补贴能拿几年？")
