"""What the ``ml_*`` V2 scripts share: their config base and their ``StrategyV2Base`` subclass.

Hummingbot's loader (``TradingCore.load_v2_class``) imports ``scripts/<name>.py`` and takes the
first ``StrategyV2Base`` subclass and the first ``BaseClientModel`` subclass found in the module
(``inspect.getmembers``, alphabetical). Each script therefore imports *this module* (never its
classes) and defines exactly one subclass of :class:`MlScriptConfigBase` and one of
:class:`MlScriptBase`; the names ``MlScriptConfigBase`` / ``MlScriptBase`` never appear in the
script's namespace, so the loader cannot pick them.

Lifecycle (Hummingbot ``start --v2 conf_<script>.yml``):

1. the loader builds the config from the YAML (pydantic validation, errors name the field);
2. ``init_markets`` declares the markets (connector -> pairs) and, for a ``*_paper_trade``
   connector, installs the executor-capable paper exchange (:mod:`.paper_trading`) before
   Hummingbot creates the connectors;
3. ``__init__`` builds the :class:`~.strategy_runtime.StrategyRuntime` (loads models; an
   artifact that does not match the feature code refuses to start) and starts the candles feeds;
4. every tick: ``on_tick`` syncs executors into the risk ledger and, once connectors and feeds
   are ready, executes ``create_actions_proposal`` + ``stop_actions_proposal`` +
   ``store_actions_proposal`` (Hummingbot's base class does this only for controllers);
5. ``on_stop`` stops the executors (Hummingbot) and flushes the journal and alerts.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Literal

from hummingbot.client.settings import AllConnectorSettings
from hummingbot.core.data_type.common import MarketDict
from hummingbot.core.utils.async_utils import safe_ensure_future
from hummingbot.data_feed.candles_feed.candles_factory import CandlesFactory
from hummingbot.strategy.strategy_v2_base import StrategyV2Base, StrategyV2ConfigBase
from hummingbot.strategy_v2.models.executor_actions import CreateExecutorAction, StopExecutorAction
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ml_signals import live
from ml_signals.candle_guard import DEFAULT_MAX_MOVE_FRAC
from ml_signals.candles import INTERVAL_SECONDS
from ml_signals.features import MAX_LIVE_BARS, warmup_bars
from ml_signals.hummingbot import (
    candle_history,
    logging_setup,
    model_watch,
    paper_trading,
    strategy_runtime,
)
from ml_signals.orchestration import StrategyOrchestrator
from ml_signals.risk import RiskConfig, RiskManager
from ml_signals.scoring.config import DEFAULT_SCORING, ScoringConfig
from ml_signals.scoring.scorer import Scorer
from ml_signals.scoring.shadow import ShadowBook
from ml_signals.setups import DetectorConfig, StrategyName, make_detector

log = logging.getLogger(__name__)

_PAIR = re.compile(r"^[A-Z0-9]{2,12}-[A-Z0-9]{2,12}$")


StrategySetting = tuple[StrategyName, DetectorConfig, float | None]
"""``(strategy, detector config, configured confidence threshold or None)``."""


def _prompt(text: str) -> dict[str, Any]:
    """``json_schema_extra`` Hummingbot's config prompts read (``create --v2``)."""
    return {"prompt": text, "prompt_on_new": False}


