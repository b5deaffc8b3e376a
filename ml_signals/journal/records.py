"""Journal records: one frozen dataclass per table, keyed by a natural id.

Tables follow the original plan, "Database Schema" (``strategy_setups``, ``ml_predictions``,
``hummingbot_trades`` -> ``trades``, ``daily_performance``) plus ``guard_locks``, adapted:

* natural text ids instead of ``SERIAL`` keys, so writing the same record twice is one row
  (``setup_id = "strategy:pair:timestamp"``, the executor id for trades,
  ``"<setup_id>:<model_version>"`` for predictions, ``(date, strategy)`` for daily rows);
* unbounded ``numeric`` instead of ``DECIMAL(3,2)`` / ``DECIMAL(10,2)``, which cut confidences
  to two digits and P&L to cents;
* units in column names (``*_quote``, ``*_frac``, ``*_s``); timestamps are seconds UTC.

``to_row()`` gives the JSON-ready column dict both backends write; ``from_row()`` reads one back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ml_signals.journal.control_records import ControlRecord
from ml_signals.journal.record_checks import (
    check_finite,
    check_non_negative,
    check_positive,
    opt_float,
)
from ml_signals.journal.risk_records import DailyPerformanceRecord, GuardLockRecord
from ml_signals.scoring.score import Score, parse_shadow_version
from ml_signals.setups.base import Setup

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SetupRecord:
    """Every detected setup, taken or skipped (table ``strategy_setups``).

    Attributes:
        setup_id: ``"strategy:pair:timestamp"`` (:attr:`ml_signals.setups.base.Setup.setup_id`).
        strategy, pair: detector and Hummingbot pair.
        candle_ts_s: open time (s, UTC) of the triggering candle.
        reference_price_quote: that candle's close.
        entry_type: ``"market"`` or ``"limit_grid"``.
        taken: whether a position was opened for it.
        skip_reason: why not (model below threshold, a guard, max positions ...); required
            when ``taken`` is False.
        context: detector facts (support, resistance, drop ...), floats.
        recorded_s: when the decision was made.
    """

    TABLE: ClassVar[str] = "strategy_setups"
    CONFLICT: ClassVar[tuple[str, ...]] = ("setup_id",)

    setup_id: str
    strategy: str
    pair: str
    candle_ts_s: int
    reference_price_quote: float
    entry_type: str
    taken: bool
    skip_reason: str | None
    recorded_s: float
    context: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        expected = f"{self.strategy}:{self.pair}:{self.candle_ts_s}"
        if self.setup_id != expected:
            raise ValueError(f"strategy_setups {self.setup_id!r}: setup_id must be {expected!r}")
        check_positive(self.TABLE, self.setup_id, reference_price_quote=self.reference_price_quote)
        if not self.taken and not self.skip_reason:
            raise ValueError(f"strategy_setups {self.setup_id}: a skipped setup needs skip_reason")

    @property
    def natural_id(self) -> str:
        """Primary key value."""
        return self.setup_id

    @classmethod
    def from_setup(cls, setup: Setup, taken: bool, skip_reason: str | None,
                   recorded_s: float) -> SetupRecord:
        """Record for a detector's :class:`~ml_signals.setups.base.Setup`."""
        return cls(setup_id=setup.setup_id, strategy=setup.strategy, pair=setup.pair,
                   candle_ts_s=int(setup.timestamp),
                   reference_price_quote=float(setup.reference_price),
                   entry_type=setup.entry.entry_type, taken=taken,
                   skip_reason=None if taken else skip_reason, recorded_s=recorded_s,
                   context={k: float(v) for k, v in setup.context.items()})

    def to_row(self) -> Row:
        """Column dict (``context`` as a JSON object)."""
        return {"setup_id": self.setup_id, "strategy": self.strategy, "pair": self.pair,
                "candle_ts_s": int(self.candle_ts_s),
                "reference_price_quote": float(self.reference_price_quote),
                "entry_type": self.entry_type, "taken": bool(self.taken),
                "skip_reason": self.skip_reason, "context": dict(self.context),
                "recorded_s": float(self.recorded_s)}

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> SetupRecord:
        """Inverse of :meth:`to_row` (accepts extra columns)."""
        return cls(setup_id=str(row["setup_id"]), strategy=str(row["strategy"]),
                   pair=str(row["pair"]), candle_ts_s=int(row["candle_ts_s"]),
                   reference_price_quote=float(row["reference_price_quote"]),
                   entry_type=str(row["entry_type"]), taken=bool(row["taken"]),
                   skip_reason=row.get("skip_reason"), recorded_s=float(row["recorded_s"]),
                   context={k: float(v) for k, v in (row.get("context") or {}).items()})


