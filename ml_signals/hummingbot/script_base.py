"""What the ``ml_*`` V2 scripts share: their ``StrategyV2Base`` subclass (the config base is
:mod:`.script_config`).

Hummingbot's loader (``TradingCore.load_v2_class``) imports ``scripts/<name>.py`` and takes the
first ``StrategyV2Base`` subclass and the first ``BaseClientModel`` subclass found in the module
(``inspect.getmembers``, alphabetical). Each script therefore imports *this module and
:mod:`.script_config`* (never their classes) and defines exactly one subclass of
:class:`~.script_config.MlScriptConfigBase` and one of :class:`MlScriptBase`; the names
``MlScriptConfigBase`` / ``MlScriptBase`` never appear in the script's namespace, so the loader
cannot pick them.

Lifecycle (Hummingbot ``start --v2 conf_<script>.yml``):

1. the loader builds the config from the YAML (an empty, non-mapping or missing file is an
   error naming it, :mod:`.config_file`; pydantic validation errors name the field);
2. ``init_markets`` declares the markets (connector -> pairs) and, for a ``*_paper_trade``
   connector, installs the executor-capable paper exchange (:mod:`.paper_trading`) before
   Hummingbot creates the connectors;
3. ``__init__`` builds the :class:`~.strategy_runtime.StrategyRuntime` (loads models as
   ``no_model_policy`` says, :mod:`.model_policy`; an artifact that does not match the feature
   code or the script's fees refuses to start) and starts the candles feeds;
3b. ``start`` restores the risk ledger from the journal (:mod:`.risk_state`), then announces
   the model mode of each strategy (log, status, system alert);
4. every tick: ``on_tick`` syncs executors into the risk ledger and, once connectors and feeds
   are ready, executes ``create_actions_proposal`` + ``stop_actions_proposal`` +
   ``store_actions_proposal`` (Hummingbot's base class does this only for controllers);
5. ``on_stop`` stops the executors (Hummingbot) and flushes the journal and alerts.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from hummingbot.core.utils.async_utils import safe_ensure_future
from hummingbot.strategy.strategy_v2_base import StrategyV2Base
from hummingbot.strategy_v2.models.executor_actions import CreateExecutorAction, StopExecutorAction

from ml_signals.hummingbot import (
    executor_reports,
    logging_setup,
    paper_trading,
)
from ml_signals.hummingbot.market_view import ProviderMarketView

if TYPE_CHECKING:
    pass

from ml_signals.hummingbot.script_config import MlScriptConfigBase

log = logging.getLogger(__name__)


class MlScriptBase(StrategyV2Base):
    """Thin Hummingbot shell around a :class:`~.strategy_runtime.StrategyRuntime`."""

    reuse_executor_reports: bool = True
    """Keep Hummingbot's executor reports while they cannot change
    (:meth:`update_executors_info`); ``False`` rebuilds them every tick (the replay's
    exhaustive mode, the reference the default is tested against)."""

    @classmethod
    def init_markets(cls, config: MlScriptConfigBase) -> None:
        """Declare the markets; prepare paper connectors for executors (before they exist)."""
        logging_setup.enable_ml_loggers()  # after the logging reload of `start`
        super().init_markets(config)
        if paper_trading.is_paper_trade(config.connector_name):
            paper_trading.install_paper_trade_factory(  # removed again in on_stop
                config.paper_trading_rules,
                {config.connector_name.removesuffix(paper_trading.PAPER_TRADE_SUFFIX)})

    def __init__(self, connectors: dict[str, Any], config: MlScriptConfigBase) -> None:
        super().__init__(connectors, config)
        self.config: MlScriptConfigBase = config
        self.runtime = config.build_runtime()
        self.market_view = ProviderMarketView(self.market_data_provider, self.runtime.settings)
        self.market_data_provider.initialize_candles_feed_list(self.runtime.candles_configs())
        self._slack_notifier: tuple[Any, Any] | None = None
        self._slack_control: Any | None = None
        self._reported_key: tuple[str, ...] | None = None  # see update_executors_info
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
        self.config.start_runtime(self.runtime, timestamp)
        if self.config.alerts.enabled:
            self._attach_slack_notifier()
        if self.config.control.enabled:  # /ml-status, /pause ... over Slack Socket Mode
            from ml_signals.control import start_slack_control

            self._slack_control = start_slack_control(self.runtime, self.config.control)
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

        from ml_signals.hummingbot.alerts_observer import AlertsObserver
        from ml_signals.hummingbot.slack_notifier import SlackNotifier, attach_slack_notifier

        sender = next((o.sender for o in self.runtime.observers
                       if isinstance(o, AlertsObserver)), None)
        trading_core = HummingbotApplication.main_application().trading_core
        if sender is None or any(isinstance(n, SlackNotifier) for n in trading_core.notifiers):
            return
        self._slack_notifier = (trading_core, attach_slack_notifier(trading_core, sender))

    def update_executors_info(self) -> None:
        """Hummingbot's executor reports (``StrategyV2Base.update_executors_info``) without
        recomputing what cannot change (:mod:`.executor_reports`).

        Terminated executors are listed as :class:`~.executor_reports.FinishedExecutor`, their
        report computed once; while every listed executor is terminated, no position is held
        and the list is the one reported last, the last reports are kept. Any executor still
        running (its PnL moves with the price), created or archived rebuilds them. With
        :attr:`reuse_executor_reports` off they are rebuilt from the executors at every tick,
        as Hummingbot does.
        """
        if not self.reuse_executor_reports:
            super().update_executors_info()
            return
        executor_reports.freeze_finished(self.executor_orchestrator)
        key = executor_reports.reports_key(self.executor_orchestrator)
        if key is not None and key == self._reported_key:
            return
        super().update_executors_info()
        self._reported_key = key

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
        """Stop executors (Hummingbot), record how they closed, close the journal and alert
        threads, and remove the paper-trade factory ``init_markets`` installed."""
        # Hummingbot's on_stop closes the executors and then drops them from its reports:
        # keep them to record those last closes in the ledger, journal and alerts.
        executors = [e for group in self.executor_orchestrator.active_executors.values()
                     for e in group]
        try:
            await super().on_stop()
            self.runtime.sync(self.current_timestamp, [e.executor_info for e in executors])
            self.close_runtime()
        finally:  # the next strategy gets Hummingbot's own paper connector
            paper_trading.uninstall_paper_trade_factory()

    def close_runtime(self, flush_timeout_s: float = 0.0) -> None:
        """Detach the Slack notifier, then close the runtime's journal and alert threads
        (:meth:`on_stop` does this; so does the replay, which keeps its executors).

        Args:
            flush_timeout_s: first wait up to this many seconds for the journal spool to be
                written and, again up to this long, for the alert outbox to be delivered. 0 (the
                default, Hummingbot's stop): the journal writes what it can while closing and
                undelivered alerts stay in the outbox for the next start.
        """
        from ml_signals.hummingbot.alerts_observer import AlertsObserver
        from ml_signals.hummingbot.observers import JournalObserver

        if self._slack_control is not None:  # before the journal closes: commands journal
            self._slack_control.close()
            self._slack_control = None
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
        base = str(super().format_status())
        if not self.ready_to_trade:
            return base
        return base + "\n\n" + self.runtime.format_status(self.current_timestamp,
                                                          self.get_all_executors())
