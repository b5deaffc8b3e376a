"""The decision stage: what to do with the newest closed candle of each pair.

Between the candles and the exchange: a strategy's detector finds a setup, its scorer takes or
skips it, sizing turns the score into amounts and grid spacing, and the planner applies the
capital orchestration and the risk guards to a round of such setups. The stage imports no
Hummingbot, so the live scripts (:mod:`ml_signals.hummingbot.strategy_runtime`), the replay
inside Hummingbot's backtest clock and the offline backtester (:mod:`training.backtest`) decide
with the same code.

A closed candle flows through it in this order (one decision round)::

    frame = closed_frame(hummingbot_candles_df, interval_s, now_s)   # ml_signals.candles
    features = compute_features(frame, btc_frame, interval_s)       # or ml_signals.incremental
    evaluation = engine.evaluate(pair, frame, features)              # engine: detector, scorer,
                                                                     #   sizing (sizing)
    plan = planner.plan(state, [evaluation, ...])                    # planner: orchestration,
                                                                     #   risk guards
    # plan.entries -> executor configs; plan.skipped -> journal / logs; what happens next
    # (entry placed, filled, closed) reaches the observers as events (events)

Modules (import names from them; this package re-exports nothing):

- :mod:`~ml_signals.decision.sizing` - confidence -> size multiplier and grid spacing
  (:func:`~ml_signals.decision.sizing.size_entry`, the formulas and a worked example);
- :mod:`~ml_signals.decision.engine` - detector + scorer + sizing of one strategy
  (:class:`~ml_signals.decision.engine.StrategyEngine`, its
  :class:`~ml_signals.decision.engine.Evaluation`);
- :mod:`~ml_signals.decision.planner` - score skips, orchestration and risk guards of a round
  (:class:`~ml_signals.decision.planner.DecisionPlanner`), and which guard blocks cancel
  unfilled entries;
- :mod:`~ml_signals.decision.events` - what a runtime reports to its observers (entry placed,
  position filled, executor closed, feed status, notices) and the observer hooks.
"""