@dataclass(frozen=True, slots=True)
class PredictionRecord:
    """A model's verdict on a setup (table ``ml_predictions``).

    Attributes:
        prediction_id: ``"<setup_id>:<model_version>"``.
        setup_id: the scored setup (must be journaled first: foreign key).
        model_version: artifact version or ``"rules-only"``; a shadow's (never traded,
            :mod:`ml_signals.scoring.shadow`) is ``"shadow:<name>:<version>"``, which
            :attr:`role` and :attr:`shadow_name` read (no extra column, so the SQLite and
            Supabase schemas are unchanged).
        confidence: probability in [0, 1]; ``None`` rules-only.
        take: passed the threshold.
        take_profit_frac, stop_loss_frac: exits the model chose (fractions of entry).
        size_multiplier: scales the configured quote size.
        expected_hold_s: expected time in position, seconds.
        scored_s: scoring time.
    """

    TABLE: ClassVar[str] = "ml_predictions"
    CONFLICT: ClassVar[tuple[str, ...]] = ("prediction_id",)

    prediction_id: str
    setup_id: str
    model_version: str
    confidence: float | None
    take: bool
    take_profit_frac: float
    stop_loss_frac: float
    size_multiplier: float
    expected_hold_s: int
    scored_s: float

    def __post_init__(self) -> None:
        expected = f"{self.setup_id}:{self.model_version}"
        if self.prediction_id != expected:
            raise ValueError(f"ml_predictions {self.prediction_id!r}: id must be {expected!r}")
        ident = self.prediction_id
        if self.confidence is not None and not (0.0 <= self.confidence <= 1.0):
            raise ValueError(f"ml_predictions {ident}: confidence must be in [0, 1]")
        check_positive(self.TABLE, ident, take_profit_frac=self.take_profit_frac,
                  stop_loss_frac=self.stop_loss_frac, size_multiplier=self.size_multiplier)
        check_non_negative(self.TABLE, ident, expected_hold_s=self.expected_hold_s)

    @property
    def natural_id(self) -> str:
        """Primary key value."""
        return self.prediction_id

    @property
    def role(self) -> str:
        """``"shadow"`` for a shadow's prediction, ``"champion"`` for the trading model's."""
        return "champion" if parse_shadow_version(self.model_version) is None else "shadow"

    @property
    def shadow_name(self) -> str | None:
        """``"challenger"`` or the rule variant of a shadow prediction; ``None`` champion."""
        parsed = parse_shadow_version(self.model_version)
        return parsed[0] if parsed else None

    @classmethod
    def from_score(cls, setup_id: str, score: Score, scored_s: float) -> PredictionRecord:
        """Record for a scorer's :class:`~ml_signals.scoring.score.Score` of ``setup_id``."""
        return cls(prediction_id=f"{setup_id}:{score.model_version}", setup_id=setup_id,
                   model_version=score.model_version, confidence=score.confidence,
                   take=score.take, take_profit_frac=score.take_profit_frac,
                   stop_loss_frac=score.stop_loss_frac, size_multiplier=score.size_multiplier,
                   expected_hold_s=int(score.expected_hold_s), scored_s=scored_s)

    def to_row(self) -> Row:
        """Column dict."""
        return {"prediction_id": self.prediction_id, "setup_id": self.setup_id,
                "model_version": self.model_version, "confidence": opt_float(self.confidence),
                "take": bool(self.take), "take_profit_frac": float(self.take_profit_frac),
                "stop_loss_frac": float(self.stop_loss_frac),
                "size_multiplier": float(self.size_multiplier),
                "expected_hold_s": int(self.expected_hold_s), "scored_s": float(self.scored_s)}

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> PredictionRecord:
        """Inverse of :meth:`to_row`."""
        return cls(prediction_id=str(row["prediction_id"]), setup_id=str(row["setup_id"]),
                   model_version=str(row["model_version"]),
                   confidence=opt_float(row.get("confidence")), take=bool(row["take"]),
                   take_profit_frac=float(row["take_profit_frac"]),
                   stop_loss_frac=float(row["stop_loss_frac"]),
                   size_multiplier=float(row["size_multiplier"]),
                   expected_hold_s=int(row["expected_hold_s"]), scored_s=float(row["scored_s"]))


