"""Exit rules of one position, in the units Hummingbot's executors take.

The same object drives the label replay in ``training.labels.outcomes``, the portfolio backtester
and the ``TripleBarrierConfig`` / ``DCAExecutorConfig`` the live scripts build, so a rule exists
once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

POSITION_TAKE_PROFIT_ORDER: Final[Literal["limit", "market"]] = "limit"
"""How a ``PositionExecutor`` takes profit: a resting LIMIT sell at ``entry * (1 + tp)`` (maker
fee, exits at the level; Hummingbot's ``TripleBarrierConfig`` default). The live executor
configs and the label replay both read this constant, so training prices the exit the scripts
actually place. Stop loss, trailing stop and time limit always close at market (taker)."""


@dataclass(frozen=True, slots=True)
class ExitRules:
    """Triple-barrier exits of a long position.

    All ``*_frac`` values are fractions of the entry price (0.02 = 2 %), positive numbers;
    ``time_limit_s`` is in seconds from the entry fill.

    Attributes:
        take_profit_frac: close when the position's return reaches ``+take_profit_frac``.
        stop_loss_frac: close when the return falls to ``-stop_loss_frac``.
        time_limit_s: close at market after this many seconds in the position.
        trailing_activation_frac: once the return reaches this, a trailing stop arms
            (Hummingbot ``TrailingStop.activation_price``); ``None`` disables trailing.
        trailing_delta_frac: the armed trailing stop closes the position when the return falls
            this far below its best value since arming (``TrailingStop.trailing_delta``).

    Raises:
        ValueError: on a non-positive fraction or time limit, or on trailing set half-way.
    """

    take_profit_frac: float
    stop_loss_frac: float
    time_limit_s: int
    trailing_activation_frac: float | None = None
    trailing_delta_frac: float | None = None

    def __post_init__(self) -> None:
        if not self.take_profit_frac > 0:
            raise ValueError(f"take_profit_frac must be > 0, got {self.take_profit_frac}")
        if not 0 < self.stop_loss_frac < 1:
            raise ValueError(f"stop_loss_frac must be in (0, 1), got {self.stop_loss_frac}")
        if self.time_limit_s <= 0:
            raise ValueError(f"time_limit_s must be > 0, got {self.time_limit_s}")
        if (self.trailing_activation_frac is None) != (self.trailing_delta_frac is None):
            raise ValueError("trailing_activation_frac and trailing_delta_frac go together")
        if self.trailing_delta_frac is not None and not self.trailing_delta_frac > 0:
            raise ValueError(f"trailing_delta_frac must be > 0, got {self.trailing_delta_frac}")

    @property
    def has_trailing(self) -> bool:
        """True when a trailing stop is configured."""
        return self.trailing_activation_frac is not None
