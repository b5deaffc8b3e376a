"""Fixtures for the alert tests: a Slack-like HTTP server and configs pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from servers.slack_like import DEFAULT_TOKEN, SlackLikeServer

from ml_signals.alerts.config import SlackConfig


@pytest.fixture()
def slack_server() -> Iterator[SlackLikeServer]:
    """A started Slack-like server on 127.0.0.1, stopped after the test."""
    server = SlackLikeServer(tokens=frozenset({DEFAULT_TOKEN})).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def make_config(tmp_path: Path, slack_server: SlackLikeServer) -> Callable[..., SlackConfig]:
    """Build a bot-token config for the local server with short test timings.

    Retry timings are small (the sender's own back-off starts at 0.2 s) so fault tests stay
    quick; keyword arguments override any field.
    """

    def build(**overrides: Any) -> SlackConfig:
        values: dict[str, Any] = {
            "bot_token": DEFAULT_TOKEN,
            "base_url": slack_server.api_base_url,
            "outbox_path": tmp_path / "outbox.sqlite",
            "min_interval_per_channel_s": 0.0,
            "request_timeout_s": 3.0,
            "sdk_max_retries": 1,
            "sdk_backoff_s": 0.05,
            "retry_initial_s": 0.2,
            "retry_max_s": 1.0,
        }
        values.update(overrides)
        return SlackConfig.model_validate(values)

    return build