@dataclass(frozen=True, slots=True)
class TradeRecord:
    """One position, open or closed (table ``trades``; the plan's ``hummingbot_trades``).

    Write it when the position opens (exit fields ``None``) and again when it closes; the
    second write replaces the first.

    Attributes:
        trade_id: Hummingbot executor id.
        setup_id: the setup that led to it, ``None`` for trades not from a setup.
        strategy, pair: as in the setup.
        side: ``"buy"`` (long) or ``"sell"`` (short).
        entry_price_quote: average entry price.
        exit_price_quote: average exit price; ``None`` while open.
        amount_base: filled size in base.
        amount_quote: filled size in quote at entry.
        fees_quote: fees paid so far, quote.
        pnl_quote: net P&L after fees; ``None`` while open.
        pnl_frac: ``pnl_quote / amount_quote``; ``None`` while open.
        close_type: Hummingbot ``CloseType`` name; ``None`` while open.
        opened_s: entry fill time; closed_s: exit time, ``None`` while open.
    """

    TABLE: ClassVar[str] = "trades"
    CONFLICT: ClassVar[tuple[str, ...]] = ("trade_id",)

    trade_id: str
    setup_id: str | None
    strategy: str
    pair: str
    side: str
    entry_price_quote: float
    amount_base: float
    amount_quote: float
    fees_quote: float
    opened_s: float
    exit_price_quote: float | None = None
    pnl_quote: float | None = None
    pnl_frac: float | None = None
    close_type: str | None = None
    closed_s: float | None = None

    def __post_init__(self) -> None:
        ident = self.trade_id
        if not ident:
            raise ValueError("trades: trade_id must not be empty")
        if self.side not in ("buy", "sell"):
            raise ValueError(f"trades {ident}: side must be 'buy' or 'sell', got {self.side!r}")
        check_positive(self.TABLE, ident, entry_price_quote=self.entry_price_quote,
                  exit_price_quote=self.exit_price_quote)
        check_non_negative(self.TABLE, ident, amount_base=self.amount_base,
                      amount_quote=self.amount_quote, fees_quote=self.fees_quote)
        check_finite(self.TABLE, ident, pnl_quote=self.pnl_quote, pnl_frac=self.pnl_frac)
        if (self.closed_s is None) != (self.exit_price_quote is None):
            raise ValueError(f"trades {ident}: closed_s and exit_price_quote go together")
        if self.closed_s is not None and self.closed_s < self.opened_s:
            raise ValueError(f"trades {ident}: closed_s before opened_s")

    @property
    def natural_id(self) -> str:
        """Primary key value."""
        return self.trade_id

    @property
    def is_closed(self) -> bool:
        """True once the exit is known."""
        return self.closed_s is not None

    def to_row(self) -> Row:
        """Column dict."""
        return {"trade_id": self.trade_id, "setup_id": self.setup_id,
                "strategy": self.strategy, "pair": self.pair, "side": self.side,
                "entry_price_quote": float(self.entry_price_quote),
                "exit_price_quote": opt_float(self.exit_price_quote),
                "amount_base": float(self.amount_base), "amount_quote": float(self.amount_quote),
                "fees_quote": float(self.fees_quote), "pnl_quote": opt_float(self.pnl_quote),
                "pnl_frac": opt_float(self.pnl_frac), "close_type": self.close_type,
                "opened_s": float(self.opened_s), "closed_s": opt_float(self.closed_s)}

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> TradeRecord:
        """Inverse of :meth:`to_row` (accepts extra columns such as ``opened_at``)."""
        return cls(trade_id=str(row["trade_id"]), setup_id=row.get("setup_id"),
                   strategy=str(row["strategy"]), pair=str(row["pair"]), side=str(row["side"]),
                   entry_price_quote=float(row["entry_price_quote"]),
                   amount_base=float(row["amount_base"]),
                   amount_quote=float(row["amount_quote"]), fees_quote=float(row["fees_quote"]),
                   opened_s=float(row["opened_s"]),
                   exit_price_quote=opt_float(row.get("exit_price_quote")),
                   pnl_quote=opt_float(row.get("pnl_quote")),
                   pnl_frac=opt_float(row.get("pnl_frac")), close_type=row.get("close_type"),
                   closed_s=opt_float(row.get("closed_s")))


JournalRecord = (SetupRecord | PredictionRecord | TradeRecord | DailyPerformanceRecord
                 | GuardLockRecord | ControlRecord)
"""Anything :meth:`ml_signals.journal.journal.Journal.record` accepts."""

RECORD_TYPES: dict[str, type[JournalRecord]] = {
    cls.TABLE: cls for cls in (SetupRecord, PredictionRecord, TradeRecord, DailyPerformanceRecord,
                               GuardLockRecord, ControlRecord)
}
"""Table name -> record class."""


def natural_id_of(table: str, row: Mapping[str, Any]) -> str:
    """Natural id of a column dict of ``table`` (conflict columns joined by ``:``)."""
    return ":".join(str(row[c]) for c in RECORD_TYPES[table].CONFLICT)
