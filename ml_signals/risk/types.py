"""Value objects the risk guards and the orchestrator read.

Units: money in quote currency (``_quote``), times in integer seconds since the Unix epoch, UTC
(``_s``), ratios as fractions (``_frac``, 0.02 = 2 %). Everything here is a frozen dataclass except
the caller-owned :class:`~ml_signals.risk.ledger.TradeLedger` that :class:`PortfolioState` refers
to (see its docstring for why).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, get_args

from ml_signals.regime import BtcRegime

if TYPE_CHECKING:  # only for annotations: keeps pandas out of the import of this module
    from ml_signals.risk.ledger import TradeLedger
    from ml_signals.setups.base import Setup, StrategyName

Side = Literal["BUY", "SELL"]

STRATEGIES: Final[tuple[str, ...]] = ("dca", "swing", "channel")
SIDES: Final[tuple[str, ...]] = get_args(Side)
DAY_S: Final[int] = 86_400


def utc_day(ts_s: int) -> int:
    """UTC calendar day number of ``ts_s`` (days since 1970-01-01); days roll at 00:00 UTC."""
    return ts_s // DAY_S


def next_utc_midnight_s(ts_s: int) -> int:
    """Timestamp (s) of the first 00:00 UTC strictly after ``ts_s``."""
    return (ts_s // DAY_S + 1) * DAY_S


def _check_strategy(strategy: str) -> None:
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")


@dataclass(frozen=True, slots=True)
class GuardResult:
    """Why a candidate may not be entered; ``None`` in its place means "allowed".

    Attributes:
        guard: machine name of the rule that blocked (e.g. ``"max_open_positions"``,
            ``"opposing_signals"``).
        reason: one human-readable sentence with the numbers that decided it.
    """

    guard: str
    reason: str


@dataclass(frozen=True, slots=True)
class GuardLock:
    """A stop set when a trade closes, holding until ``until_s`` or a manual reset.

    Mirrors freqtrade's pair locks: guards that react to closed trades (consecutive losses,
    kill switch) set a lock once, and their per-candidate check only reads it.

    Attributes:
        guard: name of the guard that set it.
        reason: human-readable sentence with the numbers that tripped it.
        locked_at_s: close time (s) of the trade that tripped it.
        until_s: first second at which the lock no longer applies; ``None`` = until reset.
    """

    guard: str
    reason: str
    locked_at_s: int
    until_s: int | None

    def active(self, now_s: int) -> bool:
        """True while the lock blocks entries at ``now_s``."""
        return self.until_s is None or now_s < self.until_s


@dataclass(frozen=True, slots=True)
class SkippedCandidate:
    """A candidate that was not entered, with the rule that stopped it."""

    candidate: Candidate
    result: GuardResult


@dataclass(frozen=True, slots=True)
class Candidate:
    """An entry that a strategy wants to place in this decision round.

    Attributes:
        setup_id: natural id of the setup (``strategy:pair:timestamp``).
        pair: Hummingbot trading pair, e.g. ``"BTC-USDT"``.
        strategy: ``"dca"``, ``"swing"`` or ``"channel"``.
        side: ``"BUY"`` or ``"SELL"``; our strategies are long, the side exists so opposing
            signals on one pair can be detected.
        amount_quote: quote currency committed if the entry fully fills (> 0).
        confidence: model probability in [0, 1]; ``None`` when rules-only.

    Raises:
        ValueError: on an unknown strategy or side, a non-positive or non-finite amount, or a
            confidence outside [0, 1].
    """

    setup_id: str
    pair: str
    strategy: StrategyName
    side: Side
    amount_quote: float
    confidence: float | None = None

    def __post_init__(self) -> None:
        _check_strategy(self.strategy)
        if self.side not in SIDES:
            raise ValueError(f"side must be one of {SIDES}, got {self.side!r}")
        if not (math.isfinite(self.amount_quote) and self.amount_quote > 0):
            raise ValueError(f"{self.setup_id}: amount_quote must be > 0, got {self.amount_quote}")
        if self.confidence is not None and not 0.0 <= self.confidence <= 1.0:
            raise ValueError(
                f"{self.setup_id}: confidence must be in [0, 1], got {self.confidence}"
            )

    @classmethod
    def from_setup(
        cls,
        setup: Setup,
        confidence: float | None = None,
        amount_quote: float | None = None,
        side: Side = "BUY",
    ) -> Candidate:
        """Candidate for ``setup``; ``amount_quote`` defaults to the setup's full entry size."""
        amount = setup.entry.total_quote if amount_quote is None else amount_quote
        return cls(setup.setup_id, setup.pair, setup.strategy, side, amount, confidence)


