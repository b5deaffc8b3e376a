"""Cap on positions open at once (original plan ``TRADING_RULES.max_open_positions`` 5)."""

from __future__ import annotations

from typing import ClassVar

from ml_signals.risk.base import RiskGuard
from ml_signals.risk.config import RiskConfig
from ml_signals.risk.types import Candidate, GuardResult, PortfolioState


class MaxOpenPositionsGuard(RiskGuard):
    """Blocks every new entry while ``len(open_positions) >= max_open_positions``.

    Example: max 5 -> the 5th entry is allowed with 4 open, a 6th is blocked with 5 open.
    """

    name: ClassVar[str] = "max_open_positions"
    blocks_globally: ClassVar[bool] = True

    def __init__(self, config: RiskConfig) -> None:
        super().__init__(config)
        self.max_open = int(config.max_open_positions or 0)

    @classmethod
    def enabled(cls, config: RiskConfig) -> bool:
        """On unless ``max_open_positions`` is None."""
        return config.max_open_positions is not None

    def short_desc(self) -> str:
        """Rule with its threshold."""
        return f"at most {self.max_open} open positions"

    def blocking_now(self, state: PortfolioState) -> GuardResult | None:
        """Block when no slot is free."""
        n_open = len(state.open_positions)
        if n_open >= self.max_open:
            return self._block(f"{n_open} positions open, limit {self.max_open}")
        return None

    def check(self, state: PortfolioState, candidate: Candidate) -> GuardResult | None:
        """Same answer for every candidate: is a slot free?"""
        return self.blocking_now(state)
