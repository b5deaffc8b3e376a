"""Alert events: frozen records of what happened, in project units.

Message builders (:mod:`ml_signals.alerts.messages`) are pure functions of these events. Every
event carries:

* ``role`` — which channel it belongs to: ``"trades"`` (``#ml-signals``), ``"reports"``
  (``#daily-reports``) or ``"system"`` (``#system-alerts``), after the original plan, section
  "Slack Integration / Channel Configuration";
* ``idempotency_key`` — derived from the event's natural id, so submitting the same event twice
  (a restart replaying a fill, two code paths reporting one close) sends one Slack message.

Units: prices and amounts in quote currency (``*_quote``), fractions (``*_frac``, 0.02 = 2 %),
durations in seconds (``*_s``), timestamps in seconds since the epoch, UTC (``*_s``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

ChannelRole = Literal["trades", "reports", "system"]
ReportKind = Literal["morning", "evening", "weekly"]
Severity = Literal["info", "warning", "critical"]
Side = Literal["buy", "sell"]


def _check_positive(event: str, **values: float) -> None:
    for name, value in values.items():
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{event}.{name} must be a finite number > 0, got {value!r}")


def _check_finite(event: str, **values: float) -> None:
    for name, value in values.items():
        if not math.isfinite(value):
            raise ValueError(f"{event}.{name} must be finite, got {value!r}")


def _check_frac(event: str, **values: float | None) -> None:
    for name, value in values.items():
        if value is not None and not (math.isfinite(value) and 0 <= value <= 1):
            raise ValueError(f"{event}.{name} must be in [0, 1], got {value!r}")


def quote_of(pair: str) -> str:
    """Quote currency of a Hummingbot pair: ``"BTC-USDT"`` -> ``"USDT"``."""
    return pair.rsplit("-", 1)[-1] if "-" in pair else ""


@dataclass(frozen=True, slots=True)
class TradeOpened:
    """A position was opened (an executor's entry filled).

    Attributes:
        trade_id: natural id, the Hummingbot executor id.
        strategy: ``"dca"``, ``"swing"``, ``"channel"``.
        pair: Hummingbot pair, e.g. ``"BTC-USDT"``.
        side: ``"buy"`` (long) or ``"sell"`` (short).
        entry_price_quote: average entry price.
        amount_quote: position size in quote.
        confidence: model probability in [0, 1]; ``None`` when rules-only.
        stop_loss_frac: stop distance from entry, positive fraction.
        take_profit_frac: target distance from entry, positive fraction.
        opened_s: fill time.
        model_version: artifact version or ``"rules-only"``.
        setup_id: the setup that led to the trade (``strategy:pair:timestamp``), if any.
    """

    trade_id: str
    strategy: str
    pair: str
    entry_price_quote: float
    amount_quote: float
    confidence: float | None
    stop_loss_frac: float
    take_profit_frac: float
    opened_s: float
    side: Side = "buy"
    model_version: str = "rules-only"
    setup_id: str | None = None

    role: ClassVar[ChannelRole] = "trades"

    def __post_init__(self) -> None:
        if not self.trade_id:
            raise ValueError("TradeOpened.trade_id must not be empty")
        _check_positive(
            "TradeOpened",
            entry_price_quote=self.entry_price_quote,
            amount_quote=self.amount_quote,
            stop_loss_frac=self.stop_loss_frac,
            take_profit_frac=self.take_profit_frac,
        )
        _check_frac("TradeOpened", confidence=self.confidence)

    @property
    def idempotency_key(self) -> str:
        """``trade-opened:<trade_id>``."""
        return f"trade-opened:{self.trade_id}"

    @property
    def stop_price_quote(self) -> float:
        """Stop-loss price: below entry for a long, above for a short."""
        sign = -1.0 if self.side == "buy" else 1.0
        return self.entry_price_quote * (1.0 + sign * self.stop_loss_frac)

    @property
    def target_price_quote(self) -> float:
        """Take-profit price: above entry for a long, below for a short."""
        sign = 1.0 if self.side == "buy" else -1.0
        return self.entry_price_quote * (1.0 + sign * self.take_profit_frac)


@dataclass(frozen=True, slots=True)
class TradeClosed:
    """A position was closed.

    Attributes:
        trade_id: natural id, the Hummingbot executor id.
        strategy, pair, side: as in :class:`TradeOpened`.
        entry_price_quote, exit_price_quote: average entry and exit prices.
        amount_quote: position size at entry, in quote.
        pnl_quote: net profit (negative for a loss) after fees, in quote.
        pnl_frac: ``pnl_quote`` over the entry amount (0.012 = +1.2 %).
        close_type: why it closed, Hummingbot ``CloseType`` name in any case, e.g.
            ``"TAKE_PROFIT"``, ``"STOP_LOSS"``, ``"TIME_LIMIT"``, ``"TRAILING_STOP"``.
        opened_s, closed_s: entry fill and exit times.
    """

    trade_id: str
    strategy: str
    pair: str
    entry_price_quote: float
    exit_price_quote: float
    amount_quote: float
    pnl_quote: float
    pnl_frac: float
    close_type: str
    opened_s: float
    closed_s: float
    side: Side = "buy"

    role: ClassVar[ChannelRole] = "trades"

    def __post_init__(self) -> None:
        if not self.trade_id:
            raise ValueError("TradeClosed.trade_id must not be empty")
        _check_positive(
            "TradeClosed",
            entry_price_quote=self.entry_price_quote,
            exit_price_quote=self.exit_price_quote,
            amount_quote=self.amount_quote,
        )
        _check_finite("TradeClosed", pnl_quote=self.pnl_quote, pnl_frac=self.pnl_frac)
        if self.closed_s < self.opened_s:
            raise ValueError(
                f"TradeClosed {self.trade_id}: closed_s {self.closed_s} < opened_s {self.opened_s}"
            )

    @property
    def idempotency_key(self) -> str:
        """``trade-closed:<trade_id>``."""
        return f"trade-closed:{self.trade_id}"

    @property
    def duration_s(self) -> float:
        """Seconds in the position."""
        return self.closed_s - self.opened_s


@dataclass(frozen=True, slots=True)
class DailySummary:
    """A scheduled performance report (original plan, "Report Schedule").

    Attributes:
        kind: ``"morning"`` (07:00 America/Los_Angeles, last 12 h), ``"evening"`` (19:00, the
            trading day) or ``"weekly"`` (Sunday 19:00, the week).
        period_start_s, period_end_s: the window summarised, ``[start, end)``.
        setups_detected: setups the detectors produced in the window.
        setups_taken: setups that passed the model / guards and were traded.
        trades_count: trades closed in the window.
        wins, losses: closed trades with positive / non-positive net P&L.
        net_pnl_quote: sum of closed trades' net P&L, in quote.
        ml_precision: wins over closed trades the model approved (in [0, 1]); ``None`` when no
            model-scored trade closed in the window.
        quote_currency: currency of ``net_pnl_quote``, e.g. ``"USDT"``.
    """

    kind: ReportKind
    period_start_s: float
    period_end_s: float
    setups_detected: int
    setups_taken: int
    trades_count: int
    wins: int
    losses: int
    net_pnl_quote: float
    ml_precision: float | None
    quote_currency: str = "USDT"

    role: ClassVar[ChannelRole] = "reports"

    def __post_init__(self) -> None:
        if self.period_end_s <= self.period_start_s:
            raise ValueError("DailySummary period_end_s must be after period_start_s")
        for name in ("setups_detected", "setups_taken", "trades_count", "wins", "losses"):
            if getattr(self, name) < 0:
                raise ValueError(f"DailySummary.{name} must be >= 0")
        if self.wins + self.losses > self.trades_count:
            raise ValueError("DailySummary wins + losses exceed trades_count")
        _check_finite("DailySummary", net_pnl_quote=self.net_pnl_quote)
        _check_frac("DailySummary", ml_precision=self.ml_precision)

    @property
    def idempotency_key(self) -> str:
        """``report:<kind>:<period_end_s>`` — one report per slot."""
        return f"report:{self.kind}:{int(self.period_end_s)}"


@dataclass(frozen=True, slots=True)
class ModelLoaded:
    """A model artifact was loaded at start-up or replaced a previous one.

    Attributes:
        model_version: version string of the artifact now in use.
        artifact_path: where it was loaded from.
        previous_version: the version it replaced; ``None`` at start-up.
        occurred_s: load time.
        gate: the promotion gate's verdict of the new version (``manifest["gate"]["verdict"]``,
            ``"pass"`` / ``"fail"``); ``None`` when unknown.
        previous_gate: the same for the replaced version; ``None`` when unknown or rules-only.
        strategy: the strategy whose model it is; ``None`` when not given.
    """

    model_version: str
    artifact_path: str
    occurred_s: float
    previous_version: str | None = None
    gate: str | None = None
    previous_gate: str | None = None
    strategy: str | None = None

    role: ClassVar[ChannelRole] = "system"

    @property
    def idempotency_key(self) -> str:
        """``model:<version>:<occurred_s>``."""
        return f"model:{self.model_version}:{int(self.occurred_s)}"


@dataclass(frozen=True, slots=True)
class CandlesStale:
    """No candle data for a pair for longer than the threshold (original plan, "Data Health
    Monitoring": alert if no data for 10 min, Slack alert @channel).

    Attributes:
        pair: the silent feed.
        last_update_s: time the feed last delivered data.
        occurred_s: when the silence was detected.
        threshold_s: the configured limit (600 s in the plan).
    """

    pair: str
    last_update_s: float
    occurred_s: float
    threshold_s: float = 600.0

    role: ClassVar[ChannelRole] = "system"

    @property
    def silence_s(self) -> float:
        """Seconds without data at detection time."""
        return self.occurred_s - self.last_update_s

    @property
    def idempotency_key(self) -> str:
        """``stale:<pair>:<last_update_s>`` — one alert per stall."""
        return f"stale:{self.pair}:{int(self.last_update_s)}"


@dataclass(frozen=True, slots=True)
class GuardTripped:
    """A risk guard blocked trading, or the kill switch stopped everything.

    Attributes:
        guard: guard name, e.g. ``"daily_loss"``, ``"consecutive_losses"``.
        reason: human-readable cause with figures.
        occurred_s: trip time.
        kill_switch: True when all trading stopped (mentions the channel).
        pair: the pair concerned, ``None`` for portfolio-wide guards.
    """

    guard: str
    reason: str
    occurred_s: float
    kill_switch: bool = False
    pair: str | None = None

    role: ClassVar[ChannelRole] = "system"

    @property
    def idempotency_key(self) -> str:
        """``guard:<guard>:<pair or *>:<occurred_s>``."""
        return f"guard:{self.guard}:{self.pair or '*'}:{int(self.occurred_s)}"


@dataclass(frozen=True, slots=True)
class SystemNotice:
    """Any other system message (e.g. Hummingbot's own ``notify()`` text).

    Attributes:
        title: one-line summary.
        detail: body text (shown verbatim, escaped).
        occurred_s: time of the notice.
        key: caller-chosen natural id; two notices with the same key are one alert.
        severity: ``"critical"`` mentions the channel.
    """

    title: str
    detail: str
    occurred_s: float
    key: str
    severity: Severity = "info"

    role: ClassVar[ChannelRole] = "system"

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("SystemNotice.key must not be empty")

    @property
    def idempotency_key(self) -> str:
        """``notice:<key>``."""
        return f"notice:{self.key}"


AlertEvent = (
    TradeOpened | TradeClosed | DailySummary | ModelLoaded | CandlesStale | GuardTripped
    | SystemNotice
)
"""Every event :meth:`ml_signals.alerts.sender.AlertSender.submit` accepts."""
