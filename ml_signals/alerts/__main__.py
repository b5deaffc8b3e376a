"""Operate the alert outbox from a shell.

    python -m ml_signals.alerts status [--outbox PATH] [--env-file .env]
    python -m ml_signals.alerts send-test [--timeout-s 30]   # post a test notice, wait for it
    python -m ml_signals.alerts requeue-failed               # retry alerts that failed for good

Settings come from the environment / env file as in :meth:`SlackConfig.from_env`
(``--no-env-file``: the environment only). ``send-test`` and ``requeue-failed`` deliver, so stop
the bot first (one delivering process per outbox).

Exit status: 0 on success; 1 when alerts are left failed or pending, or when ``send-test``
found no Slack secret (its test alert went to the log, so Slack was not tested); 2 when
``send-test`` or ``requeue-failed`` is given an env file that does not exist (a missing file
would quietly send every alert to the log).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ml_signals.alerts.config import SlackConfig
from ml_signals.alerts.events import SystemNotice
from ml_signals.alerts.sender import AlertSender

DELIVERING = ("send-test", "requeue-failed")
"""Commands that deliver alerts, so need the Slack secrets their env file holds."""


def _env_file(args: argparse.Namespace) -> Path | None:
    return None if args.no_env_file else args.env_file


def _config(args: argparse.Namespace) -> SlackConfig:
    env_file = _env_file(args)
    if args.outbox is not None:
        return SlackConfig.from_env(env_file=env_file, outbox_path=args.outbox)
    return SlackConfig.from_env(env_file=env_file)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m ml_signals.alerts", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["status", "send-test", "requeue-failed"])
    parser.add_argument("--outbox", type=Path, default=None, help="outbox file (default: config)")
    parser.add_argument("--env-file", type=Path, default=Path(".env"),
                        help="env file with SLACK_* settings (default: .env; must exist for "
                             "send-test and requeue-failed)")
    parser.add_argument("--no-env-file", action="store_true",
                        help="read the SLACK_* settings from the environment only")
    parser.add_argument("--timeout-s", type=float, default=30.0,
                        help="how long to wait for delivery")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    env_file = _env_file(args)
    if args.command in DELIVERING and env_file is not None and not env_file.is_file():
        print(f"env file {env_file} not found (resolved {env_file.resolve()}): pass the file "
              "with the SLACK_* settings as --env-file, or --no-env-file to use the "
              "environment only", file=sys.stderr)
        return 2
    config = _config(args)
    sender = AlertSender(config)
    if args.command == "status":
        counts = sender.counts()
        print(f"mode={config.mode} outbox={config.outbox_path} pending={counts.pending} "
              f"delivered={counts.delivered} failed={counts.failed}")
        for row in sender.outbox.rows("failed"):
            print(f"failed {row.key} ({row.kind} to {row.channel}): {row.last_error}")
        sender.close()
        return 0 if counts.failed == 0 else 1
    if args.command == "send-test":
        now = time.time()
        sender.submit(SystemNotice(title="Test alert", detail=f"mode {config.mode}",
                                   occurred_s=now, key=f"test:{now:.6f}"))
    else:
        print(f"requeued {sender.requeue_failed()} failed alert(s)")
    sender.start()
    delivered = sender.flush(args.timeout_s)
    counts = sender.counts()
    sender.close()
    print(f"pending={counts.pending} delivered={counts.delivered} failed={counts.failed}")
    if args.command == "send-test" and config.mode == "log":
        where = "the environment" + (f" or {env_file}" if env_file is not None else "")
        print(f"no SLACK_BOT_TOKEN or SLACK_WEBHOOK_URL in {where}: the test alert went to the "
              "log only, Slack was not tested", file=sys.stderr)
        return 1
    return 0 if delivered and counts.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
