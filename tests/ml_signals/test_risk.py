"""Risk guards: each blocks exactly at its threshold, resets as documented, runs in order."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from ml_signals.exits import ExitRules
from ml_signals.regime import BtcRegime
from ml_signals.risk import (
    GUARD_ORDER,
    Candidate,
    ClosedTrade,
    OpenPosition,
    PortfolioState,
    RiskConfig,
    RiskManager,
    TradeLedger,
)
from ml_signals.setups.base import EntryPlan, Setup

# 2025-03-10 12:00 UTC; the UTC day around it runs from MIDNIGHT to NEXT_MIDNIGHT.
NOON = int(datetime(2025, 3, 10, 12, tzinfo=UTC).timestamp())
MIDNIGHT = int(datetime(2025, 3, 10, tzinfo=UTC).timestamp())
NEXT_MIDNIGHT = int(datetime(2025, 3, 11, tzinfo=UTC).timestamp())
HOUR_S = 3600

PAIRS = ("BTC-USDT", "ETH-USDT", "SOL-USDT", "XRP-USDT", "DOGE-USDT", "LINK-USDT", "ADA-USDT")


def position(pair: str, amount_quote: float = 100.0, strategy: str = "dca") -> OpenPosition:
    return OpenPosition(pair, strategy, amount_quote, NOON - HOUR_S, f"{strategy}:{pair}:1")  # type: ignore[arg-type]


def candidate(
    pair: str = "ADA-USDT",
    amount_quote: float = 100.0,
    strategy: str = "swing",
    confidence: float | None = 0.7,
) -> Candidate:
    return Candidate(f"{strategy}:{pair}:{NOON}", pair, strategy, "BUY", amount_quote, confidence)  # type: ignore[arg-type]


def state(
    ledger: TradeLedger,
    *,
    now_s: int = NOON,
    equity_quote: float = 1000.0,
    day_start_equity_quote: float = 1000.0,
    positions: tuple[OpenPosition, ...] = (),
    regime: BtcRegime = BtcRegime.NEUTRAL,
) -> PortfolioState:
    return PortfolioState(now_s, equity_quote, day_start_equity_quote, positions, ledger, regime)


def trade(closed_at_s: int, pnl_quote: float, pair: str = "BTC-USDT") -> ClosedTrade:
    return ClosedTrade(pair, "dca", closed_at_s, pnl_quote, pnl_quote / 100.0)


def only(**overrides: object) -> RiskConfig:
    """Config with every guard disabled except those given in ``overrides``."""
    off: dict[str, object] = {
        "max_open_positions": None,
        "max_positions_per_pair": None,
        "max_exposure_quote": None,
        "daily_loss_stop_frac": None,
        "consecutive_losses": None,
        "crash_pause": False,
        "kill_switch_min_hit_rate_frac": None,
    }
    return RiskConfig.model_validate(off | overrides)


def blocked_by(
    manager: RiskManager, st: PortfolioState, cand: Candidate | None = None
) -> str | None:
    result = manager.check(st, cand or candidate())
    return None if result is None else result.guard


# --- max open positions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "n_open", "blocked"),
    [(5, 0, False), (5, 4, False), (5, 5, True), (5, 6, True), (2, 1, False), (2, 2, True)],
)
def test_max_open_positions_boundary(limit: int, n_open: int, blocked: bool) -> None:
    risk = RiskManager(only(max_open_positions=limit))
    st = state(risk.new_ledger(), positions=tuple(position(p) for p in PAIRS[:n_open]))
    assert blocked_by(risk, st) == ("max_open_positions" if blocked else None)
    assert bool(risk.blocking_now(st)) is blocked


# --- one position per pair -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "held", "pair", "blocked"),
    [
        (1, ("BTC-USDT",), "BTC-USDT", True),
        (1, ("BTC-USDT",), "ETH-USDT", False),
        (1, (), "BTC-USDT", False),
        (2, ("BTC-USDT",), "BTC-USDT", False),
        (2, ("BTC-USDT", "BTC-USDT"), "BTC-USDT", True),
    ],
)
def test_one_position_per_pair(limit: int, held: tuple[str, ...], pair: str, blocked: bool) -> None:
    risk = RiskManager(only(max_positions_per_pair=limit))
    st = state(risk.new_ledger(), positions=tuple(position(p) for p in held))
    assert blocked_by(risk, st, candidate(pair)) == ("one_position_per_pair" if blocked else None)
    assert risk.blocking_now(st) == []  # depends on the candidate's pair, never global


def test_pair_guard_counts_other_strategies() -> None:
    risk = RiskManager(only(max_positions_per_pair=1))
    st = state(risk.new_ledger(), positions=(position("BTC-USDT", strategy="dca"),))
    result = risk.check(st, candidate("BTC-USDT", strategy="swing"))
    assert result is not None and "dca:BTC-USDT:1" in result.reason


# --- max exposure ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("open_amounts", "amount", "blocked"),
    [
        ((400.0,), 100.0, False),  # exactly at the 500 limit
        ((400.0,), 100.01, True),
        ((250.0, 250.0), 0.01, True),
        ((), 500.0, False),
        ((), 500.01, True),
        ((147.8, 146.52), 205.68, False),  # float sum 500.00000000000006 is still 500
    ],
)
def test_max_exposure_boundary(
    open_amounts: tuple[float, ...], amount: float, blocked: bool
) -> None:
    risk = RiskManager(only(max_exposure_quote=500.0))
    positions = tuple(position(p, a) for p, a in zip(PAIRS, open_amounts, strict=False))
    st = state(risk.new_ledger(), positions=positions)
    assert blocked_by(risk, st, candidate(amount_quote=amount)) == (
        "max_exposure" if blocked else None
    )


@pytest.mark.parametrize(("open_total", "global_block"), [(499.99, False), (500.0, True)])
def test_max_exposure_blocks_globally_only_when_used_up(
    open_total: float, global_block: bool
) -> None:
    risk = RiskManager(only(max_exposure_quote=500.0))
    st = state(risk.new_ledger(), positions=(position("BTC-USDT", open_total),))
    assert [r.guard for r in risk.blocking_now(st)] == (["max_exposure"] if global_block else [])


# --- daily loss ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("equity", "blocked"), [(1000.0, False), (900.01, False), (900.0, True), (850.0, True)]
)
def test_daily_loss_marked_to_market_boundary(equity: float, blocked: bool) -> None:
    risk = RiskManager(only(daily_loss_stop_frac=0.10))
    st = state(risk.new_ledger(), equity_quote=equity, day_start_equity_quote=1000.0)
    assert blocked_by(risk, st) == ("daily_loss" if blocked else None)


@pytest.mark.parametrize(("losses", "blocked"), [((-60.0, -39.99), False), ((-60.0, -40.0), True)])
def test_daily_loss_realised_only_boundary(losses: tuple[float, ...], blocked: bool) -> None:
    risk = RiskManager(only(daily_loss_stop_frac=0.10, daily_loss_includes_unrealised=False))
    ledger = risk.new_ledger()
    for i, pnl in enumerate(losses):
        risk.record_close(ledger, trade(MIDNIGHT + (i + 1) * HOUR_S, pnl))
    # equity deliberately far below day start: realised-only mode must ignore it
    st = state(ledger, equity_quote=500.0, day_start_equity_quote=1000.0)
    assert blocked_by(risk, st) == ("daily_loss" if blocked else None)


@pytest.mark.parametrize(("equity", "blocked"), [(950.01, False), (950.0, True)])
def test_daily_loss_quote_limit_tighter_than_frac(equity: float, blocked: bool) -> None:
    risk = RiskManager(only(daily_loss_stop_frac=0.10, daily_loss_stop_quote=50.0))
    st = state(risk.new_ledger(), equity_quote=equity, day_start_equity_quote=1000.0)
    assert blocked_by(risk, st) == ("daily_loss" if blocked else None)


def test_daily_loss_realised_resets_at_utc_midnight() -> None:
    risk = RiskManager(only(daily_loss_stop_frac=0.10, daily_loss_includes_unrealised=False))
    ledger = risk.new_ledger()
    risk.record_close(ledger, trade(NEXT_MIDNIGHT - HOUR_S, -100.0))
    assert blocked_by(risk, state(ledger, now_s=NEXT_MIDNIGHT - 1)) == "daily_loss"
    assert blocked_by(risk, state(ledger, now_s=NEXT_MIDNIGHT)) is None
    assert ledger.realised_pnl_today_quote(NEXT_MIDNIGHT) == 0.0


def test_daily_loss_day_start_equity_rolls_at_utc_midnight() -> None:
    risk = RiskManager(only(daily_loss_stop_frac=0.10))
    ledger = risk.new_ledger()
    regime = BtcRegime.NEUTRAL
    assert blocked_by(risk, ledger.snapshot(MIDNIGHT, 1000.0, (), regime)) is None
    late = ledger.snapshot(NEXT_MIDNIGHT - HOUR_S, 880.0, (), regime)
    assert late.day_start_equity_quote == 1000.0
    assert blocked_by(risk, late) == "daily_loss"  # -12 %
    new_day = ledger.snapshot(NEXT_MIDNIGHT, 880.0, (), regime)
    assert new_day.day_start_equity_quote == 880.0
    assert blocked_by(risk, new_day) is None
    # -10 % of the new day's 880 is 792
    assert blocked_by(risk, ledger.snapshot(NEXT_MIDNIGHT + HOUR_S, 792.01, (), regime)) is None
    assert (
        blocked_by(risk, ledger.snapshot(NEXT_MIDNIGHT + HOUR_S, 792.0, (), regime)) == "daily_loss"
    )


# --- consecutive losses ----------------------------------------------------------------------


@pytest.mark.parametrize(("limit", "n_losses"), [(5, 4), (5, 5), (3, 2), (3, 3)])
def test_consecutive_losses_boundary(limit: int, n_losses: int) -> None:
    risk = RiskManager(only(consecutive_losses=limit))
    ledger = risk.new_ledger()
    locks = []
    for i in range(n_losses):
        locks += risk.record_close(ledger, trade(MIDNIGHT + i * 60, -5.0))
    blocked = n_losses >= limit
    assert [lock.guard for lock in locks] == (["consecutive_losses"] if blocked else [])
    assert blocked_by(risk, state(ledger, now_s=MIDNIGHT + HOUR_S)) == (
        "consecutive_losses" if blocked else None
    )


@pytest.mark.parametrize("ender", [12.5, 0.0])  # a win, or a break-even close
def test_consecutive_losses_streak_ends_on_non_loss(ender: float) -> None:
    risk = RiskManager(only(consecutive_losses=5))
    ledger = risk.new_ledger()
    pnls = [-5.0] * 4 + [ender] + [-5.0] * 4
    for i, pnl in enumerate(pnls):
        assert risk.record_close(ledger, trade(MIDNIGHT + i * 60, pnl)) == []
    assert ledger.consecutive_losses == 4
    assert blocked_by(risk, state(ledger, now_s=MIDNIGHT + HOUR_S)) is None
    risk.record_close(ledger, trade(MIDNIGHT + HOUR_S, -5.0))
    assert blocked_by(risk, state(ledger, now_s=MIDNIGHT + HOUR_S)) == "consecutive_losses"


@pytest.mark.parametrize(
    ("overrides", "still_blocked_at", "free_at"),
    [
        ({}, NEXT_MIDNIGHT - 1, NEXT_MIDNIGHT),  # default: next 00:00 UTC
        (
            {"consecutive_losses_reset": "cooldown", "consecutive_losses_cooldown_s": 3600},
            NOON + 3599,
            NOON + 3600,
        ),
    ],
)
def test_consecutive_losses_lock_expires(
    overrides: dict[str, object], still_blocked_at: int, free_at: int
) -> None:
    risk = RiskManager(only(consecutive_losses=5, **overrides))
    ledger = risk.new_ledger()
    for i in range(5):
        risk.record_close(ledger, trade(NOON - (4 - i) * 60, -5.0))  # 5th loss closes at NOON
    assert blocked_by(risk, state(ledger, now_s=still_blocked_at)) == "consecutive_losses"
    assert blocked_by(risk, state(ledger, now_s=free_at)) is None


def test_consecutive_losses_streak_restarts_when_the_lock_is_set() -> None:
    cfg = only(
        consecutive_losses=5,
        consecutive_losses_reset="cooldown",
        consecutive_losses_cooldown_s=600,
    )
    risk = RiskManager(cfg)
    ledger = risk.new_ledger()
    for i in range(5):
        risk.record_close(ledger, trade(NOON + i, -5.0))
    assert ledger.consecutive_losses == 0
    after = NOON + 4 + 600
    assert blocked_by(risk, state(ledger, now_s=after)) is None
    for i in range(4):  # losses 6..9 in a row: a new streak of 4
        risk.record_close(ledger, trade(after + i, -5.0))
    assert blocked_by(risk, state(ledger, now_s=after + 10)) is None
    risk.record_close(ledger, trade(after + 5, -5.0))
    assert blocked_by(risk, state(ledger, now_s=after + 10)) == "consecutive_losses"


def test_consecutive_losses_manual_reset_and_streak_restart() -> None:
    risk = RiskManager(only(consecutive_losses=5, consecutive_losses_reset="manual"))
    ledger = risk.new_ledger()
    for i in range(5):
        risk.record_close(ledger, trade(NOON + i, -5.0))
    week_later = NOON + 7 * 86_400
    assert blocked_by(risk, state(ledger, now_s=week_later)) == "consecutive_losses"
    risk.reset(ledger, "consecutive_losses", week_later)
    assert blocked_by(risk, state(ledger, now_s=week_later)) is None
    for i in range(4):  # the streak restarted: 4 more losses are not enough
        risk.record_close(ledger, trade(week_later + i, -5.0))
    assert blocked_by(risk, state(ledger, now_s=week_later + 10)) is None
    risk.record_close(ledger, trade(week_later + 5, -5.0))
    assert blocked_by(risk, state(ledger, now_s=week_later + 10)) == "consecutive_losses"


# --- crash pause -----------------------------------------------------------------------------


@pytest.mark.parametrize("regime", list(BtcRegime))
def test_crash_pause_blocks_only_crash(regime: BtcRegime) -> None:
    risk = RiskManager(only(crash_pause=True))
    st = state(risk.new_ledger(), regime=regime)
    expected = "crash_pause" if regime is BtcRegime.CRASH else None
    assert blocked_by(risk, st) == expected
    assert [r.guard for r in risk.blocking_now(st)] == ([expected] if expected else [])


def test_crash_pause_can_be_disabled() -> None:
    risk = RiskManager(only(max_open_positions=5))
    assert blocked_by(risk, state(risk.new_ledger(), regime=BtcRegime.CRASH)) is None


# --- kill switch -----------------------------------------------------------------------------


def feed(risk: RiskManager, ledger: TradeLedger, outcomes: list[bool], start_s: int) -> int:
    """Record closes (True = +10 quote, False = -10 quote) one minute apart; returns next time."""
    for i, hit in enumerate(outcomes):
        risk.record_close(ledger, trade(start_s + i * 60, 10.0 if hit else -10.0))
    return start_s + len(outcomes) * 60


@pytest.mark.parametrize(("hits", "tripped"), [(9, False), (8, True), (20, False), (0, True)])
def test_kill_switch_hit_rate_boundary(hits: int, tripped: bool) -> None:
    risk = RiskManager(only(kill_switch_min_hit_rate_frac=0.45))
    ledger = risk.new_ledger()
    now = feed(risk, ledger, [True] * hits + [False] * (20 - hits), MIDNIGHT)
    assert blocked_by(risk, state(ledger, now_s=now)) == ("kill_switch" if tripped else None)


def test_kill_switch_needs_min_trades() -> None:
    risk = RiskManager(only(kill_switch_min_hit_rate_frac=0.45))
    ledger = risk.new_ledger()
    now = feed(risk, ledger, [False] * 19, MIDNIGHT)
    assert blocked_by(risk, state(ledger, now_s=now)) is None
    now = feed(risk, ledger, [False], now)
    assert blocked_by(risk, state(ledger, now_s=now)) == "kill_switch"


def test_kill_switch_min_trades_below_window() -> None:
    risk = RiskManager(only(kill_switch_min_hit_rate_frac=0.45, kill_switch_min_trades=10))
    ledger = risk.new_ledger()
    now = feed(risk, ledger, [True] * 4 + [False] * 5, MIDNIGHT)  # 9 trades: too few
    assert blocked_by(risk, state(ledger, now_s=now)) is None
    now = feed(risk, ledger, [False], now)  # 4/10 = 0.40
    assert blocked_by(risk, state(ledger, now_s=now)) == "kill_switch"


def test_kill_switch_window_rolls() -> None:
    risk = RiskManager(only(kill_switch_min_hit_rate_frac=0.45))
    ledger = risk.new_ledger()
    # 8 losses age out of the window before it is full of 20 with 12 hits
    now = feed(risk, ledger, [False] * 8 + [True] * 12 + [False] * 8, MIDNIGHT)
    assert ledger.recent_trades == 20 and ledger.recent_hits == 12
    assert blocked_by(risk, state(ledger, now_s=now)) is None


def test_kill_switch_latches_until_reset() -> None:
    risk = RiskManager(only(kill_switch_min_hit_rate_frac=0.45))
    ledger = risk.new_ledger()
    now = feed(risk, ledger, [True] * 8 + [False] * 12, MIDNIGHT)
    assert blocked_by(risk, state(ledger, now_s=now)) == "kill_switch"
    first = ledger.lock("kill_switch")
    now = feed(risk, ledger, [False] * 3, now)  # still below the floor: the first trip stands
    assert ledger.lock("kill_switch") == first
    now = feed(risk, ledger, [True] * 20, now)  # window now 20/20 hits: still latched
    assert ledger.recent_hit_rate_frac == 1.0
    assert blocked_by(risk, state(ledger, now_s=now + 30 * 86_400)) == "kill_switch"
    risk.reset(ledger, "kill_switch", now)
    assert blocked_by(risk, state(ledger, now_s=now)) is None
    assert ledger.recent_trades == 0  # reset empties the window
    now = feed(risk, ledger, [False] * 19, now)
    assert blocked_by(risk, state(ledger, now_s=now)) is None


@pytest.mark.parametrize(("settings", "guard", "outcomes"), [
    ({"consecutive_losses": 3, "consecutive_losses_reset": "manual"}, "consecutive_losses",
     [False] * 3),
    ({"kill_switch_min_hit_rate_frac": 0.45}, "kill_switch", [False] * 20),
])
def test_latching_guards_share_lock_block_and_reset(
    settings: dict[str, object], guard: str, outcomes: list[bool],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Both latching guards: one WARNING when tripped, every candidate blocked (also in the
    status view) while latched, and a reset lifts the lock and restarts the count, so the same
    close that tripped it does not trip it again."""
    risk = RiskManager(only(**settings))
    ledger = risk.new_ledger()
    with caplog.at_level(logging.WARNING, logger="ml_signals.risk"):
        now = feed(risk, ledger, outcomes, MIDNIGHT)
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [f"{guard} tripped"]
    st = state(ledger, now_s=now)
    for cand in (candidate("ADA-USDT", strategy="swing"), candidate("BTC-USDT", strategy="dca")):
        assert blocked_by(risk, st, cand) == guard
    assert [b.guard for b in risk.blocking_now(st)] == [guard]
    lifted = risk.reset(ledger, guard, now)
    assert lifted is not None and lifted.guard == guard
    assert blocked_by(risk, state(ledger, now_s=now)) is None
    now = feed(risk, ledger, outcomes[:1], now)
    assert blocked_by(risk, state(ledger, now_s=now)) is None


