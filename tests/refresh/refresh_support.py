"""Helpers of the model-refresh tests: two real DCA artifacts trained by the CLI and copies of
their models folder (a module of its own: ``conftest`` names clash across test folders)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class TrainedModels:
    """A models folder holding two published-once DCA versions (``current`` = ``b``)."""

    root: Path
    a: str
    b: str

    def manifest(self, version: str) -> dict:
        """The version's manifest."""
        return json.loads((self.root / "dca" / version / "manifest.json").read_text())


def train(models: Path, reports: Path, *extra: str) -> str:
    """Run ``python -m training train`` for DCA; return the version ``current`` names."""
    cmd = [sys.executable, "-m", "training", "train", "--data", "data/sample/binance",
           "--strategies", "dca", "--publish", "always", "--no-null", "--no-progress",
           "--models", str(models), "--reports", str(reports), *extra]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600,  # noqa: S603 - the CLI
                          check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return (models / "dca" / "current").read_text().strip()


def models_copy(trained: TrainedModels, dest: Path, current: str | None = None) -> Path:
    """Copy of the trained models folder at ``dest``; ``current`` set to ``current``."""
    shutil.copytree(trained.root, dest)
    if current is not None:
        (dest / "dca" / "current").write_text(current + "\n")
    return dest
