"""The text of a :class:`~.strategy_runtime.StrategyRuntime`'s ``format_status`` (Hummingbot's
``status`` command).

Per pair: the newest closed candle, the candle guard's episode, the last setup of each strategy
with its confidence, exits and outcome, the open executors and their PnL; then the candle
guard's counts, the models and their age, equity, and what blocks new entries. Reads the
runtime's public state only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from hummingbot.strategy_v2.models.executors_info import ExecutorInfo

from ml_signals.candle_guard_live import LiveCandleGuard
from ml_signals.decision.engine import StrategyEngine
from ml_signals.hummingbot import model_policy
from ml_signals.hummingbot.candle_decisions import PairState
from ml_signals.timeutil import format_utc

if TYPE_CHECKING:
    from ml_signals.hummingbot.strategy_runtime import StrategyRuntime


def status_text(runtime: StrategyRuntime, now_s: float, executors: Sequence[ExecutorInfo]) -> str:
    """The status of ``runtime`` at ``now_s`` (module docstring), one line per item.

    Args:
        runtime: the runtime to describe.
        now_s: clock time (s), for the models' age.
        executors: the strategy's executors as Hummingbot reports them (others are ignored).
    """
    ours = runtime.book.ours(executors)
    lines = [f"ML strategies {', '.join(runtime.engines)} on {runtime.settings.connector_name} "
             f"({runtime.settings.interval} candles from {runtime.settings.candles_connector})"]
    for pair, state in runtime.pairs.items():
        infos = [i for i in ours if i.trading_pair == pair]
        lines.extend(_pair_status(pair, state, infos, runtime.candle_guard))
    lines.append(runtime.candle_guard.summary_line())
    lines.append("Models:")
    for strategy, engine in runtime.engines.items():
        lines.append(f"  {strategy}: {_model_line(engine, now_s)}")
    lines.extend(f"  {note}" for note in runtime.models.notes)
    st = runtime.state
    realised = runtime.realised_pnl_quote()
    if st is not None:
        unrealised = st.equity_quote - runtime.settings.capital_quote - realised
        capital = runtime.settings.capital_quote
        lines.append(f"Equity {st.equity_quote:.2f} (capital {capital:.2f}, "
                     f"realised {realised:+.2f}, unrealised {unrealised:+.2f}); "
                     f"open {len(st.open_positions)} positions, "
                     f"{st.open_exposure_quote:.2f} committed; BTC regime {st.btc_regime.name}")
    blocks = runtime.entry_blocks()
    if blocks:
        lines.append("Blocking new entries:")
        lines.extend(f"  {b.guard}: {b.reason}" for b in blocks)
    else:
        lines.append("No guard is blocking new entries.")
    return "\n".join(lines)


def _pair_status(pair: str, state: PairState, infos: list[ExecutorInfo],
                 candle_guard: LiveCandleGuard) -> list[str]:
    last = format_utc(state.last_candle_ts) if state.last_candle_ts is not None else "none yet"
    lines = [f"{pair}: last closed candle {last}, {state.candles} candles"
             + (f" ({state.note})" if state.note else "")]
    guard_line = candle_guard.status_line(pair)
    if guard_line is not None:
        lines.append(f"  {guard_line}")
    for strategy, ev in state.evaluations.items():
        conf = "rules-only" if ev.score.confidence is None else f"{ev.score.confidence:.2f}"
        exits = ev.sized.exits if ev.sized else None
        tp = exits.take_profit_frac if exits else ev.score.take_profit_frac
        sl = exits.stop_loss_frac if exits else ev.score.stop_loss_frac
        lines.append(f"  {strategy}: setup {ev.setup.setup_id} "
                     f"({format_utc(ev.setup.timestamp)}) "
                     f"confidence {conf} TP {tp:.2%} SL {sl:.2%} -> "
                     f"{state.outcomes.get(strategy, 'pending')}")
    realised = sum(float(i.net_pnl_quote) for i in infos if i.is_done)
    unrealised = sum(float(i.net_pnl_quote) for i in infos if not i.is_done)
    active = [i for i in infos if not i.is_done]
    for i in active:
        lines.append(f"  executor {i.id} {i.type} {i.status.name}: filled "
                     f"{float(i.filled_amount_quote):.2f} quote, "
                     f"pnl {float(i.net_pnl_quote):+.2f}")
    lines.append(f"  open executors {len(active)}; pnl realised {realised:+.2f} "
                 f"(executors still listed), unrealised {unrealised:+.2f}")
    return lines



def _model_line(engine: StrategyEngine, now_s: float) -> str:
    scorer = engine.scorer
    if model_policy.mode_of(scorer) != "model":
        return model_policy.describe(scorer)
    trained = scorer.trained_at_s
    age = "unknown age" if trained is None else f"age {(now_s - trained) / 86400:.1f} days"
    return f"{scorer.model_version}, {age}, {engine.rule}"

