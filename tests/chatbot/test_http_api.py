"""The HTTP API over real HTTP: /api/ask, the OpenAI-compatible endpoint with the official
``openai`` client, and the Gradio API with ``gradio_client``."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import pytest

from index_store.settings import Settings
from index_store.store import IndexStore

Demo = tuple[IndexStore, Settings]


@pytest.fixture(scope="module")
def server(demo_store: Demo) -> Iterator[str]:
    from tests.chatbot.test_guard import serving

    with serving(demo_store[1]) as url:
        yield url


def post(url: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_api_ask_returns_the_answer_record(server: str) -> None:
    status, body = post(f"{server}/api/ask", {"question": "稳岗返还的比例是多少？"})
    assert status == 200
    assert set(body) >= {"question", "answer", "mode", "refused", "citations"}
    assert body["mode"] == "extractive" and body["refused"] is False
    citation = body["citations"][0]  # type: ignore[index]
    assert set(citation) >= {
        "n",
        "doc_id",
        "source",
        "title",
        "locator",
        "text",
        "start",
        "end",
        "score",
    }
    assert "第四条 稳岗返还" in citation["locator"] and "60%" in citation["text"]
    # The document's name, never the server's folders.
    assert citation["source"] == "中小企业纾困扶持办法.txt"


def test_api_ask_with_history_resolves_the_follow_up(server: str) -> None:
    status, body = post(
        f"{server}/api/ask",
        {
            "question": "那审核要多久？",
            "history": [{"role": "user", "content": "高新技术企业认定奖励怎么申请？"}],
        },
    )
    assert status == 200 and "15个工作日" in str(body["answer"])


@pytest.mark.parametrize("question", ["", "\x00\x00", "问" * 5000])
def test_api_ask_rejects_bad_questions_with_400(server: str, question: str) -> None:
    status, body = post(f"{server}/api/ask", {"question": question})
    assert status == 400 and "question" in json.dumps(body, ensure_ascii=False)


def test_control_characters_inside_a_question_are_replaced_by_spaces(server: str) -> None:
    # docs/operations.md says so: the question is asked as "稳岗 返还", not refused.
    status, body = post(f"{server}/api/ask", {"question": "稳岗\u0000返还的比例是多少？"})
    assert status == 200 and "\x00" not in str(body["question"])
    assert "60%" in str(body["answer"])


def test_openai_client_non_streaming(server: str) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=f"{server}/v1", api_key="unused")
    response = client.chat.completions.create(
        model="policyqa",
        messages=[{"role": "user", "content": "How long is the warranty on electronics?"}],
    )
    text = response.choices[0].message.content or ""
    assert "2-year limited warranty" in text
    assert "Sources:" in text and "[1] Example Store Refund and Warranty Policy" in text
    extra = response.model_extra or {}
    assert extra["citations"][0]["title"] == "Example Store Refund and Warranty Policy"
    assert extra["citations"][0]["source"] == "refund-policy.md"


def test_openai_client_lists_the_model_with_an_integer_created(server: str) -> None:
    from openai import OpenAI

    models = OpenAI(base_url=f"{server}/v1", api_key="unused").models.list().data
    assert [m.id for m in models] == ["policyqa"]
    assert isinstance(models[0].created, int) and models[0].created > 1_700_000_000


def test_openai_client_streaming(server: str) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=f"{server}/v1", api_key="unused")
    stream = client.chat.completions.create(
        model="policyqa",
        stream=True,
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "稳岗返还的比例是多少？"},
        ],
    )
    pieces, citations = [], None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        if chunk.choices and chunk.choices[0].finish_reason == "stop":
            citations = (chunk.model_extra or {}).get("citations")
    text = "".join(pieces)
    assert "60%予以返还" in text and "来源:" in text
    assert citations and "第四条" in citations[0]["locator"]


def test_openai_endpoint_errors_are_4xx(server: str) -> None:
    status, body = post(
        f"{server}/v1/chat/completions",
        {"model": "policyqa", "messages": [{"role": "system", "content": "x"}]},
    )
    assert status == 400 and "user message" in body["error"]["message"]  # type: ignore[index]


def raw_post(url: str, data: bytes) -> tuple[int, dict[str, object]]:
    req = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.mark.parametrize(
    "body",
    ['{"question": "稳岗'.encode(), b'{"question": 5}', b'{"messages": "not a list"}', b"[]"],
)
def test_malformed_requests_get_the_one_error_shape(server: str, body: bytes) -> None:
    status, api = raw_post(f"{server}/api/ask", body)
    assert status == 400 and set(api) == {"error"}, api  # never FastAPI's {"detail": [...]}
    assert set(api["error"]) == {"message", "type"}  # type: ignore[arg-type]
    status, v1 = raw_post(f"{server}/v1/chat/completions", body)
    assert status == 400 and set(v1) == {"error"}, v1
    assert set(v1["error"]) == {"message", "type", "param", "code"}  # type: ignore[arg-type]


def test_the_openai_client_reads_our_errors(server: str) -> None:
    from openai import BadRequestError, OpenAI

    client = OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0)
    with pytest.raises(BadRequestError) as raised:
        client.chat.completions.create(
            model="policyqa", messages=[{"role": "system", "content": "no question"}]
        )
    assert "user message" in str(raised.value.message)


@pytest.mark.slow
def test_gradio_client_api(server: str) -> None:
    from gradio_client import Client

    client = Client(f"{server}/", verbose=False)
    result = client.predict("What credit do I get if uptime drops below 99.0%?", api_name="/ask")
    assert result["mode"] == "extractive" and "25%" in result["answer"]
    assert result["citations"][0]["locator"] == "Section 3 Service credits"
