"""No new entries during a BTC crash (original plan DCA ``btc_regime: not_crashing``)."""

from __future__ import annotations

from typing import ClassVar

from ml_signals.regime import BtcRegime
from ml_signals.risk.base import RiskGuard
from ml_signals.risk.config import RiskConfig
from ml_signals.risk.types import Candidate, GuardResult, PortfolioState


class CrashPauseGuard(RiskGuard):
    """Blocks every new entry while ``state.btc_regime is BtcRegime.CRASH``.

    Not latching: entries resume on the first decision whose regime is no longer CRASH. How
    the regime is decided lives in ``ml_signals.features``; open positions are left to their
    exits.
    """

    name: ClassVar[str] = "crash_pause"
    blocks_globally: ClassVar[bool] = True

    @classmethod
    def enabled(cls, config: RiskConfig) -> bool:
        """On when ``crash_pause`` is True."""
        return config.crash_pause

    def short_desc(self) -> str:
        """Rule description."""
        return "no new entries while the BTC regime is CRASH"

    def blocking_now(self, state: PortfolioState) -> GuardResult | None:
        """Block while BTC crashes."""
        if state.btc_regime == BtcRegime.CRASH:
            return self._block("BTC regime is CRASH: new entries paused")
        return None

    def check(self, state: PortfolioState, candidate: Candidate) -> GuardResult | None:
        """Same answer for every candidate."""
        return self.blocking_now(state)
