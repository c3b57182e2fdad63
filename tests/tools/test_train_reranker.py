"""``scripts/train_reranker.py``'s training pairs: no passage that may answer a question is made
its negative, and near-misses can be kept within the question's own document."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from train_reranker import (  # noqa: E402
    Answering,
    bm25_negatives,
    build_pairs,
    load,
    pipeline_negatives,
)

SHARING = "Third Party Sharing/Collection|||Personal Information Type|||Contact"
COLLECTION = "First Party Collection/Use|||Personal Information Type|||Contact"
PARAGRAPHS = [
    ("We share your email address with advertising partners.", SHARING, "email address"),
    ("Partners may receive your phone number for delivery.", SHARING, "phone number"),
    ("We collect your postal address when you register.", COLLECTION, "postal address"),
    ("Cookies remember your language and your region.", COLLECTION, "language"),
]


def policy(site: str) -> dict[str, object]:
    """One privacy policy in PolicyQA's SQuAD-style layout; every paragraph is asked the same
    sharing question, as PolicyQA asks one wording of several paragraphs."""
    paragraphs = []
    for n, (text, kind, answer) in enumerate(PARAGRAPHS):
        qas = [{"id": f"{site}-{n}", "question": f"Who sees my {answer}?", "type": kind,
                "answers": [{"text": answer, "answer_start": text.index(answer)}]}]  # fmt: skip
        if kind == SHARING:
            qas.append({"id": f"{site}-{n}-s", "question": "Do you share my data?", "type": kind,
                        "answers": [{"text": answer, "answer_start": text.index(answer)}]})  # fmt: skip
        paragraphs.append({"context": text, "qas": qas})
    return {"title": site, "paragraphs": paragraphs}


def test_pairs_never_make_a_same_topic_passage_a_negative(tmp_path: Path) -> None:
    folder = tmp_path / "policyqa-dev"
    folder.mkdir()
    data = {"data": [policy("a.com"), policy("b.com")]}
    (folder / "dev.json").write_text(json.dumps(data), encoding="utf-8")
    passages, questions = load(tmp_path, ["en"], 900)
    assert len(passages) == 8 and len(questions) == 12
    answering = Answering(passages, questions)
    share = next(q for q in questions if q.text == "Do you share my data?")
    # Both sharing paragraphs of its own policy may answer; a collection paragraph may not.
    assert [answering(share, i) for i in range(4)] == [True, True, False, False]
    assert all(q.topic.count("|||") == 1 for q in questions)

    near = list(bm25_negatives(passages, questions, 2, own_article=True))
    for q, found in zip(questions, near, strict=True):
        assert found and all(passages[i].article == q.article for i in found)
        assert not any(answering(q, i) for i in found)
    anywhere = list(bm25_negatives(passages, questions, 3, own_article=False))
    assert any(passages[i].article != q.article for q, f in zip(questions, anywhere, strict=True)
               for i in f)  # fmt: skip

    pairs = build_pairs(passages, questions, near, 3, random.Random(1))
    assert sum(label for _, _, label in pairs) == len(questions)
    negatives = {text for question, text, label in pairs if question == share.text and not label}
    assert negatives and all("share" not in t and "Partners" not in t for t in negatives)


def test_pipeline_candidates_give_runtime_chunks_and_only_non_answers_as_negatives(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "policyqa-dev"
    folder.mkdir()
    data = {"data": [policy("a.com")]}
    (folder / "dev.json").write_text(json.dumps(data), encoding="utf-8")
    passages, questions = load(tmp_path, ["en"], 900)
    email = next(q for q in questions if q.text == "Who sees my email address?")
    phone = next(q for q in questions if q.text == "Who sees my phone number?")
    chunk = "a.com\nWe share your email address with advertising partners."
    rows = [
        # Retrieval ranks a chunk of another policy first; the answer's chunk comes second.
        {"article": email.article, "question": email.text,
         "texts": ["b.com\nCookies remember your language.", chunk,
                   "a.com\nWe collect your postal address.", "b.com\nWe collect your name."],
         "holds": [False, True, False, False], "gold": [False, True, True, False]},
        # No chunk holds the whole answer: none of its own policy's chunks is a negative.
        {"article": phone.article, "question": phone.text,
         "texts": ["a.com\nPartners may receive your phone", "b.com\nWe keep logs."],
         "holds": [False, False], "gold": [True, False]},
    ]  # fmt: skip
    path = tmp_path / "candidates.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")

    grown, chosen, near = pipeline_negatives(passages, questions, path, 2)
    assert len(chosen) == len(questions) and grown[: len(passages)] == passages
    by_text = {q.text: (q, n) for q, n in zip(chosen, near, strict=True)}
    q, negatives = by_text[email.text]
    assert grown[q.positive].text == chunk and grown[q.positive].article == -1
    assert [grown[i].text for i in negatives] == [rows[0]["texts"][0], rows[0]["texts"][2]]
    q, negatives = by_text[phone.text]
    assert q.positive == phone.positive  # its own passage: no chunk held the answer
    assert [grown[i].text for i in negatives] == ["b.com\nWe keep logs."]
    assert by_text["Who sees my postal address?"][1] == []  # not listed: no near-miss

    pairs = build_pairs(grown, chosen, near, 3, random.Random(1))
    own = {t for question, t, label in pairs if question == email.text and not label}
    # Same-article draws come from the policy's own passages, never from the appended chunks.
    assert own - {rows[0]["texts"][0], rows[0]["texts"][2]} <= {p.text for p in passages}
    assert chunk not in own and "b.com\nWe collect your name." not in own
