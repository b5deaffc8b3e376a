"""Settings of a portfolio backtest, in one validated object.

Defaults follow the live scripts (``conf/scripts/*.yml``, ``ml_signals.hummingbot``) scaled to
the original plan's $1,000 paper capital:

* the detectors size for the scripts' $5,000 capital (a $500 DCA grid, a $200 swing, a $100
  channel position); at $1,000 every detector amount is multiplied by ``amount_scale`` 0.2 so
  each position takes the same share of capital as in the scripts (returns are fractions, so
  the scaled run is the scripts' run in miniature; fees have no minimum);
* one strategy alone runs like its own script: no orchestrator, the risk guards only, with
  the original plan's Phase 1 limits (``RiskConfig()``: 5 positions, one per pair, $500 open
  exposure, -10 % daily loss stop, 5 losses in a row, crash pause);
* the three strategies together run like ``ml_portfolio``: the orchestrator's allocation
  (20 % reserve; weights dca 0.5 / swing 0.3 / channel 0.2 -- the plan's 60 / 40 split has
  channel at 0, so channel gets a weight here) and exposure up to the deployable 80 %;
* the kill switch is off: it latches until an operator resets it, and a backtest has no
  operator (one trip would silence the rest of the run). Turn it on through ``risk`` to see
  when it would have tripped (``BacktestResult.locks``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ml_signals.decision.sizing import SizingConfig
from ml_signals.exits import POSITION_TAKE_PROFIT_ORDER
from ml_signals.risk import RiskConfig
from ml_signals.setups import STRATEGIES, StrategyName

Mode = Literal["rules", "ml"]
SliceName = Literal["oof", "quarantine"]
MODES: tuple[Mode, ...] = ("rules", "ml")
SLICES: tuple[SliceName, ...] = ("oof", "quarantine")
COMBINED = "combined"


def _single_risk() -> RiskConfig:
    return RiskConfig(kill_switch_min_hit_rate_frac=None)


def _combined_risk() -> RiskConfig:
    return RiskConfig(max_exposure_quote=800.0, kill_switch_min_hit_rate_frac=None)


def _slippage() -> SlippageConfig:
    return SlippageConfig()


def _combined_weights() -> dict[StrategyName, float]:
    return {"dca": 0.5, "swing": 0.3, "channel": 0.2}


class SlippageConfig(BaseModel):
    """Slippage of market fills (market entries, marketable grid levels, stop loss, trailing
    stop, market take profit, time limit); resting limit fills get none.

    A market fill in candle ``k`` trades ``fixed_bps / 10_000 + range_frac * (high[k] -
    low[k]) / open[k]`` worse than the replayed price: buys higher, sells lower. A marketable
    grid level never pays more than its limit price.

    Attributes:
        fixed_bps: spread and fixed impact, basis points (5 = 0.05 %).
        range_frac: share of the fill candle's high-low range (volatility-dependent impact).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    fixed_bps: float = Field(default=5.0, ge=0, le=500)
    range_frac: float = Field(default=0.05, ge=0, le=1)


class BacktestConfig(BaseModel):
    """Everything a portfolio backtest needs beyond the training run (see the module docstring
    for where each default comes from).

    Attributes:
        start_capital_quote: starting equity (original plan: $1,000 paper capital).
        amount_scale: multiplies every detector quote amount before the score's size
            multiplier (0.2 = the scripts' $5,000 sizing at $1,000).
        maker_fee_frac, taker_fee_frac: fee fractions; ``None`` takes the training run's fees.
        slippage: market-fill slippage model.
        position_take_profit_order: take-profit order of market entries
            (``PositionExecutor``); default what the scripts send and the labels replay
            (:data:`ml_signals.exits.POSITION_TAKE_PROFIT_ORDER`).
        risk: guards of a single-strategy run.
        combined_risk: guards of the combined run.
        combined_weights: orchestrator weights of the combined run (normalised).
        reserve_frac: capital never deployed by the orchestrator.
        sizing: confidence -> size and DCA spacing, as the scripts (``max_spacing_widen_frac``
            0.5).
        confidence_thresholds: per strategy; missing ones come from the run's scoring config.
        cancel_unfilled_after_s: an entry with no fill this long after placement is
            cancelled (the scripts' ``cancel_unfilled_after_s`` 86400); ``None``: never.
        cancel_unfilled_when_blocked: cancel every entry with no fill while an emergency or
            crash guard blocks (``ml_signals.decision.planner.CANCEL_ENTRIES_GUARDS``), as
            ``StrategyRuntime.stop_actions`` does live.
        equity_interval_s: spacing of the equity curve (hourly).
        scopes: strategies run alone, plus ``"combined"`` for all of them in one portfolio.
        modes: ``"rules"`` and / or ``"ml"``.
        slices: ``"oof"`` (walk-forward test folds) and / or ``"quarantine"`` (newest 30 days).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    start_capital_quote: float = Field(default=1_000.0, gt=0)
    amount_scale: float = Field(default=0.2, gt=0, le=100)
    maker_fee_frac: float | None = Field(default=None, ge=0, lt=0.1)
    taker_fee_frac: float | None = Field(default=None, ge=0, lt=0.1)
    slippage: SlippageConfig = Field(default_factory=_slippage)
    position_take_profit_order: Literal["market", "limit"] = POSITION_TAKE_PROFIT_ORDER
    risk: RiskConfig = Field(default_factory=_single_risk)
    combined_risk: RiskConfig = Field(default_factory=_combined_risk)
    combined_weights: dict[StrategyName, float] = Field(default_factory=_combined_weights)
    reserve_frac: float = Field(default=0.2, ge=0, lt=1)
    sizing: SizingConfig = Field(default_factory=SizingConfig)
    confidence_thresholds: dict[StrategyName, float] = Field(default_factory=dict)
    cancel_unfilled_after_s: int | None = Field(default=86_400, gt=0)
    cancel_unfilled_when_blocked: bool = True
    equity_interval_s: int = Field(default=3_600, gt=0)
    scopes: tuple[str, ...] = (*STRATEGIES, COMBINED)
    modes: tuple[Mode, ...] = MODES
    slices: tuple[SliceName, ...] = SLICES

    @model_validator(mode="after")
    def _check(self) -> BacktestConfig:
        unknown = [s for s in self.scopes if s not in (*STRATEGIES, COMBINED)]
        if unknown:
            raise ValueError(f"unknown scopes {unknown}; use {(*STRATEGIES, COMBINED)}")
        if sum(self.combined_weights.values()) <= 0:
            raise ValueError("combined_weights need one weight > 0")
        bad = {k: v for k, v in self.confidence_thresholds.items() if not 0 <= v <= 1}
        if bad:
            raise ValueError(f"confidence thresholds must lie in [0, 1], got {bad}")
        return self
