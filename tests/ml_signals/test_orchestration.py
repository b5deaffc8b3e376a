"""Strategy orchestration: allocation arithmetic and conflict resolution within a round."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from ml_signals.orchestration import AllocationConfig, StrategyOrchestrator
from ml_signals.regime import BtcRegime
from ml_signals.risk import Candidate, OpenPosition, PortfolioState, RiskManager, TradeLedger

NOW = int(datetime(2025, 6, 2, 8, tzinfo=UTC).timestamp())


def cand(
    pair: str,
    strategy: str,
    confidence: float | None,
    amount_quote: float = 100.0,
    side: str = "BUY",
    ts: int = NOW,
) -> Candidate:
    return Candidate(f"{strategy}:{pair}:{ts}", pair, strategy, side, amount_quote, confidence)  # type: ignore[arg-type]


def state(positions: tuple[OpenPosition, ...] = (), equity_quote: float = 1000.0) -> PortfolioState:
    return PortfolioState(NOW, equity_quote, 1000.0, positions, TradeLedger(), BtcRegime.BULL)


def ids(cands: tuple[Candidate, ...]) -> list[str]:
    return [c.setup_id for c in cands]


def skips(resolution: object) -> dict[str, str]:
    return {s.candidate.setup_id: s.result.guard for s in resolution.skipped}  # type: ignore[attr-defined]


# --- allocation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("strategy", "expected"), [("dca", 480.0), ("swing", 320.0), ("channel", 0.0)]
)
def test_plan_allocation_1000_capital_20pct_reserve_60_40(strategy: str, expected: float) -> None:
    orch = StrategyOrchestrator(AllocationConfig())
    assert orch.capital_for(strategy) == pytest.approx(expected, abs=1e-9)
    assert orch.capital_for(strategy, 1000.0) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    ("cap", "equity", "dca", "swing"),
    [
        (True, 800.0, 384.0, 256.0),  # losses shrink the allocation
        (True, 2000.0, 480.0, 320.0),  # never more than total_capital_quote
        (False, 2000.0, 960.0, 640.0),  # compounding
        (True, -50.0, 0.0, 0.0),
    ],
)
def test_allocation_follows_equity(cap: bool, equity: float, dca: float, swing: float) -> None:
    orch = StrategyOrchestrator(AllocationConfig(cap_equity_at_total=cap))
    assert orch.capital_for("dca", equity) == pytest.approx(dca, abs=1e-9)
    assert orch.capital_for("swing", equity) == pytest.approx(swing, abs=1e-9)


def test_channel_weight_is_normalised_with_the_others() -> None:
    orch = StrategyOrchestrator(
        AllocationConfig(weights={"dca": 0.6, "swing": 0.4, "channel": 0.2})
    )
    got = [orch.capital_for(s) for s in ("dca", "swing", "channel")]
    assert got == pytest.approx([400.0, 800.0 / 3, 400.0 / 3])
    assert sum(got) == pytest.approx(800.0)


def test_missing_weight_disables_strategy() -> None:
    orch = StrategyOrchestrator(AllocationConfig(weights={"swing": 1.0}))
    assert orch.capital_for("dca") == 0.0
    assert orch.capital_for("swing") == pytest.approx(800.0)


def test_remaining_for_subtracts_open_positions_of_that_strategy() -> None:
    orch = StrategyOrchestrator()
    st = state(
        (
            OpenPosition("BTC-USDT", "dca", 300.0, NOW - 3600, "dca:BTC-USDT:1"),
            OpenPosition("ETH-USDT", "swing", 100.0, NOW - 3600, "swing:ETH-USDT:1"),
            OpenPosition("SOL-USDT", "dca", 250.0, NOW - 3600, "dca:SOL-USDT:1"),
        )
    )
    assert orch.remaining_for("dca", st) == 0.0  # 480 - 550 floors at 0
    assert orch.remaining_for("swing", st) == pytest.approx(220.0)


@pytest.mark.parametrize(
    "bad",
    [
        {"weights": {"dca": 0.0, "swing": 0.0}},
        {"weights": {"dca": -0.1, "swing": 1.0}},
        {"weights": {"scalp": 1.0}},
        {"reserve_frac": 1.0},
        {"total_capital_quote": 0.0},
        {"priority": ("dca", "swing")},
        {"reserve": 0.2},  # extra="forbid"
    ],
)
def test_allocation_config_rejects(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        AllocationConfig.model_validate(bad)


def test_capital_for_unknown_strategy_raises() -> None:
    with pytest.raises(ValueError, match="scalp"):
        StrategyOrchestrator().capital_for("scalp")


# --- conflicts -------------------------------------------------------------------------------


def test_same_pair_higher_confidence_wins() -> None:
    dca, swing = cand("BTC-USDT", "dca", 0.62), cand("BTC-USDT", "swing", 0.71)
    res = StrategyOrchestrator().resolve_conflicts([dca, swing])
    assert ids(res.accepted) == [swing.setup_id]
    assert skips(res) == {dca.setup_id: "same_coin"}
    assert "0.71" in res.skipped[0].result.reason and "0.62" in res.skipped[0].result.reason


@pytest.mark.parametrize(
    ("dca_conf", "swing_conf", "winner"),
    [
        (None, 0.51, "swing"),  # any score ranks above rules-only
        (0.51, None, "dca"),
        (0.66, 0.66, "dca"),  # tie -> strategy priority
        (None, None, "dca"),
    ],
)
def test_same_pair_ranking(dca_conf: float | None, swing_conf: float | None, winner: str) -> None:
    res = StrategyOrchestrator().resolve_conflicts(
        [cand("ETH-USDT", "swing", swing_conf), cand("ETH-USDT", "dca", dca_conf)]
    )
    assert [c.strategy for c in res.accepted] == [winner]


def test_tie_with_custom_priority_and_setup_id() -> None:
    orch = StrategyOrchestrator(AllocationConfig(priority=("swing", "dca", "channel")))
    res = orch.resolve_conflicts([cand("ETH-USDT", "dca", 0.7), cand("ETH-USDT", "swing", 0.7)])
    assert [c.strategy for c in res.accepted] == ["swing"]
    older, newer = cand("SOL-USDT", "dca", 0.7, ts=NOW - 3600), cand("SOL-USDT", "dca", 0.7)
    res = orch.resolve_conflicts([newer, older])
    assert ids(res.accepted) == [min(older.setup_id, newer.setup_id)]


def test_opposing_signals_skip_both() -> None:
    buy = cand("BTC-USDT", "dca", 0.9)
    sell = cand("BTC-USDT", "swing", 0.55, side="SELL")
    other = cand("ETH-USDT", "swing", 0.6)
    res = StrategyOrchestrator().resolve_conflicts([buy, sell, other])
    assert ids(res.accepted) == [other.setup_id]
    assert skips(res) == {buy.setup_id: "opposing_signals", sell.setup_id: "opposing_signals"}
    assert all("skip_both" in s.result.reason for s in res.skipped)


def test_opposing_signals_win_over_same_pair_rule() -> None:
    a, b = cand("BTC-USDT", "dca", 0.9), cand("BTC-USDT", "swing", 0.8)
    c = cand("BTC-USDT", "channel", 0.3, side="SELL")
    res = StrategyOrchestrator().resolve_conflicts([a, b, c])
    assert res.accepted == ()
    assert set(skips(res).values()) == {"opposing_signals"}


def test_capital_limit_pauses_lower_priority() -> None:
    # swing has 320: 200 fits (120 left); 200 does not -> swing paused; the 100 after it
    # would fit in 120 but ranks lower, so it waits too. DCA is unaffected.
    s1 = cand("BTC-USDT", "swing", 0.9, 200.0)
    s2 = cand("ETH-USDT", "swing", 0.8, 200.0)
    s3 = cand("SOL-USDT", "swing", 0.7, 100.0)
    d1 = cand("XRP-USDT", "dca", 0.6, 480.0)
    res = StrategyOrchestrator().resolve_conflicts([s3, d1, s2, s1])
    assert ids(res.accepted) == [s1.setup_id, d1.setup_id]
    assert skips(res) == {s2.setup_id: "capital_limit", s3.setup_id: "capital_limit"}
    reasons = {s.candidate.setup_id: s.result.reason for s in res.skipped}
    assert "120.00 of 320.00" in reasons[s2.setup_id] and "200.00" in reasons[s2.setup_id]
    assert "pause_lower_priority" in reasons[s3.setup_id]


def test_capital_limit_counts_open_positions() -> None:
    st = state((OpenPosition("BTC-USDT", "swing", 300.0, NOW - 3600, "swing:BTC-USDT:1"),))
    fits, too_big = cand("ETH-USDT", "swing", 0.9, 20.0), cand("SOL-USDT", "swing", 0.8, 20.01)
    res = StrategyOrchestrator().resolve_conflicts([fits, too_big], st)
    assert ids(res.accepted) == [fits.setup_id]
    assert skips(res) == {too_big.setup_id: "capital_limit"}


def test_disabled_strategy_candidates_are_skipped() -> None:
    ch = cand("LINK-USDT", "channel", 0.95)
    res = StrategyOrchestrator().resolve_conflicts([ch])
    assert res.accepted == () and skips(res) == {ch.setup_id: "capital_limit"}


def test_resolution_is_independent_of_input_order() -> None:
    round_ = [
        cand("BTC-USDT", "dca", 0.62),
        cand("BTC-USDT", "swing", 0.71),
        cand("ETH-USDT", "dca", None),
        cand("ETH-USDT", "swing", 0.4, side="SELL"),
        cand("SOL-USDT", "swing", 0.66),
        cand("XRP-USDT", "dca", None),
        cand("DOGE-USDT", "swing", 0.66, 200.0),
    ]
    orch = StrategyOrchestrator()
    results = {
        (ids(r.accepted).__repr__(), sorted(skips(r).items()).__repr__())
        for r in (orch.resolve_conflicts(list(p)) for p in itertools.permutations(round_))
    }
    assert len(results) == 1
    res = orch.resolve_conflicts(round_)
    # rank: BTC swing 0.71, then the 0.66 tie DOGE/SOL swing by setup_id, then rules-only XRP
    assert ids(res.accepted) == [
        "swing:BTC-USDT:" + str(NOW),
        "swing:DOGE-USDT:" + str(NOW),
        "dca:XRP-USDT:" + str(NOW),
    ]
    assert skips(res) == {
        f"dca:BTC-USDT:{NOW}": "same_coin",
        f"dca:ETH-USDT:{NOW}": "opposing_signals",
        f"swing:ETH-USDT:{NOW}": "opposing_signals",
        f"swing:SOL-USDT:{NOW}": "capital_limit",  # swing 320: 100 + 200 leave 20 < 100
    }


def test_duplicate_setup_id_raises() -> None:
    c = cand("BTC-USDT", "dca", 0.7)
    with pytest.raises(ValueError, match="duplicate"):
        StrategyOrchestrator().resolve_conflicts([c, c])


def test_plan_round_applies_conflicts_then_risk() -> None:
    risk = RiskManager()
    open_ = tuple(
        OpenPosition(p, "dca", 50.0, NOW - 3600, f"dca:{p}:1")
        for p in ("ADA-USDT", "DOT-USDT", "AVAX-USDT")
    )
    st = state(open_)
    round_ = [
        cand("BTC-USDT", "dca", 0.62),
        cand("BTC-USDT", "swing", 0.71),
        cand("ETH-USDT", "dca", 0.8),
        cand("SOL-USDT", "dca", 0.7),
        cand("ADA-USDT", "swing", 0.9),
    ]
    res = StrategyOrchestrator().plan_round(st, round_, risk)
    # ranked survivors: ADA swing 0.9 (pair held), ETH dca 0.8, BTC swing 0.71, SOL dca 0.7
    assert ids(res.accepted) == [f"dca:ETH-USDT:{NOW}", f"swing:BTC-USDT:{NOW}"]
    assert [(s.candidate.setup_id, s.result.guard) for s in res.skipped] == [
        (f"dca:BTC-USDT:{NOW}", "same_coin"),
        (f"swing:ADA-USDT:{NOW}", "one_position_per_pair"),
        (f"dca:SOL-USDT:{NOW}", "max_open_positions"),
    ]
