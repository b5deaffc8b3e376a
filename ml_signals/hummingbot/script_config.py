"""The config base of the ``ml_*`` V2 scripts: shared fields, their validation, and what the
script builds from them (engines, risk, observers, the runtime, model refresh).

Each script subclasses :class:`MlScriptConfigBase` once and reaches it through this module
(``script_config.MlScriptConfigBase``), never importing the class into its own namespace:
Hummingbot's loader takes the first config class of a script module, alphabetically (see
:mod:`.script_base`). Hummingbot imports the script (and so this module) before it reads the
script's YAML, so importing this module installs the strict YAML loader (:mod:`.config_file`).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from hummingbot.core.data_type.common import MarketDict
from hummingbot.data_feed.candles_feed.candles_factory import CandlesFactory
from hummingbot.strategy.strategy_v2_base import StrategyV2ConfigBase
from pydantic import Field, ValidationInfo, field_validator, model_validator

from ml_signals.candle_guard import DEFAULT_MAX_MOVE_FRAC
from ml_signals.candles import INTERVAL_SECONDS
from ml_signals.control.settings import ControlSettings
from ml_signals.decision.engine import StrategyEngine
from ml_signals.decision.events import RuntimeObserver
from ml_signals.decision.planner import DecisionPlanner
from ml_signals.decision.sizing import SizingConfig
from ml_signals.features import MAX_LIVE_BARS, warmup_bars
from ml_signals.hummingbot import (
    candle_history,
    config_file,
    model_policy,
    model_watch,
    paper_trading,
    risk_state,
    scoring_faults,
    strategy_runtime,
)
from ml_signals.hummingbot.runtime_settings import RuntimeSettings
from ml_signals.hummingbot.script_settings import AlertSettings, JournalSettings, check_connector
from ml_signals.orchestration import StrategyOrchestrator
from ml_signals.risk import RiskConfig, RiskManager
from ml_signals.scoring.config import DEFAULT_SCORING, ScoringConfig
from ml_signals.scoring.shadow import ShadowBook
from ml_signals.setups import DetectorConfig, StrategyName, make_detector

if TYPE_CHECKING:
    from ml_signals.journal import JournalConfig

# Hummingbot imports the script (and so this module) before it reads the script's YAML: from
# here on an empty, non-mapping or missing config file is one error naming the file.
config_file.install_strict_yaml_loader()

_PAIR = re.compile(r"^[A-Z0-9]{2,12}-[A-Z0-9]{2,12}$")

BTC_BASES = frozenset({"BTC", "XBT"})
"""Base assets ``btc_pair`` may have (Kraken's own name for bitcoin is XBT)."""


StrategySetting = tuple[StrategyName, DetectorConfig, float | None]
"""``(strategy, detector config, configured confidence threshold or None)``."""


def _prompt(text: str) -> dict[str, Any]:
    """``json_schema_extra`` Hummingbot's config prompts read (``create --v2``)."""
    return {"prompt": text, "prompt_on_new": False}


class MlScriptConfigBase(StrategyV2ConfigBase):
    """Fields every ``ml_*`` script shares. Money in quote, times in seconds.

    Subclasses add their strategy settings and implement :meth:`strategy_settings`. Besides
    markets, timing and risk: ``no_model_policy`` (``"skip"``: no entries for a strategy without
    a published model; ``"rules_only"``: every setup at the detector's size), ``fees`` (the
    fees the bot trades at; a model trained at others is refused) and ``max_scoring_failures``
    (setups in a row that fail to score before the strategy halts), see :mod:`.model_policy`
    and :mod:`.scoring_faults`. ``btc_pair`` must be BTC (or XBT) in the trading pairs' quote.

    Model refresh (:mod:`.model_watch`, :mod:`ml_signals.scoring.shadow`): a new
    ``<models_dir>/<strategy>/current`` is picked up at the next closed candle without a
    restart. ``max_model_age`` (seconds or ``"14d"``; default 14 days, twice the weekly
    retrain) expires an older model with a system alert, after which the strategy follows
    ``max_model_age_action`` (default: what ``no_model_policy`` says, as for no model at all):
    ``"skip"`` (no new entries; setups still scored and journaled) or ``"rules_only"`` (every
    setup at the detector's size and exits).
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
    universe_pairs: list[str] = Field(default=[], json_schema_extra=_prompt(
        "Extra pairs fed for market-state inputs (only a model trained with them reads them)"))
    candles_interval: str = Field(default="1h", json_schema_extra=_prompt("Candle interval"))
    max_records: int = Field(default=candle_history.DEFAULT_MAX_RECORDS,
                             json_schema_extra=_prompt(
                                 "Candles kept per feed (705..718 at 1h on Kraken)"))
    models_dir: str = Field(default="models", json_schema_extra=_prompt(
        "Model artifacts directory"))
    no_model_policy: model_policy.NoModelPolicy = Field(default="skip", json_schema_extra=_prompt(
        "Strategy without a published model: skip (no entries) or rules_only"))
    fees: model_policy.TradingFees = Field(default_factory=model_policy.TradingFees,
                                           json_schema_extra=_prompt(
                                               "Fees the bot trades at (maker, taker fractions)"))
    max_scoring_failures: int = Field(
        default=scoring_faults.DEFAULT_MAX_SCORING_FAILURES, ge=1, le=1000,
        json_schema_extra=_prompt("Setups in a row that fail to score before a strategy halts"))
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
    incremental_features: bool = Field(default=True, json_schema_extra=_prompt(
        "Update features one closed candle at a time (false: recompute the whole window)"))
    risk: RiskConfig = Field(default_factory=RiskConfig, json_schema_extra=_prompt("Risk limits"))
    paper_trading_rules: paper_trading.PaperTradingRules = Field(
        default_factory=paper_trading.PaperTradingRules,
        json_schema_extra=_prompt("Trading rules of the paper connector"))
    alerts: AlertSettings = Field(default_factory=AlertSettings,
                                  json_schema_extra=_prompt("Slack alerts"))
    journal: JournalSettings = Field(default_factory=JournalSettings,
                                     json_schema_extra=_prompt("Trade journal"))
    control: ControlSettings = Field(default_factory=ControlSettings,
                                     json_schema_extra=_prompt("Slack commands"))
    max_model_age: float | None = Field(
        default=model_watch.DEFAULT_MAX_MODEL_AGE_S, json_schema_extra=_prompt(
            "Oldest model to trade with: seconds or e.g. 14d (empty/off: no limit)"))
    max_model_age_action: model_watch.ModelAgeAction | None = Field(
        default=None, json_schema_extra=_prompt(
            "Past max_model_age: skip or rules_only (empty: as no_model_policy)"))
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

    @field_validator("trading_pairs", "universe_pairs", mode="before")
    @classmethod
    def _split_pairs(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [p.strip() for p in value.split(",") if p.strip()]
        return value

    @field_validator("trading_pairs", "universe_pairs")
    @classmethod
    def _check_pairs(cls, value: list[str], info: ValidationInfo) -> list[str]:
        what = str(info.field_name).replace("_", " ")
        bad = [p for p in value if not _PAIR.match(p)]
        if bad:
            raise ValueError(f"{what} must look like BASE-QUOTE (BTC-USD), got {bad}")
        if info.field_name == "trading_pairs" and len(set(value)) != len(value):
            raise ValueError(f"trading pairs listed twice: {value}")
        return list(dict.fromkeys(value))

    @field_validator("btc_pair")
    @classmethod
    def _check_btc_pair(cls, value: str) -> str:
        if not _PAIR.match(value):
            raise ValueError(f"btc_pair must look like BASE-QUOTE (BTC-USD), got {value!r}")
        return value

    @model_validator(mode="after")
    def _check_btc_feed(self) -> MlScriptConfigBase:
        base, quote = self.btc_pair.split("-")
        quotes = sorted({p.split("-")[1] for p in self.trading_pairs})
        if base not in BTC_BASES or quote not in quotes:
            raise ValueError(
                f"btc_pair {self.btc_pair} is not among the candle feeds of these trading pairs: "
                f"it must be BTC quoted in {' or '.join(quotes)} (the BTC features read BTC's "
                f"candles of the same hour from {self.candles_connector}), e.g. BTC-{quotes[0]}")
        return self

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

    def sizing(self) -> SizingConfig:
        """Confidence -> size and spacing (DCA scripts override)."""
        return SizingConfig()

    def orchestrator(self) -> StrategyOrchestrator | None:
        """Capital allocation between strategies (the portfolio script); ``None`` otherwise."""
        return None

    # --- building the runtime -------------------------------------------------------------------

    def runtime_settings(self) -> RuntimeSettings:
        """The runtime's market and timing settings."""
        return RuntimeSettings(
            connector_name=self.connector_name, candles_connector=self.candles_connector,
            trading_pairs=tuple(self.trading_pairs), btc_pair=self.btc_pair,
            interval=self.candles_interval, interval_s=INTERVAL_SECONDS[self.candles_interval],
            max_records=self.max_records, capital_quote=self.capital_quote,
            candle_close_delay_s=self.candle_close_delay_s,
            max_decision_delay_s=self.max_decision_delay_s,
            cancel_unfilled_after_s=self.cancel_unfilled_after_s,
            max_candle_move_frac=self.max_candle_move_frac,
            max_scoring_failures=self.max_scoring_failures,
            universe_pairs=tuple(self.universe_pairs),
            incremental_features=self.incremental_features,
        )

    def model_source(self) -> model_policy.ModelSource:
        """Models folder, no-model policy and fees (:mod:`.model_policy`)."""
        return model_policy.ModelSource(Path(self.models_dir), self.no_model_policy, self.fees)

    def engines(self) -> list[StrategyEngine]:
        """Detector + scorer + sizing per strategy; without a published model the strategy skips
        every setup or runs rules-only, as ``no_model_policy`` says (:mod:`.model_policy`).

        Raises:
            ArtifactError: a published model does not match this code or these fees (refuse to
                start).
            ScriptConfigError: ``models_dir`` missing or unreadable under ``skip``.
        """
        interval_s = INTERVAL_SECONDS[self.candles_interval]
        result = []
        for strategy, detector_config, threshold in self.strategy_settings():
            scoring = ScoringConfig.model_validate(
                {**DEFAULT_SCORING[strategy].model_dump(), "confidence_threshold": threshold})
            scorer = model_policy.load_scorer(self.model_source(), strategy, scoring)
            detector = make_detector(strategy, detector_config, interval_s)
            result.append(model_policy.make_engine(detector, scorer, self.sizing()))
        return result

    def observers(self) -> list[RuntimeObserver]:
        """Journal and alert observers when enabled (their threads start with the runtime).
        The journal's spool faults (file locked, disk full, limits) become ``#system-alerts``
        notices when alerts are on."""
        from ml_signals.hummingbot import alerts_observer, observers  # only when used

        result: list[RuntimeObserver] = []
        sender = None
        if self.alerts.enabled:
            from ml_signals.alerts import AlertSender, SlackConfig

            outbox = Path(self.alerts.outbox_path)
            if self.alerts.destination == "log":  # no secrets read: the log transport only
                # the per-channel interval is Slack's rate limit; the log has none
                slack_config = SlackConfig(outbox_path=outbox, min_interval_per_channel_s=0.0)
            else:
                env = Path(self.alerts.env_file) if self.alerts.env_file else None
                slack_config = SlackConfig.from_env(env_file=env, outbox_path=outbox)
            sender = AlertSender(slack_config)
        if self.journal.enabled:
            from ml_signals.journal import Journal

            scope = risk_state.scope_of(name for name, _, _ in self.strategy_settings())
            on_fault = (observers.journal_fault_alerts(sender, time.time)
                        if sender is not None else None)
            result.append(observers.JournalObserver(
                Journal(self.journal_config(), on_fault=on_fault), scope=scope))
        if sender is not None:
            result.append(alerts_observer.AlertsObserver(sender, self.models_dir))
        return result

    def journal_config(self) -> JournalConfig:
        """The :class:`~ml_signals.journal.JournalConfig` of ``journal`` (secrets read only for
        backend ``"auto"``)."""
        from ml_signals.journal import JournalConfig

        sqlite_path, spool_path = Path(self.journal.sqlite_path), Path(self.journal.spool_path)
        if self.journal.backend == "sqlite":  # no secrets read: Supabase is never reached
            return JournalConfig(backend="sqlite", sqlite_path=sqlite_path, spool_path=spool_path)
        env = Path(self.journal.env_file) if self.journal.env_file else None
        return JournalConfig.from_env(env_file=env, sqlite_path=sqlite_path,
                                      spool_path=spool_path)

    def start_runtime(self, runtime: strategy_runtime.StrategyRuntime, now_s: float) -> None:
        """Restore the risk state from the journal (when ``journal.enabled`` and
        ``journal.restore_risk``; :mod:`.risk_state`), then start the runtime (observers,
        model announcements)."""
        if self.journal.enabled and self.journal.restore_risk:
            from ml_signals.hummingbot.observers import JournalObserver

            spool = next((o.journal.spool for o in runtime.observers
                          if isinstance(o, JournalObserver)), None)
            risk_state.restore_from_journal(runtime, self.journal_config(), spool, now_s)
        runtime.start(now_s)

    def build_runtime(self) -> strategy_runtime.StrategyRuntime:
        """The runtime this config describes (models loaded; observers start with it)."""
        planner = DecisionPlanner(RiskManager(self.risk), self.orchestrator())
        return strategy_runtime.StrategyRuntime(self.runtime_settings(), self.engines(), planner,
                                                self.observers(), self.model_refresh())

    def model_refresh(self) -> model_watch.ModelRefresh:
        """Hot reload and expiry of the models (:mod:`.model_watch`: ``current`` checked once
        per closed candle; ``max_model_age`` / ``max_model_age_action``) and the shadows
        (:mod:`ml_signals.scoring.shadow`: ``shadow_models_dir``, ``shadow_variants``)."""
        watcher = model_watch.ModelWatcher(Path(self.models_dir), self.max_model_age,
                                           self.max_model_age_action or self.no_model_policy,
                                           self.fees)
        if self.shadow_models_dir is None and not self.shadow_variants:
            return model_watch.ModelRefresh(watcher)
        configs: dict[str, ScoringConfig] = {strategy: ScoringConfig.model_validate(
            {**DEFAULT_SCORING[strategy].model_dump(), "confidence_threshold": threshold})
            for strategy, _, threshold in self.strategy_settings()}
        return model_watch.ModelRefresh(
            watcher, ShadowBook(self.shadow_variants, self.shadow_models_dir, configs))
