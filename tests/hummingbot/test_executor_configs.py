"""Score + Setup -> Hummingbot executor configs: sizes, spacing, barriers, Decimals, side.

Setups come from the real detectors on the shipped Kraken candles; scores are written out (the
scorer's own tests cover the model); configs are Hummingbot's own pydantic classes.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hummingbot.core.data_type.common import OrderType, TradeType
from hummingbot.strategy_v2.executors.dca_executor.data_types import DCAExecutorConfig, DCAMode
from hummingbot.strategy_v2.executors.position_executor.data_types import PositionExecutorConfig

from ml_signals.decision.sizing import SizingConfig, size_entry
from ml_signals.features import compute_features
from ml_signals.hummingbot import executor_configs
from ml_signals.scoring.score import Score
from ml_signals.scoring.scorer import Scorer
from ml_signals.setups import Setup, make_detector
from training.labels.outcomes import LabelConfig

CONNECTOR = "kraken_paper_trade"


def _first_setup(strategy: str, frames) -> Setup:
    btc, eth = frames["BTC-USD"], frames["ETH-USD"]
    features = compute_features(eth, btc, 3600)
    setups = make_detector(strategy).detect("ETH-USD", eth, features)
    assert setups, f"the Kraken sample has {strategy} setups on ETH-USD"
    return setups[0]


@pytest.fixture(scope="module")
def dca_setup(kraken_frames) -> Setup:
    return _first_setup("dca", kraken_frames)


@pytest.fixture(scope="module")
def swing_setup(kraken_frames) -> Setup:
    return _first_setup("swing", kraken_frames)


def _score(confidence: float | None, size: float, tp: float = 0.06, sl: float = 0.07,
           hold_s: int = 36 * 3600, cut: float = 0.60) -> Score:
    """A taken score whose rule strength is ``confidence`` against ``cut``."""
    return Score(confidence=confidence, take=True, take_profit_frac=tp, stop_loss_frac=sl,
                 size_multiplier=size, expected_hold_s=hold_s, model_version="v-test",
                 strength=confidence, cut=None if confidence is None else cut,
                 rule="test rule")


def test_to_decimal_keeps_the_short_repr():
    assert executor_configs.to_decimal(0.1) == Decimal("0.1")
    assert executor_configs.to_decimal(0.07) == Decimal("0.07")
    with pytest.raises(ValueError, match="non-finite"):
        executor_configs.to_decimal(float("nan"))


def test_dca_config_from_a_confident_score(dca_setup):
    score = _score(confidence=0.80, size=1.25)
    sized = size_entry(dca_setup, score, sizing=SizingConfig())
    config = executor_configs.executor_config(sized, CONNECTOR, 1_700_000_000.0, price_quote=1.0)

    assert isinstance(config, DCAExecutorConfig)
    assert config.side == TradeType.BUY
    assert config.mode == DCAMode.MAKER
    assert config.connector_name == CONNECTOR
    assert config.trading_pair == "ETH-USD"
    assert config.level_id == dca_setup.setup_id
    assert config.timestamp == 1_700_000_000.0
    assert all(isinstance(x, Decimal) for x in [*config.amounts_quote, *config.prices])
    # size: every $100 level x 1.25
    assert [float(a) for a in config.amounts_quote] == pytest.approx([125.0] * 5)
    # spacing x1.25 around the reference close: level k at ref * (1 - 0.01 * k * 1.25)
    ref = dca_setup.reference_price
    assert [float(p) for p in config.prices] == pytest.approx(
        [ref * (1 - 0.0125 * k) for k in range(5)], rel=1e-12)
    # exits from the score
    assert config.take_profit == Decimal("0.06")
    assert config.stop_loss == Decimal("0.07")
    assert config.time_limit == 36 * 3600
    assert config.trailing_stop is None  # the DCA detector has no trailing stop


def test_dca_config_rules_only_is_the_detectors_grid(dca_setup):
    score = Scorer.rules_only_scorer("dca").score(dca_setup, {})
    sized = size_entry(dca_setup, score, sizing=SizingConfig())
    config = executor_configs.dca_executor_config(sized, CONNECTOR, 1.0)
    assert [float(p) for p in config.prices] == pytest.approx(list(dca_setup.entry.prices))
    assert [float(a) for a in config.amounts_quote] == pytest.approx(
        list(dca_setup.entry.amounts_quote))
    assert config.take_profit == Decimal(repr(dca_setup.exits.take_profit_frac))
    assert config.stop_loss == Decimal(repr(dca_setup.exits.stop_loss_frac))
    assert config.time_limit == dca_setup.exits.time_limit_s
    assert executor_configs.committed_quote(config) == pytest.approx(
        dca_setup.entry.total_quote)


def test_position_config_from_a_swing_score(swing_setup):
    score = _score(confidence=0.9, size=1.4, tp=0.12, sl=0.04, hold_s=30 * 3600)
    sized = size_entry(swing_setup, score, sizing=SizingConfig())
    price = swing_setup.reference_price * 1.002
    config = executor_configs.executor_config(sized, CONNECTOR, 1_700_000_000.0, price)

    assert isinstance(config, PositionExecutorConfig)
    assert config.side == TradeType.BUY
    assert config.level_id == swing_setup.setup_id
    assert isinstance(config.amount, Decimal)
    assert float(config.amount) == pytest.approx(200 * 1.4 / price, rel=1e-12)  # $200 x 1.4
    barrier = config.triple_barrier_config
    assert barrier.take_profit == Decimal("0.12")
    assert barrier.stop_loss == Decimal("0.04")
    assert barrier.time_limit == 30 * 3600
    assert barrier.open_order_type == OrderType.MARKET
    # take profit rests as a limit sell: the order type the label replay prices (maker fee)
    assert barrier.take_profit_order_type == OrderType.LIMIT
    assert LabelConfig().position_take_profit_order == "limit"
    assert barrier.stop_loss_order_type == OrderType.MARKET
    # the detector's trailing stop (arm at +7 %, trail 7 %) is kept
    assert barrier.trailing_stop.activation_price == Decimal("0.07")
    assert barrier.trailing_stop.trailing_delta == Decimal("0.07")
    assert sized.spacing_scale == 1.0  # a market entry has no grid to widen


def test_wrong_entry_type_is_refused(dca_setup, swing_setup):
    rules = Scorer.rules_only_scorer
    dca = size_entry(dca_setup, rules("dca").score(dca_setup, {}), SizingConfig())
    swing = size_entry(swing_setup, rules("swing").score(swing_setup, {}), SizingConfig())
    with pytest.raises(ValueError, match="limit_grid"):
        executor_configs.dca_executor_config(swing, CONNECTOR, 1.0)
    with pytest.raises(ValueError, match="market entry"):
        executor_configs.position_executor_config(dca, CONNECTOR, 1.0, 100.0)
    with pytest.raises(ValueError, match="price_quote"):
        executor_configs.position_executor_config(swing, CONNECTOR, 1.0, 0.0)
