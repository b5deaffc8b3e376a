"""Drive a V2 script, unmodified, through Hummingbot's backtest clock on real candles.

One replay (:func:`run_replay`):

1. load the script and its YAML like ``start --v2`` (:mod:`.loader`), apply the replay's
   overrides (:func:`replay_overrides`), call ``init_markets``;
2. build one :class:`~.exchange.ReplayExchange` per market connector, funded with
   ``quote_balance`` of each quote asset; point ``CandlesFactory`` at the real candles
   (:mod:`.feed`); create Hummingbot's app singleton (headless, in-memory client config) and a
   ``MarketsRecorder`` on an in-memory SQLite database, which ``StrategyV2Base`` and the
   ``ExecutorOrchestrator`` expect (those pieces and the teardown live in :mod:`.harness`);
3. construct the strategy as Hummingbot does (``strategy_class(connectors, config)``) on a
   :class:`~.vloop.VirtualTimeLoop`, set the orchestrator's executor update interval to one
   sub-tick, and add connectors then strategy to ``Clock(ClockMode.BACKTEST)``;
4. for every candle of the window and every sub-tick of its path (:mod:`.path`), at time t:
   show the path price on every book, run the event loop up to t (executors react to the new
   price), ``clock.backtest_til(t)`` (paper exchange fills, then the strategy ticks and may
   create executors), run the loop half a sub-tick further (new executors place their orders);
5. collect setups (runtime observer) and executors (:mod:`.results`); close the script's
   journal and alert threads once everything is written and delivered, and read their files
   back (:mod:`.journal_alerts`: the journal in SQLite and the alerts to the log, under
   ``<out_dir>/<script>/``, fresh for each run).

Timing: a candle opening at T is shown at T + ``first_offset_s`` (60 s) and then every
``interval / (2 + 3 * steps_per_leg)`` seconds. The first sub-tick of a candle is where the
script sees the previous candle closed (live: a few seconds after the close).
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from hummingbot.core.clock import Clock, ClockMode
from pydantic import BaseModel, ConfigDict, Field

from ml_signals.candles import interval_seconds
from ml_signals.timeutil import format_utc
from training.data import load_dir
from training.replay.exchange import DEFAULT_HALF_SPREAD_FRAC
from training.replay.feed import (
    CandleStore,
    PairCandleArrays,
    ReplayTimeline,
    replay_candles_factory,
)
from training.replay.harness import (
    cancel_pending,
    close_observers,
    funded_connectors,
    hummingbot_app_and_recorder,
    quiet_hummingbot,
)
from training.replay.journal_alerts import (
    AlertCounts,
    JournalCounts,
    ReplayFiles,
    read_alerts,
    read_journal,
)
from training.replay.loader import SCRIPTS_PACKAGE, LoadedScript, load_script, script_classes
from training.replay.path import candle_path, subtick_size_s
from training.replay.results import ExecutorWatch, ReplayResult, RuntimeRecorder
from training.replay.vloop import VirtualTimeLoop, advance_to

log = logging.getLogger(__name__)

DEFAULT_PAIRS: tuple[str, ...] = ("BTC-USDT", "ETH-USDT", "SOL-USDT")
DEFAULT_WINDOW_DAYS = 61


class ReplayError(RuntimeError):
    """A replay cannot run (data missing for a pair or the window, bad script); names what."""


class ReplaySpec(BaseModel):
    """What to replay and how.

    Attributes:
        script: module in ``scripts_package`` (``"ml_swing"``).
        config_path: YAML; ``None`` -> ``conf/scripts/conf_<script>.yml`` when it exists.
        data_dir: folder of real candle files (``training.data.load_dir``).
        pairs: replace the config's ``trading_pairs`` (and ``btc_pair`` with ``BTC-<quote>``);
            ``None`` keeps the YAML's.
        start, end: window, UTC; candles opening in ``[start, end)`` are replayed. ``None``:
            the last ``DEFAULT_WINDOW_DAYS`` days of the data.
        interval: candle interval of the data and the script.
        overrides: more config values (dotted keys reach nested fields).
        models_dir: replaces the config's ``models_dir`` when given.
        path_order, steps_per_leg: candle path (:mod:`.path`).
        first_offset_s: seconds after a candle's open of its first sub-tick.
        half_spread_frac: book half spread (:mod:`.exchange`).
        quote_balance: paper balance of each quote asset.
        forming_candle: feed the forming candle after the closed ones, as Hummingbot does.
        scripts_package: package holding the scripts.
        out_dir: the replay's output folder (CLI ``--out``); the script's journal and alert
            outbox go to ``<out_dir>/<script>/`` (:mod:`.journal_alerts`).
        exhaustive: do at every sub-tick all the work Hummingbot does: the script rebuilds its
            executor reports each tick (``MlScriptBase.reuse_executor_reports`` off) and the
            paper exchange checks its network every 10 s (Hummingbot's interval) instead of
            once a simulated day. Same results, several times slower: the reference the
            default (fast) mode is tested against.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    script: str = Field(min_length=1)
    config_path: Path | None = None
    data_dir: Path = Path("data/sample/binance")
    pairs: tuple[str, ...] | None = None
    start: datetime | None = None
    end: datetime | None = None
    interval: str = "1h"
    overrides: dict[str, Any] = Field(default_factory=dict)
    models_dir: str | None = None
    path_order: Literal["olhc", "ohlc"] = "olhc"
    steps_per_leg: int = Field(default=1, ge=1, le=10)
    first_offset_s: float = Field(default=60.0, ge=0, le=600)
    half_spread_frac: float = Field(default=DEFAULT_HALF_SPREAD_FRAC, ge=0, lt=0.1)
    quote_balance: float = Field(default=10_000.0, gt=0)
    forming_candle: bool = True
    scripts_package: str = SCRIPTS_PACKAGE
    out_dir: Path = Path("reports/replay")
    exhaustive: bool = False

    def files(self) -> ReplayFiles:
        """Journal and alert files of this replay."""
        return ReplayFiles.of(self.out_dir, self.script)

    def resolved_config_path(self) -> Path | None:
        """The YAML to read (explicit, else ``conf/scripts/conf_<script>.yml`` if present)."""
        if self.config_path is not None:
            return self.config_path
        default = Path("conf/scripts") / f"conf_{self.script}.yml"
        return default if default.exists() else None


def replay_overrides(spec: ReplaySpec, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Config values a replay replaces, for the fields ``fields`` (the config's model fields).

    Always, when the field exists: no trading-rule fetch from the exchange (no network);
    alerts on, delivered to the log only, and the journal on, in SQLite only, both in
    ``spec.files()`` (a replay journals and alerts like the live bot but never posts to Slack
    nor writes to Supabase, whatever secrets the environment holds). ``spec.pairs`` sets
    ``trading_pairs`` and ``btc_pair = BTC-<quote>``; ``spec.models_dir`` sets
    ``models_dir``; ``spec.overrides`` last.

    Raises:
        ReplayError: ``pairs`` given but the config has no ``trading_pairs`` field.
    """
    out: dict[str, Any] = {}
    if "paper_trading_rules" in fields:
        out["paper_trading_rules.fetch_from_exchange"] = False
    out.update(spec.files().overrides(fields))
    if spec.pairs is not None:
        if "trading_pairs" not in fields:
            raise ReplayError(f"{spec.script}: config has no trading_pairs field; "
                              "use overrides to set its pairs")
        out["trading_pairs"] = list(spec.pairs)
        if "btc_pair" in fields:
            out["btc_pair"] = f"BTC-{spec.pairs[0].split('-')[1]}"
    if spec.models_dir is not None and "models_dir" in fields:
        out["models_dir"] = spec.models_dir
    out.update(spec.overrides)
    return out


def load_for_replay(spec: ReplaySpec) -> tuple[LoadedScript, dict[str, Any]]:
    """The script with its replay config, and the overrides applied.

    Raises:
        ScriptLoadError: import, classes or config (see :func:`.loader.load_script`).
        ReplayError: ``pairs`` given for a config without ``trading_pairs``.
    """
    _, config_class = script_classes(spec.script, spec.scripts_package)
    overrides = replay_overrides(spec, config_class.model_fields)
    script = load_script(spec.script, spec.resolved_config_path(), overrides,
                         spec.scripts_package)
    return script, overrides


def _utc_s(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())


def candle_window(spec: ReplaySpec, data: Mapping[str, PairCandleArrays], pairs: Sequence[str],
                  interval_s: int) -> list[int]:
    """Open times (s) of the candles to replay, present for every pair in ``pairs``.

    Raises:
        ReplayError: a pair lacks data, or no candle of the window is common to all pairs.
    """
    missing = [p for p in pairs if p not in data]
    if missing:
        raise ReplayError(f"no candles for {', '.join(missing)} in the replay data "
                          f"(it has {', '.join(sorted(data))})")
    last = min(int(data[p].timestamp[-1]) for p in pairs)
    end_s = _utc_s(spec.end) if spec.end else last + interval_s
    start_s = (_utc_s(spec.start) if spec.start
               else end_s - int(timedelta(days=DEFAULT_WINDOW_DAYS).total_seconds()))
    start_s = -(-start_s // interval_s) * interval_s
    times = list(range(start_s, min(end_s, last + interval_s), interval_s))
    for pair in pairs:
        if not times:
            break
        try:
            data[pair].index_of(times[0])
            data[pair].index_of(times[-1])
        except KeyError as exc:
            raise ReplayError(f"{exc.args[0]}: the window {format_utc(times[0])}.."
                              f"{format_utc(times[-1])} is not covered") from None
    if not times:
        raise ReplayError(f"no candle between {format_utc(start_s)} and {format_utc(end_s)} "
                          f"for {', '.join(pairs)}")
    return times


async def _drive(spec: ReplaySpec, script: LoadedScript, store: CandleStore,
                 times: list[int], inspect: Callable[[Any], None] | None) -> dict[str, Any]:
    interval_s = store.timeline.interval_s
    subtick = store.timeline.subtick_s
    script.strategy_class.init_markets(script.config)
    markets = {name: sorted(pairs) for name, pairs in script.strategy_class.markets.items()}
    connectors = funded_connectors(markets, half_spread_frac=spec.half_spread_frac,
                                   quote_balance=spec.quote_balance, exhaustive=spec.exhaustive)
    balances_start = {f"{k}:{a}": float(v) for k, c in connectors.items()
                      for a, v in c.get_all_balances().items()}
    hummingbot_app_and_recorder(list(connectors.values()),
                                str(script.config_path or script.name), script.name)
    traded = [(c, p, store.get(p)) for c in connectors.values() for p in c.trading_pairs]

    def show(candle_ts: int) -> list[tuple[Any, ...]]:
        paths = []
        for exchange, pair, data in traded:
            i = data.index_of(candle_ts)
            paths.append((exchange, pair, candle_path(
                data.open[i], data.high[i], data.low[i], data.close[i], interval_s,
                spec.path_order, spec.steps_per_leg)))
        return paths

    first_t = times[0] + spec.first_offset_s
    store.timeline.now_s = first_t - subtick
    # the price before the first tick: the open of the first candle (connectors need a book)
    for exchange, pair, path in show(times[0]):
        exchange.set_mid(pair, path[0].price)
    strategy = script.strategy_class(connectors, script.config)
    strategy.executor_orchestrator.executors_update_interval = subtick
    if spec.exhaustive and hasattr(strategy, "reuse_executor_reports"):
        strategy.reuse_executor_reports = False
    recorder = RuntimeRecorder()
    observers = getattr(getattr(strategy, "runtime", None), "observers", None)
    observable = isinstance(observers, list)
    if isinstance(observers, list):
        observers.append(recorder)
    clock = Clock(ClockMode.BACKTEST, tick_size=subtick, start_time=first_t - subtick,
                  end_time=times[-1] + interval_s)
    for exchange in connectors.values():
        clock.add_iterator(exchange)
    clock.add_iterator(strategy)
    watch = ExecutorWatch()
    watch.watch_archiving(strategy.executor_orchestrator)
    ticks = 0
    for candle_ts in times:
        paths = show(candle_ts)
        for j in range(len(paths[0][2])):
            t = clock.current_timestamp + subtick
            for exchange, pair, path in paths:
                exchange.set_mid(pair, path[j].price)
            store.timeline.now_s = t
            await advance_to(t)
            clock.backtest_til(t)
            watch.scan(strategy.executor_orchestrator)
            await advance_to(t + subtick / 2)
            ticks += 1
    executors = watch.finish(strategy.executor_orchestrator)
    if inspect is not None:
        inspect(strategy)
    balances_end = {f"{k}:{a}": float(v) for k, c in connectors.items()
                    for a, v in c.get_all_balances().items()}
    close_observers(strategy)
    strategy.market_data_provider.stop()
    return {"connector": ",".join(connectors), "pairs": tuple(p for _, p, _ in traded),
            "ticks": ticks, "executors": executors, "recorder": recorder if observable else None,
            "balances_start": balances_start, "balances_end": balances_end}


def run_replay(spec: ReplaySpec, *, log_level: int = logging.CRITICAL,
               inspect: Callable[[Any], None] | None = None) -> ReplayResult:
    """Replay one script (module docstring) and return what happened.

    Args:
        spec: what to replay.
        log_level: level for the ``hummingbot`` / ``ml_signals`` loggers during the run
            (ERROR records are counted in any case).
        inspect: called with the strategy object after the last tick, before teardown (tests
            read a script's own state through it).

    Raises:
        ReplayError: data or window problems. ScriptLoadError: script or config problems.
        FileNotFoundError, CandleDataError: from the candle loaders.
    """
    wall0, cpu0 = time.perf_counter(), time.process_time()
    interval_s = interval_seconds(spec.interval)
    script, overrides = load_for_replay(spec)
    spec.files().clear()
    sets = load_dir(spec.data_dir, spec.interval)
    data = {pair: PairCandleArrays.from_frame(pair, cs.frame) for pair, cs in sets.items()}
    script.strategy_class.init_markets(script.config)
    market_pairs = sorted({p for pairs in script.strategy_class.markets.values() for p in pairs})
    times = candle_window(spec, data, market_pairs, interval_s)
    timeline = ReplayTimeline(interval_s=interval_s, path_order=spec.path_order,
                              first_offset_s=spec.first_offset_s,
                              subtick_s=subtick_size_s(interval_s, spec.steps_per_leg),
                              steps_per_leg=spec.steps_per_leg, forming=spec.forming_candle)
    store = CandleStore(data, timeline)
    loop = VirtualTimeLoop(times[0])
    asyncio.set_event_loop(loop)
    try:
        with quiet_hummingbot(log_level) as errors, replay_candles_factory(store), \
                warnings.catch_warnings():
            # the stopped Gateway poller's coroutine (see _hummingbot_app_and_recorder)
            warnings.filterwarnings("ignore", message=".*_monitor_loop' was never awaited")
            out = loop.run_until_complete(_drive(spec, script, store, times, inspect))
            cancel_pending(loop)
    finally:
        loop.close()
        asyncio.set_event_loop(None)
    recorder: RuntimeRecorder | None = out["recorder"]
    journal, alerts = _journal_and_alerts(script.config)
    return ReplayResult(
        script=spec.script, config_path=str(script.config_path) if script.config_path else None,
        connector=out["connector"], pairs=out["pairs"], start_s=times[0], end_s=times[-1],
        candles=len(times), subticks=out["ticks"], path_order=spec.path_order,
        steps_per_leg=spec.steps_per_leg, half_spread_frac=spec.half_spread_frac,
        models=dict(recorder.models) if recorder else {},
        setups=tuple(recorder.setups) if recorder else None,
        guard_locks=tuple(recorder.guard_locks) if recorder else (),
        executors=out["executors"], balances_start=out["balances_start"],
        balances_end=out["balances_end"], wall_s=time.perf_counter() - wall0,
        cpu_s=time.process_time() - cpu0,
        overrides=overrides, errors=tuple(errors.messages), journal=journal, alerts=alerts,
    )


def _journal_and_alerts(config: Any) -> tuple[JournalCounts | None, AlertCounts | None]:
    """Counts read back from the journal and outbox the script used (``None`` when off)."""
    journal = getattr(config, "journal", None)
    alerts = getattr(config, "alerts", None)
    return (
        read_journal(Path(journal.sqlite_path), Path(journal.spool_path))
        if journal is not None and journal.enabled else None,
        read_alerts(Path(alerts.outbox_path), alerts.destination)
        if alerts is not None and alerts.enabled else None,
    )
