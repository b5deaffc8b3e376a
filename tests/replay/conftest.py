"""Replay test helpers: the probe scripts package on ``sys.path`` and batch detections."""

from __future__ import annotations

import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
if str(FIXTURES) not in sys.path:
    sys.path.insert(0, str(FIXTURES))  # the probe scripts are imported like Hummingbot's scripts/
