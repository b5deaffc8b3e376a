"""Replay Hummingbot V2 scripts, unmodified, inside Hummingbot's backtest clock on real candles.

Public API: :class:`~training.replay.runner.ReplaySpec` and
:func:`~training.replay.runner.run_replay` (-> :class:`~training.replay.results.ReplayResult`);
CLI ``python -m training.replay``. How a candle becomes order-book states: :mod:`.path`; the
paper exchange: :mod:`.exchange`; the candles feed: :mod:`.feed`; the virtual-time event loop:
:mod:`.vloop`. Importing this package does not import Hummingbot; the modules do.
"""
