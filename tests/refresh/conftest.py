"""Model-refresh fixtures: two real DCA artifacts trained on ``data/sample/binance``.

Both are trained by the real CLI in a subprocess (``--publish always``, so ``current`` moves
although the sample's models fail the promotion gate), one after the other: same data and
settings, so they differ in their version (the training time) and manifest only. Tests copy the
folder before changing anything (:func:`refresh_support.models_copy`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from refresh_support import TrainedModels, train

FIXTURES = Path(__file__).resolve().parent / "fixtures"
if str(FIXTURES) not in sys.path:
    sys.path.insert(0, str(FIXTURES))  # imported like Hummingbot's scripts/


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> TrainedModels:
    """Two versions of the DCA model (module docstring)."""
    base = tmp_path_factory.mktemp("trained")
    a = train(base / "models", base / "reports")
    b = train(base / "models", base / "reports")
    assert a != b
    return TrainedModels(base / "models", a, b)