class AlertSettings(BaseModel):
    """Slack alerts (:mod:`ml_signals.alerts`); secrets come only from the environment or a
    git-ignored env file (``SLACK_BOT_TOKEN`` or ``SLACK_WEBHOOK_URL``...).

    Attributes:
        enabled: send trade and system alerts.
        destination: ``"slack"``: deliver as the Slack secrets say (bot token, webhook, or the
            log when none is set; :meth:`~ml_signals.alerts.SlackConfig.from_env`). ``"log"``:
            the same outbox and delivery thread, but every alert goes to the log (logger
            ``ml_signals.alerts.delivery``, INFO) and Slack secrets in the environment or
            ``env_file`` are never read, so nothing can reach Slack; without Slack there is no
            per-channel rate limit either. Replays use ``"log"``.
        env_file: optional env file with the Slack secrets (``"slack"`` only).
        outbox_path: SQLite outbox (one sender process per file).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    destination: Literal["slack", "log"] = "slack"
    env_file: str | None = None
    outbox_path: str = "data/ml_alerts_outbox.sqlite"


class JournalSettings(BaseModel):
    """Trade journal (:mod:`ml_signals.journal`): local SQLite, or Supabase when
    ``SUPABASE_URL`` and ``SUPABASE_SERVICE_KEY`` are set in the environment / env file.

    Attributes:
        enabled: journal setups, predictions and trades.
        backend: ``"auto"``: Supabase when its URL and key are found (``JOURNAL_BACKEND``
            forces one; :meth:`~ml_signals.journal.JournalConfig.from_env`), else SQLite.
            ``"sqlite"``: always the local SQLite file ``sqlite_path``; Supabase secrets in the
            environment or ``env_file`` are never read. Replays use ``"sqlite"``.
        env_file: optional env file with the Supabase secrets (``"auto"`` only).
        sqlite_path: journal file of the SQLite backend.
        spool_path: local spool every record waits in until the backend has it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    backend: Literal["auto", "sqlite"] = "auto"
    env_file: str | None = None
    sqlite_path: str = "data/ml_journal.sqlite"
    spool_path: str = "data/ml_journal_spool.sqlite"


def check_connector(name: str) -> str:
    """Accept a Hummingbot connector name (``AllConnectorSettings``) or ``<exchange>_paper_trade``.

    Raises:
        ValueError: unknown name; the message lists what is accepted.
    """
    known = AllConnectorSettings.get_connector_settings()
    base = name.removesuffix(paper_trading.PAPER_TRADE_SUFFIX)
    if base not in known:
        raise ValueError(
            f"unknown connector {name!r}: not one of Hummingbot's {len(known)} connectors "
            f"(e.g. kraken, binance, coinbase_advanced_trade) nor <exchange>_paper_trade"
        )
    return name