def test_kill_switch_rejects_ledger_of_other_window() -> None:
    risk = RiskManager(only(kill_switch_min_hit_rate_frac=0.45))
    with pytest.raises(ValueError, match="hit_rate_window 10"):
        risk.record_close(TradeLedger(hit_rate_window=10), trade(NOON, -1.0))


# --- manager ---------------------------------------------------------------------------------


def tripping_everything(risk: RiskManager) -> tuple[PortfolioState, Candidate]:
    """A state and candidate that every default guard blocks."""
    ledger = risk.new_ledger()
    feed(risk, ledger, [False] * 20, MIDNIGHT)  # kill switch + consecutive losses
    positions = tuple(position(p) for p in PAIRS[:5])  # 5 open, 500 quote, BTC held
    st = state(ledger, equity_quote=850.0, positions=positions, regime=BtcRegime.CRASH)
    return st, candidate("BTC-USDT")


def test_manager_returns_first_block_in_documented_order() -> None:
    risk = RiskManager()
    st, cand = tripping_everything(risk)
    names = [cls.name for cls in GUARD_ORDER]
    assert names == [
        "kill_switch",
        "consecutive_losses",
        "daily_loss",
        "crash_pause",
        "max_open_positions",
        "one_position_per_pair",
        "max_exposure",
    ]
    assert [r.guard for r in risk.check_all(st, cand)] == names
    assert risk.check(st, cand) == risk.check_all(st, cand)[0]
    assert [r.guard for r in risk.blocking_now(st)] == [
        n for n in names if n != "one_position_per_pair"
    ]