@dataclass(frozen=True, slots=True)
class OpenPosition:
    """A position (or a resting entry) that holds capital.

    Attributes:
        pair: trading pair.
        strategy: strategy that opened it.
        amount_quote: quote committed, counting unfilled grid levels (what a new entry must fit
            beside under the exposure limit).
        opened_at_s: time the entry was placed (s).
        setup_id: the setup it came from.
    """

    pair: str
    strategy: StrategyName
    amount_quote: float
    opened_at_s: int
    setup_id: str

    def __post_init__(self) -> None:
        _check_strategy(self.strategy)
        if not (math.isfinite(self.amount_quote) and self.amount_quote >= 0):
            raise ValueError(f"{self.setup_id}: amount_quote must be >= 0, got {self.amount_quote}")


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """A finished trade, net of fees.

    Attributes:
        pair: trading pair.
        strategy: strategy that opened it.
        closed_at_s: time of the closing fill (s).
        pnl_quote: realised profit (negative = loss) in quote, after fees. A trade is a loss
            when ``pnl_quote < 0`` and a hit when ``pnl_quote > 0``; break-even is neither a
            loss (it ends a losing streak) nor a hit (it lowers the hit rate).
        return_frac: ``pnl_quote`` over the quote invested (0.02 = +2 %).
        setup_id: the setup it came from (optional, for logs).
    """

    pair: str
    strategy: StrategyName
    closed_at_s: int
    pnl_quote: float
    return_frac: float
    setup_id: str = ""

    def __post_init__(self) -> None:
        _check_strategy(self.strategy)
        if not math.isfinite(self.pnl_quote):
            raise ValueError(
                f"{self.pair} trade closed at {self.closed_at_s}: pnl_quote is NaN/inf"
            )

    @property
    def is_loss(self) -> bool:
        """True when the trade lost money after fees."""
        return self.pnl_quote < 0

    @property
    def is_hit(self) -> bool:
        """True when the trade made money after fees."""
        return self.pnl_quote > 0


@dataclass(frozen=True, slots=True)
class PortfolioState:
    """What the guards see at one decision time; build a new one per decision round.

    The snapshot fields are frozen; ``ledger`` is a reference to the caller's mutable
    :class:`~ml_signals.risk.ledger.TradeLedger` so that closed-trade statistics are O(1) running
    values instead of a scan over every trade on each check. Guards only read it.

    Attributes:
        now_s: decision time (s, UTC). In a backtest: the close time of the decision candle.
        equity_quote: marked-to-market equity now (free quote + open positions at market).
        day_start_equity_quote: equity at the start of the current UTC day (00:00 UTC, or at
            start-up when the bot started later that day); see ``TradeLedger.mark_equity``.
        open_positions: positions and resting entries currently holding capital.
        ledger: closed-trade record with running statistics and guard locks.
        btc_regime: current BTC regime (``ml_signals.regime.BtcRegime``).

    Raises:
        ValueError: on non-finite equity or a non-positive day-start equity.
    """

    now_s: int
    equity_quote: float
    day_start_equity_quote: float
    open_positions: tuple[OpenPosition, ...]
    ledger: TradeLedger
    btc_regime: BtcRegime

    def __post_init__(self) -> None:
        if not math.isfinite(self.equity_quote):
            raise ValueError(f"equity_quote must be finite, got {self.equity_quote}")
        if not (math.isfinite(self.day_start_equity_quote) and self.day_start_equity_quote > 0):
            raise ValueError(
                f"day_start_equity_quote must be > 0, got {self.day_start_equity_quote}"
            )

    @property
    def open_exposure_quote(self) -> float:
        """Sum of ``amount_quote`` over open positions (quote)."""
        return sum(p.amount_quote for p in self.open_positions)

    def exposure_for(self, strategy: str) -> float:
        """Quote committed by open positions of ``strategy``."""
        return sum(p.amount_quote for p in self.open_positions if p.strategy == strategy)

    def has_position(self, pair: str) -> bool:
        """True when a position on ``pair`` is open."""
        return any(p.pair == pair for p in self.open_positions)

    def with_position(self, position: OpenPosition) -> PortfolioState:
        """A copy with ``position`` added (used to check the next candidate of a round)."""
        return PortfolioState(
            now_s=self.now_s,
            equity_quote=self.equity_quote,
            day_start_equity_quote=self.day_start_equity_quote,
            open_positions=(*self.open_positions, position),
            ledger=self.ledger,
            btc_regime=self.btc_regime,
        )
