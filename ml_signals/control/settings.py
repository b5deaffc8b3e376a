"""Script settings of the control layer (the ``control:`` section of a script's YAML).

Off by default. The Slack app-level token (``xapp-…``, scope ``connections:write``, Socket Mode
on) comes only from the environment or the git-ignored env file the alerts use
(:func:`ml_signals.alerts.secrets.lookup`), never from the YAML, and is never logged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from ml_signals.alerts.secrets import lookup

APP_TOKEN_ENV = "SLACK_APP_TOKEN"  # noqa: S105 - the variable name, not a token
BASE_URL_ENV = "SLACK_BASE_URL"
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")


class ControlSettings(BaseModel):
    """Operate the running bot from Slack (``/ml-status``, ``/performance``, ``/positions``,
    ``/pause``, ``/resume``, ``/reset-guard``).

    Attributes:
        enabled: connect to Slack over Socket Mode (no public URL needed).
        operators: Slack user ids (``U…``/``W…``) allowed to run ``/pause``, ``/resume`` and
            ``/reset-guard``; anyone in the workspace may run the read-only commands.
        env_file: optional env file with ``SLACK_APP_TOKEN`` (and ``SLACK_BASE_URL``).
        ack_timeout_s: how long a command may wait for the strategy's tick before Slack gets
            a "queued" acknowledgement (the answer then follows on the command's response
            URL). Slack wants the acknowledgement within 3 s.
        ping_interval_s: Socket Mode ping interval; a connection silent for 4 intervals is
            replaced (slack-sdk's rule).
        state_path: file keeping an operator's ``/pause`` across restarts (removed by
            ``/resume``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    operators: list[str] = Field(default_factory=list)
    env_file: str | None = None
    ack_timeout_s: float = Field(default=2.0, gt=0, le=2.8)
    ping_interval_s: float = Field(default=5.0, gt=0, le=60)
    state_path: str = "data/ml_control_state.json"

    @field_validator("operators")
    @classmethod
    def _check_operators(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not _USER_ID.match(v)]
        if bad:
            raise ValueError(f"control.operators must be Slack user ids like U012AB3CD "
                             f"(profile -> Copy member ID), got {bad}")
        return value

    def app_token(self, environ: Mapping[str, str] | None = None) -> SecretStr:
        """``SLACK_APP_TOKEN`` from the environment, then ``env_file``.

        Raises:
            ValueError: not set, or not an app-level token (``xapp-``); the message never
                shows the value.
        """
        env = Path(self.env_file) if self.env_file else None
        token = lookup([APP_TOKEN_ENV], env_file=env, environ=environ)
        if not token:
            where = env or "an env file"
            raise ValueError(f"control.enabled needs {APP_TOKEN_ENV} (an app-level xapp- token "
                             f"with connections:write) in the environment or {where}")
        if not token.startswith("xapp-") or any(c.isspace() for c in token):
            raise ValueError(f"{APP_TOKEN_ENV} is not an app-level token: it must start with "
                             "xapp- (value hidden)")
        return SecretStr(token)

    def base_url(self, environ: Mapping[str, str] | None = None) -> str:
        """Slack Web API base URL: ``SLACK_BASE_URL`` when set (proxies, tests), else Slack's."""
        env = Path(self.env_file) if self.env_file else None
        url = lookup([BASE_URL_ENV], env_file=env, environ=environ) or "https://slack.com/api/"
        return url if url.endswith("/") else url + "/"