@pytest.mark.parametrize("skip", range(6))
def test_manager_first_block_after_disabling_earlier_guards(skip: int) -> None:
    disable: dict[str, dict[str, object]] = {
        "kill_switch": {"kill_switch_min_hit_rate_frac": None},
        "consecutive_losses": {"consecutive_losses": None},
        "daily_loss": {"daily_loss_stop_frac": None},
        "crash_pause": {"crash_pause": False},
        "max_open_positions": {"max_open_positions": None},
        "one_position_per_pair": {"max_positions_per_pair": None},
    }
    names = list(disable)
    overrides: dict[str, object] = {}
    for name in names[:skip]:
        overrides |= disable[name]
    risk = RiskManager(RiskConfig.model_validate(overrides))
    st, cand = tripping_everything(risk)
    assert blocked_by(risk, st, cand) == names[skip]


def test_manager_allows_a_clean_candidate_with_defaults() -> None:
    risk = RiskManager()
    ledger = risk.new_ledger()
    feed(risk, ledger, [True, False] * 10, MIDNIGHT)
    st = state(ledger, equity_quote=990.0, positions=(position("BTC-USDT"),))
    assert risk.check(st, candidate("ETH-USDT")) is None
    assert risk.check_all(st, candidate("ETH-USDT")) == []
    assert risk.blocking_now(st) == []


