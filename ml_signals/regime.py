"""BTC market regime codes shared by features, detectors and risk guards.

The original plan's ``market_regimes.btc_regime`` column takes 'BULL', 'BEAR', 'NEUTRAL',
'CRASH'; features carry them as small integers so models can use them. How a regime is
decided lives in :mod:`ml_signals.features`.
"""

from __future__ import annotations

from enum import IntEnum


class BtcRegime(IntEnum):
    """BTC regime, ordered from worst to best (the feature value is the int)."""

    CRASH = 0
    BEAR = 1
    NEUTRAL = 2
    BULL = 3
