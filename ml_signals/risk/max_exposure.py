"""Cap on committed quote (original plan ``risk_limits.max_open_risk`` / ``max_exposure`` $500)."""

from __future__ import annotations

from typing import ClassVar, Final

from ml_signals.risk.base import RiskGuard
from ml_signals.risk.config import RiskConfig
from ml_signals.risk.types import Candidate, GuardResult, PortfolioState

# Sums of quote amounts carry float rounding (3 x 33.33...); amounts within a billionth of a
# quote unit of the limit count as at the limit.
_EPS_QUOTE: Final[float] = 1e-9


class MaxExposureGuard(RiskGuard):
    """Blocks a candidate when open ``amount_quote`` plus its own would exceed the limit.

    Allowed while ``open + candidate <= max_exposure_quote``. Example: limit 500, 400 open ->
    a 100 candidate is allowed, a 100.01 candidate is blocked. Committed amounts count unfilled
    grid levels, so a resting DCA grid uses its full size.
    """

    name: ClassVar[str] = "max_exposure"
    blocks_globally: ClassVar[bool] = True

    def __init__(self, config: RiskConfig) -> None:
        super().__init__(config)
        self.max_exposure_quote = float(config.max_exposure_quote or 0.0)

    @classmethod
    def enabled(cls, config: RiskConfig) -> bool:
        """On unless ``max_exposure_quote`` is None."""
        return config.max_exposure_quote is not None

    def short_desc(self) -> str:
        """Rule with its threshold."""
        return f"open exposure at most {self.max_exposure_quote:.2f} quote"

    def blocking_now(self, state: PortfolioState) -> GuardResult | None:
        """Block everything once the limit is used up (no room for any positive amount)."""
        exposure = state.open_exposure_quote
        if exposure >= self.max_exposure_quote - _EPS_QUOTE:
            return self._block(
                f"open exposure {exposure:.2f} quote has reached the limit "
                f"{self.max_exposure_quote:.2f}"
            )
        return None

    def check(self, state: PortfolioState, candidate: Candidate) -> GuardResult | None:
        """Does the candidate fit beside the open positions?"""
        exposure = state.open_exposure_quote
        total = exposure + candidate.amount_quote
        if total > self.max_exposure_quote + _EPS_QUOTE:
            return self._block(
                f"open {exposure:.2f} + {candidate.amount_quote:.2f} quote = {total:.2f} "
                f"exceeds the exposure limit {self.max_exposure_quote:.2f}"
            )
        return None
