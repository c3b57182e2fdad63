"""A running server answers from what `policyqa ingest` commits in another process, and stops
answering from what `policyqa docs remove` takes away, without a restart."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from index_store.settings import Settings
from tests.chatbot.test_guard import serving
from tests.files import DEMO_DIR

QUESTION = "首次认定为国家高新技术企业的企业能获得多少奖励？"


def cli(*args: str, index: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("policyqa")
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYQA_")}
    env["POLICYQA_INDEX_DIR"] = str(index)
    done = subprocess.run([str(exe), *args], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    return done


def ask(url: str) -> dict[str, object]:
    req = urllib.request.Request(
        f"{url}/api/ask",
        data=json.dumps({"question": QUESTION}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        return dict(json.loads(r.read()))


def answered_from_the_award(url: str, within_s: float = 10.0) -> bool:
    """Whether the answer quotes the 高新 policy, asked again until ``within_s`` has passed."""
    deadline = time.monotonic() + within_s
    while True:
        body = ask(url)
        found = not body["refused"] and "30万元" in str(body["answer"])
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


@pytest.mark.slow
def test_a_running_server_sees_ingests_and_removals_of_another_process(tmp_path: Path) -> None:
    first, later = tmp_path / "first", tmp_path / "later"
    first.mkdir()
    later.mkdir()
    shutil.copy(DEMO_DIR / "refund-policy.md", first)
    shutil.copy(DEMO_DIR / "中小企业纾困扶持办法.txt", first)
    award = later / "高新技术企业认定奖励办法.md"
    shutil.copy(DEMO_DIR / award.name, award)
    index = tmp_path / "index"
    cli("ingest", str(first), index=index)
    settings = Settings(_env_file=None, index_dir=index, cache_dir=tmp_path / "cache")  # type: ignore[call-arg]
    with serving(settings) as url:
        assert not answered_from_the_award(url, within_s=0)
        cli("ingest", str(later), index=index)
        assert answered_from_the_award(url), "the new policy was not seen without a restart"
        cli("docs", "remove", str(award.resolve()), index=index)
        assert not answered_from_the_award(url, within_s=0)
