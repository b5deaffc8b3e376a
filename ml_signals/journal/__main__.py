"""Operate the journal spool from a shell.

    python -m ml_signals.journal status [--env-file .env]    # pending / rejected / written
    python -m ml_signals.journal flush [--timeout-s 60]      # write what the spool holds
    python -m ml_signals.journal requeue-rejected            # retry rejected rows, then flush

Settings come from :meth:`JournalConfig.from_env`. ``flush`` and ``requeue-rejected`` write, so
stop the bot first (one draining process per spool). Exit status 0 when nothing is left pending
or rejected, else 1.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from ml_signals.journal.config import JournalConfig
from ml_signals.journal.journal import Journal


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m ml_signals.journal", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["status", "flush", "requeue-rejected"])
    parser.add_argument("--env-file", type=Path, default=Path(".env"),
                        help="env file with SUPABASE_* settings (default: .env)")
    parser.add_argument("--timeout-s", type=float, default=60.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config = JournalConfig.from_env(env_file=args.env_file)
    journal = Journal(config)
    if args.command != "status":
        if args.command == "requeue-rejected":
            print(f"requeued {journal.requeue_rejected()} rejected row(s)")
        journal.start()
        journal.flush(args.timeout_s)
    counts = journal.counts()
    for row in journal.spool.rejected():
        print(f"rejected {row.table} {row.natural_id}: {row.last_error}")
    journal.close()
    print(f"backend={config.backend} spool={config.spool_path} pending={counts.pending} "
          f"rejected={counts.rejected} written={counts.written}")
    return 0 if counts.pending == 0 and counts.rejected == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
