"""One position per pair (original plan ``TRADING_RULES.max_positions_per_coin`` 1)."""

from __future__ import annotations

from typing import ClassVar

from ml_signals.risk.base import RiskGuard
from ml_signals.risk.config import RiskConfig
from ml_signals.risk.types import Candidate, GuardResult, PortfolioState


class OnePositionPerPairGuard(RiskGuard):
    """Blocks a candidate whose pair already holds ``max_positions_per_pair`` open positions.

    Positions of any strategy count: a swing entry on BTC-USDT is blocked while a DCA grid on
    BTC-USDT is open. Conflicts inside one decision round are settled earlier by
    ``ml_signals.orchestration`` (higher confidence wins).
    """

    name: ClassVar[str] = "one_position_per_pair"

    def __init__(self, config: RiskConfig) -> None:
        super().__init__(config)
        self.max_per_pair = int(config.max_positions_per_pair or 0)

    @classmethod
    def enabled(cls, config: RiskConfig) -> bool:
        """On unless ``max_positions_per_pair`` is None."""
        return config.max_positions_per_pair is not None

    def short_desc(self) -> str:
        """Rule with its threshold."""
        return f"at most {self.max_per_pair} open position(s) per pair"

    def check(self, state: PortfolioState, candidate: Candidate) -> GuardResult | None:
        """Count open positions on the candidate's pair."""
        same = [p for p in state.open_positions if p.pair == candidate.pair]
        if len(same) >= self.max_per_pair:
            held = ", ".join(f"{p.strategy} {p.setup_id}" for p in same)
            return self._block(
                f"{candidate.pair} already has {len(same)} open position(s) ({held}), "
                f"limit {self.max_per_pair}"
            )
        return None
