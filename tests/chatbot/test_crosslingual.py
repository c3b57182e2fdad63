"""Reading English questions against Chinese passages through the policy glossary: which terms a
question has, how much of its meaning a passage holds, what BM25 searches for, and when a
question counts as asked across languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbot.answering import crosslingual
from chatbot.answering.crosslingual import Term, asked_across, coverage, keywords, terms
from index_store.errors import ConfigError
from index_store.records import Chunk, Hit

NOTICE = (
    "（三）上云用云奖励。企业购买经认定的工业互联网平台服务的，按当年实际支付费用的50%给予奖励。"
)


def _hit(text: str) -> Hit:
    chunk = Chunk(
        chunk_id="c0", doc_id="d0", ordinal=0, text=text, start=0, end=len(text),
        heading_path=("通知",), page=None, source="d0", title="通知",
    )  # fmt: skip
    return Hit(chunk=chunk, score=1.0)


def _english(found: list[Term]) -> list[str]:
    return [" ".join(t.english) for t in found]


def test_the_longest_glossary_term_wins_and_framing_words_drop() -> None:
    found = terms("What is the corporate income tax rate for one-off awards?")
    assert _english(found) == ["corpor incom tax", "rate", "one off", "award"]
    assert found[0].chinese == ("企业所得税",)


def test_a_word_the_glossary_lacks_is_a_term_without_chinese() -> None:
    found = terms("How do I get a refund for a cancelled flight?")
    assert _english(found) == ["refund", "cancel", "flight"]
    assert found[-1].chinese == ()


def test_every_glossary_line_parses_to_a_term_with_chinese_words() -> None:
    glossary = crosslingual.glossary()
    assert len(glossary) > 300
    assert all(key and options and all(options) for key, options in glossary.items())


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
    # The unknown English word weighs as the corpus would weigh it: never seen, the most.
    (flight,) = terms("flight")
    assert weight(flight) == 5.0


def test_bm25_looks_for_the_chinese_words() -> None:
    searched = keywords("What is the annual cap on loan interest subsidies?")
    for word in ("每年", "最高", "贷款", "贴息"):
        assert word in searched.split()


def test_an_english_question_over_chinese_passages_is_asked_across() -> None:
    assert asked_across("What is the cloud award?", [_hit(NOTICE)] * 3)
    assert not asked_across("上云用云奖励是多少？", [_hit(NOTICE)] * 3)
    # An English passage among the best: the question is read in its own language.
    assert not asked_across("What is the cloud award?", [_hit(NOTICE), _hit("The cloud award.")])
    assert not asked_across("What is the cloud award?", [])


def test_the_glossary_reads_english_questions_only() -> None:
    # A Chinese question over English passages keeps the embedder's similarity rule.
    assert terms("退款需要多久？") == []
    assert keywords("退款需要多久？") == ""


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
