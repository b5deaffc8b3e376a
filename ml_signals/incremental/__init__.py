"""Incremental live features: ``compute_features``' newest row from one more closed candle.

:class:`IncrementalFeatures` (:mod:`.tracker`) keeps one :class:`FeatureState` (:mod:`.state`)
per pair in step with the frames a script decides on; :mod:`.recursions` holds the O(1) updates.
``ml_signals.features.compute_features`` stays the definition (training calls it on the whole
history); the states reproduce it, seeds included, and the tests hold every row to
:data:`PARITY_RTOL` / :data:`PARITY_ATOL`.
"""

from __future__ import annotations

from typing import Final

from ml_signals.incremental.state import BtcPoint, FeatureState
from ml_signals.incremental.tracker import IncrementalFeatures

__all__ = ["PARITY_ATOL", "PARITY_RTOL", "BtcPoint", "FeatureState", "IncrementalFeatures"]

PARITY_RTOL: Final[float] = 1e-7
PARITY_ATOL: Final[float] = 1e-8
"""Bound on |incremental - compute_features| per value, ``<= PARITY_ATOL + PARITY_RTOL *
|batch|``: the bound the project already holds live-window against full-history rows to
(``ml_signals.features.LIVE_WINDOW_RTOL`` / ``LIVE_WINDOW_ATOL``), the same class of difference
(float rounding of the same definition summed in another order)."""
