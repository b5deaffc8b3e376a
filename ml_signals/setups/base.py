"""Setup records and the detector contract.

A detector looks at candles that have **closed** and returns the setups they imply. The same
vectorised ``detect`` serves training (whole history) and the live scripts (the last <= 720
candles of a Hummingbot feed, keeping only a setup on the newest closed candle).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel

from ml_signals.exits import ExitRules

StrategyName = Literal["dca", "swing", "channel"]
EntryType = Literal["market", "limit_grid"]


@dataclass(frozen=True, slots=True)
class EntryPlan:
    """How a setup enters.

    Attributes:
        entry_type: ``"market"`` fills at the open of the candle after the decision;
            ``"limit_grid"`` rests buy limits at ``prices`` that fill when a later candle's low
            reaches them (Hummingbot ``DCAExecutor``).
        prices: limit prices in quote, descending (empty for market entries).
        amounts_quote: quote amount per level, same length as ``prices``; for a market entry a
            single amount.
    """

    entry_type: EntryType
    prices: tuple[float, ...] = ()
    amounts_quote: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.entry_type == "limit_grid" and len(self.prices) != len(self.amounts_quote):
            raise ValueError(
                f"grid has {len(self.prices)} prices but {len(self.amounts_quote)} amounts"
            )
        if any(p <= 0 for p in self.prices) or any(a <= 0 for a in self.amounts_quote):
            raise ValueError("entry prices and quote amounts must be > 0")

    @property
    def total_quote(self) -> float:
        """Quote currency committed if every level fills."""
        return float(sum(self.amounts_quote))


@dataclass(frozen=True, slots=True)
class Setup:
    """One rule-based detection on one closed candle.

    Attributes:
        strategy: which detector produced it.
        pair: Hummingbot trading pair, e.g. ``"BTC-USDT"``.
        timestamp: open time (s, UTC) of the candle whose close triggered it; the earliest
            possible fill is the next candle.
        bar_index: row of that candle in the frame passed to ``detect`` (for vectorised use).
        reference_price: that candle's close, in quote.
        entry: how the position is entered.
        exits: the default (rules-only) exits; a model may replace them.
        context: detector facts worth journaling (resistance, support, drop, ...), floats only.
    """

    strategy: StrategyName
    pair: str
    timestamp: int
    bar_index: int
    reference_price: float
    entry: EntryPlan
    exits: ExitRules
    context: dict[str, float] = field(default_factory=dict)

    @property
    def setup_id(self) -> str:
        """Natural id, stable across runs: ``strategy:pair:timestamp``."""
        return f"{self.strategy}:{self.pair}:{self.timestamp}"


class SetupDetector(ABC):
    """Base of every detector: one per module in ``ml_signals.setups``.

    Subclasses set :attr:`strategy` and implement :meth:`signal_mask` (vectorised) and
    :meth:`build_setup` (levels for one triggered row).
    """

    strategy: ClassVar[StrategyName]
    config: BaseModel
    """The detector's settings, set by the subclass (``DcaConfig``, ``SwingConfig``,
    ``ChannelConfig``); recorded in an artifact's manifest (``training.artifacts.provenance``)."""

    @abstractmethod
    def signal_mask(self, candles: pd.DataFrame, features: pd.DataFrame) -> pd.Series:
        """Boolean Series aligned with ``candles``: True where the rule fires on that candle.

        Must use only rows at or before each row (no look-ahead).
        """

    @abstractmethod
    def build_setup(
        self, pair: str, candles: pd.DataFrame, features: pd.DataFrame, i: int
    ) -> Setup:
        """Build the :class:`Setup` for triggered row ``i`` (positional)."""

    def detect(self, pair: str, candles: pd.DataFrame, features: pd.DataFrame) -> list[Setup]:
        """All setups in ``candles`` (canonical frame) given ``features`` (same index).

        Rows inside the feature warm-up (NaN features) never trigger.
        """
        mask = self._valid_signal(candles, features)
        return [self.build_setup(pair, candles, features, int(i)) for i in mask.nonzero()[0]]

    def signal_rows(self) -> int | None:
        """Rows, the newest included, that :meth:`signal_mask` reads to decide the newest row;
        ``None`` (default): the whole frame. :meth:`detect_latest` evaluates the rule on that
        tail only (a live script's frame holds 710 rows; most rules read one or two)."""
        return None

    def latest_fires(self, candles: pd.DataFrame, features: pd.DataFrame) -> bool:
        """:meth:`signal_mask`'s value on the newest row, evaluated on the last
        :meth:`signal_rows` rows only; ``False`` on an empty frame. Detectors with a faster
        newest-row form of their rule override it (parity-tested against :meth:`signal_mask`).
        """
        if len(candles) == 0:
            return False
        rows = self.signal_rows()
        tail = len(candles) if rows is None else min(rows, len(candles))
        mask = self.signal_mask(candles.iloc[-tail:], features.iloc[-tail:])
        return bool(mask.fillna(False).to_numpy(dtype=bool)[-1])

    def detect_latest(
        self, pair: str, candles: pd.DataFrame, features: pd.DataFrame
    ) -> Setup | None:
        """The setup on the newest closed candle, or ``None``: what a live script asks each bar.

        Same answer as ``detect`` on the frame for its newest row: the rule by
        :meth:`latest_fires`, every feature of the newest row known; the setup is built on the
        whole frame.

        Raises:
            ValueError: ``candles`` and ``features`` differ in length.
            KeyError: a feature column the rule reads is missing.
        """
        if len(candles) != len(features):
            raise ValueError(
                f"{self.strategy}: {len(candles)} candles but {len(features)} feature rows"
            )
        if len(candles) == 0 or not self.latest_fires(candles, features):
            return None
        if not features.iloc[-1].notna().all():
            return None
        return self.build_setup(pair, candles, features, len(candles) - 1)

    def _valid_signal(
        self, candles: pd.DataFrame, features: pd.DataFrame
    ) -> npt.NDArray[np.bool_]:
        """Boolean array: the rule fired and every feature of that row is known."""
        if len(candles) != len(features):
            raise ValueError(
                f"{self.strategy}: {len(candles)} candles but {len(features)} feature rows"
            )
        fired = self.signal_mask(candles, features).fillna(False).to_numpy(dtype=bool)
        return fired & features.notna().all(axis=1).to_numpy()
