"""Secrets from the environment or a git-ignored env file, and a log filter that hides them.

Slack tokens, webhook URLs and Supabase keys are read from the process environment first, then
from an optional ``KEY=VALUE`` env file (``.env`` is git-ignored in this repository). They are
never logged: configs hold them as :class:`pydantic.SecretStr`, and :class:`RedactingFilter`
rewrites any log record that would contain one (slack-sdk logs request URLs at DEBUG, and a
webhook URL *is* its secret).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

REDACTED = "***"


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a ``KEY=VALUE`` env file (``#`` comments, blank lines, optional ``export`` and quotes).

    Args:
        path: file to read; a missing file yields ``{}`` (the file is optional).

    Returns:
        Variables in file order. Values are not expanded (``$VAR`` stays literal).

    Raises:
        ValueError: on a line that is neither blank, a comment nor ``KEY=VALUE``; the message
            names the file and line number but never the value.
    """
    if not path.is_file():
        return {}
    values: dict[str, str] = {}
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key.replace("_", "").isalnum():
            raise ValueError(f"{path}:{lineno}: expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def lookup(
    names: Iterable[str],
    *,
    env_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> str | None:
    """First non-empty value among ``names``, from ``environ`` (default ``os.environ``) then
    ``env_file``.

    Args:
        names: variable names in order of preference (e.g. ``SUPABASE_SERVICE_KEY``,
            ``SUPABASE_KEY``).
        env_file: optional env file consulted after the environment.
        environ: mapping used instead of ``os.environ`` (tests).
    """
    env = os.environ if environ is None else environ
    names = list(names)
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    if env_file is not None:
        file_values = read_env_file(env_file)
        for name in names:
            value = file_values.get(name, "").strip()
            if value:
                return value
    return None


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each non-empty secret replaced by ``***``.

    Longer secrets are replaced first so a secret containing another is fully hidden.
    """
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def secret_fragments(value: str) -> list[str]:
    """The strings to hide for one secret: the value itself and, for a URL, its path.

    A Slack webhook URL's secret part is its path (``/services/T…/B…/XXXX``); hiding the path too
    covers log lines that print only ``req.full_url`` pieces or the path.
    """
    fragments = [value]
    if "://" in value:
        rest = value.split("://", 1)[1]
        slash = rest.find("/")
        if slash >= 0 and len(rest) - slash > 8:
            fragments.append(rest[slash:])
    return fragments


class RedactingFilter(logging.Filter):
    """Logging filter that replaces secrets in a record's final message.

    Attach it to the loggers that may see secrets (the logger handed to slack-sdk clients, and
    this package's own loggers). The record's ``msg`` is replaced by the redacted, fully
    formatted message and ``args`` cleared, so handlers downstream never see the raw value.
    Exception text is redacted as well.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Hide these secrets too (each expanded with :func:`secret_fragments`)."""
        for secret in secrets:
            if secret:
                self._secrets.extend(secret_fragments(secret))

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        cleaned = redact(message, self._secrets)
        if cleaned != message:
            record.msg = cleaned
            record.args = ()
        if record.exc_info and record.exc_info[1] is not None:
            exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(exc_text, self._secrets)
            record.exc_info = None
        return True