def test_check_round_sees_earlier_accepted_candidates() -> None:
    risk = RiskManager()
    st = state(risk.new_ledger(), positions=tuple(position(p) for p in PAIRS[:3]))
    cands = [
        candidate("ADA-USDT"),
        candidate("ADA-USDT", strategy="dca"),
        candidate("AVAX-USDT"),
        candidate("DOT-USDT"),
    ]
    result = risk.check_round(st, cands)
    assert [c.setup_id for c in result.accepted] == [cands[0].setup_id, cands[2].setup_id]
    assert [(s.candidate.setup_id, s.result.guard) for s in result.blocked] == [
        (cands[1].setup_id, "one_position_per_pair"),
        (cands[3].setup_id, "max_open_positions"),
    ]
    assert len(result.state.open_positions) == 5
    assert len(st.open_positions) == 3  # the input snapshot is untouched


def test_block_reason_carries_numbers_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    risk = RiskManager()
    st = state(risk.new_ledger(), equity_quote=880.0)
    with caplog.at_level(logging.DEBUG, logger="ml_signals.risk"):
        result = risk.check(st, candidate())
    assert result is not None
    assert "-120.00" in result.reason and "-12.00%" in result.reason and "-100.00" in result.reason
    assert any("daily_loss blocks" in rec.getMessage() for rec in caplog.records)


