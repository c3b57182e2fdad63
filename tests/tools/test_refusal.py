from __future__ import annotations

import pytest

from chatbot.answering.evidence import RefusalPolicy
from chatbot.answering.service import AnswerConfig
from eval.datasets import EvalQuery
from index_store.settings import Settings
from index_store.store import IndexStore
from policyqa.compose import build_retriever
from tools.refusal import Features, calibrate, features, partial_share, rates

POS = [Features(0.9, 0.95), Features(0.5, 0.92), Features(0.2, 0.93), Features(0.3, 0.85)]
NEG = [Features(0.1, 0.85), Features(0.2, 0.88), Features(0.4, 0.86), Features(0.05, 0.93)]


@pytest.mark.parametrize(
    ("policy", "accuracy", "false_refusal"),
    [
        # refuse when coverage < 0.35 and dense < 0.90: NEG 1 and 2 refused; POS 4 refused
        (RefusalPolicy(0.35, 0.90), 2 / 4, 1 / 4),
        (RefusalPolicy(0.0, 0.0), 0 / 4, 0 / 4),
        (RefusalPolicy(1.0, 1.0), 4 / 4, 4 / 4),
    ],
)
def test_rates(policy: RefusalPolicy, accuracy: float, false_refusal: float) -> None:
    assert rates(policy, POS, NEG) == pytest.approx((accuracy, false_refusal))


def test_an_answer_between_the_refusal_and_the_partial_thresholds_is_partial() -> None:
    policy = RefusalPolicy(0.35, 0.90, partial_coverage=0.6, partial_dense=0.94)
    assert policy.partial(0.5, 0.92) and policy.partial(0.2, 0.93)
    assert not policy.partial(0.9, 0.95) and not policy.partial(0.5, 0.95)
    # A refusal is never partial: POS 4 (0.3, 0.85) is refused.
    assert policy.refuses(0.3, 0.85) and not policy.partial(0.3, 0.85)
    # Of the three positives answered, two are partial; without thresholds, none.
    assert partial_share(policy, POS) == pytest.approx(2 / 3)
    assert partial_share(RefusalPolicy(0.35, 0.90), POS) == 0.0


def test_calibrate_respects_the_false_refusal_bound() -> None:
    policy, accuracy, false_refusal = calibrate(POS, NEG, max_false_refusal=0.0)
    assert false_refusal == 0.0
    assert rates(policy, POS, NEG) == pytest.approx((accuracy, false_refusal))
    # Refusing needs coverage < c AND dense < d. NEG 3 (0.4, 0.86) drags POS 4 (0.3, 0.85)
    # along, and NEG 2 (0.2, 0.88) with NEG 4 (0.05, 0.93) would need c > 0.2 and d > 0.93,
    # which refuses POS 3 (0.2, 0.93): two negatives out of four is the best possible.
    assert accuracy == pytest.approx(2 / 4)
    assert not any(policy.refuses(f.coverage, f.dense) for f in POS)


def test_a_near_miss_is_asked_of_the_library_without_the_documents_that_answer(
    demo_store: tuple[IndexStore, Settings],
) -> None:
    store, settings = demo_store
    retriever = build_retriever(settings, store)
    question = "稳岗返还的比例是多少？"
    gold = next(h.chunk.source for h in retriever.search(question, top_k=1))
    asked = [EvalQuery("q1", question, (gold,))]
    answered, near = features(retriever, asked), features(retriever, asked, without_gold=True)
    assert answered[0].coverage > 0.5
    # The other policies hold some of its words, none its answer.
    assert near[0].coverage < 0.5
    rule = AnswerConfig.from_settings(settings).refusal["zh"]
    assert rates(rule, answered, near) == (1.0, 0.0)
