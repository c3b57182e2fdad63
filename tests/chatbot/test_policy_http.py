"""Access labels, document-view links and feedback over real HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr

from chatbot.web.feedback import FeedbackStore
from index_store.settings import Settings
from index_store.store import IndexStore

Demo = tuple[IndexStore, Settings]
INTERNAL_Q = "单笔超过50万元的纾困资金由谁审批？"


@pytest.fixture(scope="module")
def served(demo_store: Demo) -> Iterator[tuple[str, Settings]]:
    from tests.chatbot.test_guard import serving

    settings = demo_store[1].model_copy(
        update={
            "api_keys": SecretStr("staff:s3cret-staff,guest:s3cret-guest"),
            "access_labels": "staff=internal",
        }
    )
    with serving(settings) as url:
        yield url, settings


def request(url: str, body: object = None, key: str = "s3cret-guest") -> tuple[int, str]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"content-type": "application/json", "authorization": f"Bearer {key}"}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data, headers), timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def ask(base: str, key: str, **body: object) -> dict[str, object]:
    status, text = request(f"{base}/api/ask", body, key)
    assert status == 200, text
    answer: dict[str, object] = json.loads(text)
    return answer


def internal_cited(answer: dict[str, object]) -> bool:
    return any("纾困资金内部审批指引" in c["title"] for c in answer["citations"])  # type: ignore[attr-defined]


def test_api_keys_read_only_their_labels(served: tuple[str, Settings]) -> None:
    base, _ = served
    assert internal_cited(ask(base, "s3cret-staff", question=INTERNAL_Q))
    guest = ask(base, "s3cret-guest", question=INTERNAL_Q)
    assert not internal_cited(guest) and "分管副局长" not in str(guest["answer"])


def test_api_scope_fields(served: tuple[str, Settings]) -> None:
    base, _ = served
    question = "首次创业能拿到多少创业补贴？"
    then = ask(base, "s3cret-guest", question=question, as_of="2025-06-01")
    assert then["notice"] is None and then["warnings"] == []
    elsewhere = ask(base, "s3cret-guest", question=question, regions=["上海市"])
    assert elsewhere["refused"] is True and elsewhere["citations"] == []
    status, text = request(f"{base}/api/ask", {"question": question, "as_of": "soon"})
    assert status == 400 and "as_of" in text


def test_citation_links_open_the_highlighted_span_and_cannot_be_forged(
    served: tuple[str, Settings],
) -> None:
    base, _ = served
    answer = ask(base, "s3cret-guest", question="申请贷款贴息的企业要成立多久？")
    citation = answer["citations"][0]  # type: ignore[index]
    assert citation["clause"] == "第二章 第五条 第二款"
    status, page = request(base + citation["view_url"])
    assert status == 200
    assert f'<mark id="quote">{citation["quote"]}</mark>' in page
    assert "示政办〔2026〕3号" in page  # the policy line above the text

    url = urlsplit(citation["view_url"])
    forged = url.query.replace("sig=", "sig=0")
    assert request(f"{base}{url.path}?{forged}")[0] == 403
    staff = ask(base, "s3cret-staff", question=INTERNAL_Q)
    secret = next(c for c in staff["citations"] if "内部" in c["title"])  # type: ignore[attr-defined]
    # A link minted for one document does not open another (e.g. a restricted one).
    assert request(f"{base}/doc/{secret['doc_id']}?{url.query}")[0] == 403
    assert request(base + secret["view_url"])[0] == 200


def test_feedback_is_stored_with_the_answer_and_the_key_name(
    served: tuple[str, Settings],
) -> None:
    base, settings = served
    answer = ask(base, "s3cret-staff", question="稳岗返还的比例是多少？")
    body = {"answer": answer, "rating": -1, "reason": "应说明30人以下企业的条件"}
    status, text = request(f"{base}/api/feedback", body, "s3cret-staff")
    assert status == 200, text
    item = FeedbackStore(settings.feedback_file).get(json.loads(text)["id"])
    assert (item.rating, item.principal, item.reason) == (-1, "staff", body["reason"])
    assert item.question == "稳岗返还的比例是多少？" and item.citations[0]["clause"]
    assert item.config["mode"] == "extractive"
    status, text = request(f"{base}/api/feedback", {**body, "rating": 5}, "s3cret-staff")
    assert status == 400
