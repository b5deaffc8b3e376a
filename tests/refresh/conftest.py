"""Model-refresh fixtures: two real DCA artifacts trained on ``data/sample/binance``.

Both are trained by the real CLI in a subprocess (``--publish always``, so ``current`` moves
although the sample's models fail the promotion gate), one after the other: same data and
settings, so they differ in their version (the training time) and manifest only. Tests copy the
folder before changing anything (:func:`models_copy`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
if str(FIXTURES) not in sys.path:
    sys.path.insert(0, str(FIXTURES))  # imported like Hummingbot's scripts/

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class TrainedModels:
    """A models folder holding two published-once DCA versions (``current`` = ``b``)."""

    root: Path
    a: str
    b: str

    def manifest(self, version: str) -> dict:
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


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> TrainedModels:
    """Two versions of the DCA model (module docstring)."""
    base = tmp_path_factory.mktemp("trained")
    a = train(base / "models", base / "reports")
    b = train(base / "models", base / "reports")
    assert a != b
    return TrainedModels(base / "models", a, b)


def models_copy(trained: TrainedModels, dest: Path, current: str | None = None) -> Path:
    """Copy of the trained models folder at ``dest``; ``current`` set to ``current``."""
    shutil.copytree(trained.root, dest)
    if current is not None:
        (dest / "dca" / "current").write_text(current + "\n")
    return dest
