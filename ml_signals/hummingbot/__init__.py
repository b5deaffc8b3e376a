"""The Hummingbot adapter: the only place in :mod:`ml_signals` that imports Hummingbot.

Modules (import them explicitly; this package imports nothing so that ``ml_signals`` stays
usable without the compiled Hummingbot build):

- :mod:`~ml_signals.hummingbot.paper_trading` - a ``PaperTradeExchange`` that Hummingbot's V2
  executors can trade on (trading rules, in-flight order tracking; Hummingbot issue #7434);
- :mod:`~ml_signals.hummingbot.executor_configs` - a scored setup -> ``DCAExecutorConfig`` /
  ``PositionExecutorConfig`` with ``TripleBarrierConfig``;
- :mod:`~ml_signals.hummingbot.strategy_runtime` - the composition object the scripts in
  ``hummingbot_scripts/`` delegate to (candles -> features -> detector -> scorer -> risk ->
  executor actions), built from :mod:`~ml_signals.hummingbot.candle_decisions` (per-pair
  state and the evaluations of each newly closed candle),
  :mod:`~ml_signals.hummingbot.executor_book` (its executors' fills and closes, realised PnL),
  :mod:`~ml_signals.hummingbot.runtime_status` (the ``format_status`` text),
  :mod:`~ml_signals.hummingbot.runtime_settings` (markets and timing) and
  :mod:`~ml_signals.hummingbot.market_view` (candles and prices from the ``MarketDataProvider``);
- :mod:`~ml_signals.hummingbot.script_config` - the config base (shared fields, validation, what
  a script builds from them) and :mod:`~ml_signals.hummingbot.script_base` the
  ``StrategyV2Base`` subclass every script extends; :mod:`~ml_signals.hummingbot.script_settings`
  its alerts / journal sections; :mod:`~ml_signals.hummingbot.config_file` the strict YAML
  reading (an empty, non-mapping or missing file is one error naming it);
- :mod:`~ml_signals.hummingbot.model_policy` - ``no_model_policy`` (skip or rules-only without a
  published model) and the fee check of a model against the script's fees;
- :mod:`~ml_signals.hummingbot.scoring_faults` - a strategy whose model raises at run time:
  skipped per pair, alerted once per episode, halted after N failures in a row;
- :mod:`~ml_signals.hummingbot.risk_state` - the risk ledger restored from the journal at start;
- :mod:`~ml_signals.hummingbot.observers` - runtime events -> trade journal (and the mapping of
  every hook), :mod:`~ml_signals.hummingbot.alerts_observer` -> Slack alerts,
  :mod:`~ml_signals.hummingbot.report_tally` - what the scheduled reports count (no Hummingbot
  import; here because the runtime is their only caller);
- :mod:`~ml_signals.hummingbot.model_watch` - hot model reload (a new ``current`` verified
  and swapped at the next candle, a broken one refused), ``max_model_age`` expiry and the
  shadows' place in the runtime (no Hummingbot import);
- :mod:`~ml_signals.hummingbot.candle_history` - the bounds of ``max_records`` (training-equal
  features, Kraken's history limit);
- :mod:`~ml_signals.hummingbot.slack_notifier` - Hummingbot's ``notify()`` messages to
  ``#system-alerts`` through the alert outbox (a ``NotifierBase``);
- :mod:`~ml_signals.hummingbot.logging_setup` - the ``ml_signals`` loggers kept alive through
  Hummingbot's logging reloads.
"""