def test_reset_unknown_guard_raises() -> None:
    risk = RiskManager(only(max_open_positions=5))
    with pytest.raises(ValueError, match="kill_switch"):
        risk.reset(risk.new_ledger(), "kill_switch", NOON)


def test_disabled_guards_are_not_built() -> None:
    assert [g.name for g in RiskManager(only(max_exposure_quote=100.0)).guards] == ["max_exposure"]
    assert len(RiskManager().guards) == len(GUARD_ORDER)


# --- config and value objects ----------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"max_open_position": 5},  # typo: extra="forbid"
        {"max_open_positions": 0},
        {"max_exposure_quote": -1.0},
        {"daily_loss_stop_frac": 1.0},
        {"kill_switch_min_hit_rate_frac": 1.5},
        {"kill_switch_window_trades": 10, "kill_switch_min_trades": 11},
        {"consecutive_losses_reset": "weekly"},
    ],
)
def test_risk_config_rejects(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RiskConfig.model_validate(bad)


def test_ledger_rejects_out_of_order_close() -> None:
    ledger = TradeLedger()
    ledger.append_closed(trade(NOON, 1.0))
    with pytest.raises(ValueError, match="time order"):
        ledger.append_closed(trade(NOON - 1, 1.0))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"strategy": "scalp"},
        {"side": "LONG"},
        {"amount_quote": 0.0},
        {"amount_quote": float("nan")},
        {"confidence": 1.2},
    ],
)
def test_candidate_validation(kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {
        "setup_id": "dca:BTC-USDT:1",
        "pair": "BTC-USDT",
        "strategy": "dca",
        "side": "BUY",
        "amount_quote": 100.0,
        "confidence": 0.6,
    }
    with pytest.raises(ValueError):
        Candidate(**(base | kwargs))  # type: ignore[arg-type]


def test_candidate_from_setup_uses_the_full_grid_size() -> None:
    grid = EntryPlan("limit_grid", (99.0, 98.0, 97.0), (40.0, 30.0, 30.0))
    setup = Setup("dca", "BTC-USDT", NOON, 10, 100.0, grid, ExitRules(0.05, 0.05, 48 * HOUR_S))
    cand = Candidate.from_setup(setup, confidence=0.64)
    assert (cand.setup_id, cand.pair, cand.strategy, cand.side) == (
        f"dca:BTC-USDT:{NOON}",
        "BTC-USDT",
        "dca",
        "BUY",
    )
    assert cand.amount_quote == 100.0 and cand.confidence == 0.64
    assert Candidate.from_setup(setup, amount_quote=50.0).amount_quote == 50.0


# --- restoring a ledger from journaled closes and locks ---------------------------------------


def journaled_run(risk: RiskManager, pnls: list[float], start_s: int):
    """Feed ``pnls`` (one close an hour) through the guards as a live bot does; returns the
    ledger, the closes and locks as a journal holds them."""
    from ml_signals.risk import JournaledClose, JournaledLock

    ledger = risk.new_ledger()
    closes, locks = [], []
    for i, pnl in enumerate(pnls):
        close = JournaledClose(f"executor-{i}", trade(start_s + i * HOUR_S, pnl))
        closes.append(close)
        locks += [JournaledLock(lock, close.trade_id) for lock in risk.record_close(ledger,
                                                                                 close.trade)]
    return ledger, closes, locks


@pytest.mark.parametrize("pnls", [
    [-1.0, -2.0, -3.0, -4.0],              # the streak locked at the 3rd loss, then one more
    [-1.0, 5.0, -2.0, -3.0, -4.0, -5.0],   # a win, a lock, another loss
    [5.0, -1.0, -2.0, 3.0, 0.0, -1.0],     # a break-even ends the streak too
])
def test_restored_ledger_equals_the_live_one(pnls: list[float]) -> None:
    from ml_signals.risk import history_trades, restore_ledger, select_closes

    risk = RiskManager(only(consecutive_losses=3, kill_switch_min_hit_rate_frac=0.5,
                            kill_switch_window_trades=4))
    start = MIDNIGHT + HOUR_S
    live_ledger, closes, locks = journaled_run(risk, pnls, start)
    now = start + len(pnls) * HOUR_S
    restored = risk.new_ledger()
    selected = select_closes(closes, now, history_trades(risk.config))
    result = restore_ledger(restored, selected, locks, now)
    assert restored.stats(now) == live_ledger.stats(now)
    assert restored.recent_hits == live_ledger.recent_hits
    for guard in ("kill_switch", "consecutive_losses"):
        assert restored.lock(guard) == live_ledger.lock(guard)
    assert result.realised_today_quote == pytest.approx(sum(pnls))


def test_without_the_lock_rows_the_streak_would_come_back_wrong() -> None:
    from ml_signals.risk import restore_ledger

    risk = RiskManager(only(consecutive_losses=3))
    start = MIDNIGHT + HOUR_S
    live_ledger, closes, _ = journaled_run(risk, [-1.0, -2.0, -3.0, -4.0], start)
    restored = risk.new_ledger()
    restore_ledger(restored, closes, [], start + 5 * HOUR_S)
    assert (live_ledger.consecutive_losses, restored.consecutive_losses) == (1, 4)


def test_select_closes_keeps_today_and_the_last_n() -> None:
    from ml_signals.risk import JournaledClose, history_trades, select_closes

    days_ago = [MIDNIGHT - 3 * 86400 + i * HOUR_S for i in range(5)]
    today = [MIDNIGHT + i * HOUR_S for i in range(4)]
    closes = [JournaledClose(str(t), trade(t, -1.0)) for t in [*days_ago, *today]]
    picked = select_closes(closes, NOON, last_n=6)
    assert [c.trade.closed_at_s for c in picked] == [*days_ago[-2:], *today]
    assert [c.trade.closed_at_s for c in select_closes(closes, NOON, last_n=2)] == today
    # a close after the restart time (clock skew) is not replayed
    assert select_closes(closes, MIDNIGHT + HOUR_S, last_n=0) == closes[5:7]
    assert history_trades(only(consecutive_losses=7, kill_switch_min_hit_rate_frac=0.4,
                               kill_switch_window_trades=20)) == 20
    assert history_trades(only(consecutive_losses=7)) == 7
    assert history_trades(only()) == 0


def test_set_day_start_equity_holds_for_the_day() -> None:
    ledger = TradeLedger()
    ledger.set_day_start_equity(NOON, 900.0)
    assert ledger.mark_equity(NOON + HOUR_S, 1000.0) == 900.0
    assert ledger.mark_equity(NEXT_MIDNIGHT, 1000.0) == 1000.0
    with pytest.raises(ValueError, match="day-start equity must be > 0"):
        ledger.set_day_start_equity(NOON, 0.0)
