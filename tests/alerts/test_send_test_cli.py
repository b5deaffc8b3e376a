"""``python -m ml_signals.alerts send-test`` as an operator runs it (a real subprocess): a
missing env file or an environment without Slack secrets is a failure, not a test alert quietly
written to the log."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SLACK_VARIABLES = ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "SLACK_WEBHOOK_URL_TRADES",
                   "SLACK_WEBHOOK_URL_REPORTS", "SLACK_WEBHOOK_URL_SYSTEM", "SLACK_BASE_URL")


def send_test(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in SLACK_VARIABLES}
    return subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "ml_signals.alerts", "send-test", "--outbox",
         str(tmp_path / "outbox.sqlite"), "--timeout-s", "5", *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_missing_env_file_exits_2_and_names_it(tmp_path):
    done = send_test(tmp_path, "--env-file", "slack.env")
    assert done.returncode == 2
    assert "env file slack.env not found" in done.stderr
    assert not (tmp_path / "outbox.sqlite").exists()  # nothing was sent anywhere


def test_default_env_file_missing_exits_2(tmp_path):
    done = send_test(tmp_path)  # --env-file defaults to .env, absent here
    assert done.returncode == 2 and "env file .env not found" in done.stderr


@pytest.mark.parametrize("args", [["--no-env-file"], ["--env-file", "empty.env"]])
def test_no_slack_secret_exits_1(tmp_path, args):
    (tmp_path / "empty.env").write_text("# no Slack settings here\n")
    done = send_test(tmp_path, *args)
    assert done.returncode == 1
    assert "the test alert went to the log only" in done.stderr