class MlScriptConfigBase(StrategyV2ConfigBase):
    """Fields every ``ml_*`` script shares. Money in quote, times in seconds.

    Subclasses add their strategy settings and implement :meth:`strategy_settings`.

    Model refresh (:mod:`.model_watch`, :mod:`ml_signals.scoring.shadow`): a new
    ``<models_dir>/<strategy>/current`` is picked up at the next closed candle without a
    restart. ``max_model_age`` (seconds or ``"14d"``; default 14 days, twice the weekly
    retrain) expires an older model with a system alert, after which the strategy follows
    ``max_model_age_action``: ``"skip"`` (no new entries; setups still scored and journaled) or
    ``"rules_only"`` (every setup at the detector's size and exits).
    ``shadow_models_dir`` (a challenger's models folder) and ``shadow_variants``
    (``conservative``: half the champion rule's share of setups, ``aggressive``: twice it)
    score every setup beside the champion and are journaled, never traded.
    """

    connector_name: str = Field(default="kraken_paper_trade", json_schema_extra=_prompt(
        "Trading connector (e.g. kraken_paper_trade)"))
    candles_connector: str = Field(default="kraken", json_schema_extra=_prompt(
        "Candles source exchange (e.g. kraken)"))
    trading_pairs: list[str] = Field(default=["BTC-USD", "ETH-USD", "SOL-USD"], min_length=1,
                                     json_schema_extra=_prompt("Trading pairs, comma-separated"))
    btc_pair: str = Field(default="BTC-USD", json_schema_extra=_prompt(
        "BTC pair for the market regime"))
    candles_interval: str = Field(default="1h", json_schema_extra=_prompt("Candle interval"))
    max_records: int = Field(default=candle_history.DEFAULT_MAX_RECORDS,
                             json_schema_extra=_prompt(
                                 "Candles kept per feed (705..718 at 1h on Kraken)"))
    models_dir: str = Field(default="models", json_schema_extra=_prompt(
        "Model artifacts directory"))
    capital_quote: float = Field(default=5000.0, gt=0, json_schema_extra=_prompt(
        "Capital the bot manages, quote"))
    candle_close_delay_s: int = Field(default=5, ge=0, le=600,
                                      json_schema_extra=_prompt("Seconds to wait after a close"))
    max_decision_delay_s: int = Field(default=900, ge=0, json_schema_extra=_prompt(
        "Skip candles first seen later than this after their close, seconds"))
    cancel_unfilled_after_s: int | None = Field(default=None, gt=0, json_schema_extra=_prompt(
        "Stop executors whose entry has not filled after this many seconds (empty: never)"))
    max_candle_move_frac: float = Field(
        default=DEFAULT_MAX_MOVE_FRAC, gt=0, allow_inf_nan=False, json_schema_extra=_prompt(
            "Candle guard: a one-candle move beyond this fraction is bad data (0.5 = 50 %)"))
    risk: RiskConfig = Field(default_factory=RiskConfig, json_schema_extra=_prompt("Risk limits"))
    paper_trading_rules: paper_trading.PaperTradingRules = Field(
        default_factory=paper_trading.PaperTradingRules,
        json_schema_extra=_prompt("Trading rules of the paper connector"))
    alerts: AlertSettings = Field(default_factory=AlertSettings,
                                  json_schema_extra=_prompt("Slack alerts"))
    journal: JournalSettings = Field(default_factory=JournalSettings,
                                     json_schema_extra=_prompt("Trade journal"))
    max_model_age: float | None = Field(
        default=model_watch.DEFAULT_MAX_MODEL_AGE_S, json_schema_extra=_prompt(
            "Oldest model to trade with: seconds or e.g. 14d (empty/off: no limit)"))
    max_model_age_action: model_watch.ModelAgeAction = Field(
        default="skip", json_schema_extra=_prompt(
            "Past max_model_age: skip (no new entries) or rules_only"))
    shadow_models_dir: str | None = Field(default=None, json_schema_extra=_prompt(
        "Challenger models folder scored beside the champion, never traded (empty: none)"))
    shadow_variants: list[Literal["conservative", "aggressive"]] = Field(
        default_factory=list, json_schema_extra=_prompt(
            "Champion rule variants scored in shadow: conservative, aggressive"))

    @field_validator("max_model_age", mode="before")
    @classmethod
    def _parse_max_model_age(cls, value: Any) -> float | None:
        """Seconds, or a duration such as ``14d`` (:func:`.model_watch.parse_duration_s`)."""
        return model_watch.parse_duration_s(value)

    @field_validator("trading_pairs", mode="before")
    @classmethod
    def _split_pairs(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [p.strip() for p in value.split(",") if p.strip()]
        return value

    @field_validator("trading_pairs")
    @classmethod
    def _check_pairs(cls, value: list[str]) -> list[str]:
        bad = [p for p in value if not _PAIR.match(p)]
        if bad:
            raise ValueError(f"trading pairs must look like BASE-QUOTE (BTC-USD), got {bad}")
        if len(set(value)) != len(value):
            raise ValueError(f"trading pairs listed twice: {value}")
        return value

    @field_validator("btc_pair")
    @classmethod
    def _check_btc_pair(cls, value: str) -> str:
        if not _PAIR.match(value):
            raise ValueError(f"btc_pair must look like BASE-QUOTE (BTC-USD), got {value!r}")
        return value

    @field_validator("connector_name")
    @classmethod
    def _check_connector(cls, value: str) -> str:
        return check_connector(value)

    @field_validator("candles_connector")
    @classmethod
    def _check_candles_connector(cls, value: str) -> str:
        known = sorted(CandlesFactory._candles_map)  # Hummingbot's registry of candle feeds
        if value not in known:
            raise ValueError(f"unknown candles connector {value!r}; Hummingbot has candles "
                             f"for {', '.join(known)}")
        return value

    @field_validator("candles_interval")
    @classmethod
    def _check_interval(cls, value: str) -> str:
        if value not in INTERVAL_SECONDS:
            raise ValueError(f"candles_interval {value!r} unknown; use one of "
                             f"{', '.join(INTERVAL_SECONDS)}")
        warmup_bars(INTERVAL_SECONDS[value])  # raises ValueError for intervals features refuse
        return value

    @model_validator(mode="after")
    def _check_max_records(self) -> MlScriptConfigBase:
        if self.max_records > MAX_LIVE_BARS:
            raise ValueError(
                f"max_records {self.max_records} exceeds {MAX_LIVE_BARS}: Kraken's candles API "
                f"returns at most {MAX_LIVE_BARS} candles (Hummingbot KrakenSpotCandles refuses "
                f"more) and the features are validated on {MAX_LIVE_BARS}-candle windows"
            )
        # the warm-up, training-equal EMAs, the detectors' windows; Kraken's history limit
        candle_history.check_max_records(
            self.max_records, self.candles_interval, INTERVAL_SECONDS[self.candles_interval],
            self.candles_connector, [c for _, c, _ in self.strategy_settings()], MAX_LIVE_BARS)
        return self

    def update_markets(self, markets: MarketDict) -> MarketDict:
        """Declare the trading connector and its pairs (BTC candles need no market)."""
        return markets.add_or_update(self.connector_name, *self.trading_pairs)

    # --- what the subclasses provide --------------------------------------------------------------

    def strategy_settings(self) -> list[StrategySetting]:
        """``(strategy, detector config, confidence threshold)`` per strategy to run; a
        threshold of ``None`` takes setups by the artifact's own decision rule."""
        raise NotImplementedError

    def sizing(self) -> live.SizingConfig:
        """Confidence -> size and spacing (DCA scripts override)."""
        return live.SizingConfig()

    def orchestrator(self) -> StrategyOrchestrator | None:
        """Capital allocation between strategies (the portfolio script); ``None`` otherwise."""
        return None

    # --- building the runtime -------------------------------------------------------------------

    def runtime_settings(self) -> strategy_runtime.RuntimeSettings:
        """The runtime's market and timing settings."""
        return strategy_runtime.RuntimeSettings(
            connector_name=self.connector_name, candles_connector=self.candles_connector,
            trading_pairs=tuple(self.trading_pairs), btc_pair=self.btc_pair,
            interval=self.candles_interval, interval_s=INTERVAL_SECONDS[self.candles_interval],
            max_records=self.max_records, capital_quote=self.capital_quote,
            candle_close_delay_s=self.candle_close_delay_s,
            max_decision_delay_s=self.max_decision_delay_s,
            cancel_unfilled_after_s=self.cancel_unfilled_after_s,
            max_candle_move_frac=self.max_candle_move_frac,
        )

    def engines(self) -> list[live.StrategyEngine]:
        """Detector + scorer (model from ``models_dir`` or rules-only) + sizing per strategy.

        Raises:
            ArtifactError: a published model does not match this code (refuse to start).
        """
        interval_s = INTERVAL_SECONDS[self.candles_interval]
        result = []
        for strategy, detector_config, threshold in self.strategy_settings():
            scoring = ScoringConfig.model_validate(
                {**DEFAULT_SCORING[strategy].model_dump(), "confidence_threshold": threshold})
            scorer = Scorer.load(Path(self.models_dir), strategy, scoring)
            detector = make_detector(strategy, detector_config, interval_s)
            result.append(live.StrategyEngine(detector, scorer, self.sizing()))
        return result

    def observers(self) -> list[live.RuntimeObserver]:
        """Journal and alert observers when enabled (their threads start with the runtime)."""
        from ml_signals.hummingbot import observers  # journal/alerts only when used

        result: list[live.RuntimeObserver] = []
        if self.journal.enabled:
            from ml_signals.journal import Journal, JournalConfig

            paths = {"sqlite_path": Path(self.journal.sqlite_path),
                     "spool_path": Path(self.journal.spool_path)}
            if self.journal.backend == "sqlite":  # no secrets read: Supabase is never reached
                journal_config = JournalConfig(backend="sqlite", **paths)
            else:
                env = Path(self.journal.env_file) if self.journal.env_file else None
                journal_config = JournalConfig.from_env(env_file=env, **paths)
            result.append(observers.JournalObserver(Journal(journal_config)))
        if self.alerts.enabled:
            from ml_signals.alerts import AlertSender, SlackConfig

            outbox = Path(self.alerts.outbox_path)
            if self.alerts.destination == "log":  # no secrets read: the log transport only
                # the per-channel interval is Slack's rate limit; the log has none
                slack_config = SlackConfig(outbox_path=outbox, min_interval_per_channel_s=0.0)
            else:
                env = Path(self.alerts.env_file) if self.alerts.env_file else None
                slack_config = SlackConfig.from_env(env_file=env, outbox_path=outbox)
            result.append(observers.AlertsObserver(AlertSender(slack_config), self.models_dir))
        return result

    def build_runtime(self) -> strategy_runtime.StrategyRuntime:
        """The runtime this config describes (models loaded; observers start with it)."""
        planner = live.DecisionPlanner(RiskManager(self.risk), self.orchestrator())
        return strategy_runtime.StrategyRuntime(self.runtime_settings(), self.engines(), planner,
                                                self.observers(), self.model_refresh())

    def model_refresh(self) -> model_watch.ModelRefresh:
        """Hot reload and expiry of the models (:mod:`.model_watch`: ``current`` checked once
        per closed candle; ``max_model_age`` / ``max_model_age_action``) and the shadows
        (:mod:`ml_signals.scoring.shadow`: ``shadow_models_dir``, ``shadow_variants``)."""
        watcher = model_watch.ModelWatcher(Path(self.models_dir), self.max_model_age,
                                           self.max_model_age_action)
        if self.shadow_models_dir is None and not self.shadow_variants:
            return model_watch.ModelRefresh(watcher)
        configs = {strategy: ScoringConfig.model_validate(
            {**DEFAULT_SCORING[strategy].model_dump(), "confidence_threshold": threshold})
            for strategy, _, threshold in self.strategy_settings()}
        return model_watch.ModelRefresh(
            watcher, ShadowBook(self.shadow_variants, self.shadow_models_dir, configs))


class MlScriptBase(StrategyV2Base):
    """Thin Hummingbot shell around a :class:`~.strategy_runtime.StrategyRuntime`."""

    @classmethod
    def init_markets(cls, config: MlScriptConfigBase) -> None:  # type: ignore[override]
        """Declare the markets; prepare paper connectors for executors (before they exist)."""
        logging_setup.enable_ml_loggers()  # after the logging reload of `start`
        super().init_markets(config)
        if paper_trading.is_paper_trade(config.connector_name):
            paper_trading.install_paper_trade_factory(config.paper_trading_rules)

    def __init__(self, connectors: dict[str, Any], config: MlScriptConfigBase) -> None:
        super().__init__(connectors, config)
        self.config: MlScriptConfigBase = config
        self.runtime = config.build_runtime()
        self.market_view = strategy_runtime.ProviderMarketView(self.market_data_provider,
                                                               self.runtime.settings)
        self.market_data_provider.initialize_candles_feed_list(self.runtime.candles_configs())
        self._slack_notifier: tuple[Any, Any] | None = None
        self._check_paper_connector()

    def _check_paper_connector(self) -> None:
        name = self.config.connector_name
        connector = self.connectors.get(name)
        if connector is None or not paper_trading.is_paper_trade(name):
            return
        if not paper_trading.supports_executors(connector):
            self.runtime.halt("paper_connector", (
                f"{name} was created before this script could prepare it (restart Hummingbot "
                "and start this script first): executors cannot trade on it (issue #7434)"))
            return
        paper_trading.ensure_rules(connector, self.config.trading_pairs,
                                   self.config.paper_trading_rules)

    def start(self, clock: Any, timestamp: float) -> None:
        """Hummingbot start, then announce models and fetch the real trading rules (paper)."""
        logging_setup.enable_ml_loggers()  # after the headless quickstart's second reload
        super().start(clock, timestamp)
        self.runtime.start(timestamp)
        if self.config.alerts.enabled:
            self._attach_slack_notifier()
        connector = self.connectors.get(self.config.connector_name)
        if (paper_trading.is_paper_trade(self.config.connector_name)
                and paper_trading.supports_executors(connector)
                and self.config.paper_trading_rules.fetch_from_exchange):
            safe_ensure_future(paper_trading.refresh_rules_from_exchange(
                connector, self.config.trading_pairs))

    def _attach_slack_notifier(self) -> None:
        """Route Hummingbot's own ``notify()`` messages to ``#system-alerts`` as well, through
        this strategy's alert sender; :meth:`on_stop` detaches it again."""
        from hummingbot.client.hummingbot_application import HummingbotApplication

        from ml_signals.alerts.hummingbot_notifier import SlackNotifier, attach_slack_notifier
        from ml_signals.hummingbot.observers import AlertsObserver

        sender = next((o.sender for o in self.runtime.observers
                       if isinstance(o, AlertsObserver)), None)
        trading_core = HummingbotApplication.main_application().trading_core
        if sender is None or any(isinstance(n, SlackNotifier) for n in trading_core.notifiers):
            return
        self._slack_notifier = (trading_core, attach_slack_notifier(trading_core, sender))

    def on_tick(self) -> None:
        """Sync executors into the ledger; when ready, run the executor action proposals."""
        logging_setup.keep_ml_loggers_enabled()
        self.update_executors_info()
        self.runtime.sync(self.current_timestamp, self.get_all_executors())
        if self.market_data_provider.ready and not self._is_stop_triggered:
            self.executor_orchestrator.execute_actions(self.determine_executor_actions())

    def create_actions_proposal(self) -> list[CreateExecutorAction]:
        """Entries for candles closed since the last tick (see the runtime)."""
        return self.runtime.create_actions(self.current_timestamp, self.market_view,
                                           self.get_all_executors())

    def stop_actions_proposal(self) -> list[StopExecutorAction]:
        """Unfilled entries to stop (timeout, or a guard blocking new entries)."""
        return self.runtime.stop_actions(self.current_timestamp, self.get_all_executors())

    async def on_stop(self) -> None:
        """Stop executors (Hummingbot), record how they closed, then close the journal and
        alert threads."""
        # Hummingbot's on_stop closes the executors and then drops them from its reports:
        # keep them to record those last closes in the ledger, journal and alerts.
        executors = [e for group in self.executor_orchestrator.active_executors.values()
                     for e in group]
        await super().on_stop()
        self.runtime.sync(self.current_timestamp, [e.executor_info for e in executors])
        self.close_runtime()

    def close_runtime(self, flush_timeout_s: float = 0.0) -> None:
        """Detach the Slack notifier, then close the runtime's journal and alert threads
        (:meth:`on_stop` does this; so does the replay, which keeps its executors).

        Args:
            flush_timeout_s: first wait up to this many seconds for the journal spool to be
                written and, again up to this long, for the alert outbox to be delivered. 0 (the
                default, Hummingbot's stop): the journal writes what it can while closing and
                undelivered alerts stay in the outbox for the next start.
        """
        from ml_signals.hummingbot.observers import AlertsObserver, JournalObserver

        if self._slack_notifier is not None:  # before the sender closes: the notifier drains
            trading_core, notifier = self._slack_notifier
            notifier.stop()
            trading_core.notifiers.remove(notifier)
            self._slack_notifier = None
        if flush_timeout_s > 0:
            for observer in self.runtime.observers:
                if isinstance(observer, JournalObserver):
                    observer.journal.flush(flush_timeout_s)
                elif isinstance(observer, AlertsObserver):
                    observer.sender.flush(flush_timeout_s)
        self.runtime.close()

    def format_status(self) -> str:
        """Hummingbot's balances and orders, then the runtime's per-pair status."""
        base = super().format_status()
        if not self.ready_to_trade:
            return base
        return base + "\n\n" + self.runtime.format_status(self.current_timestamp,
                                                          self.get_all_executors())
