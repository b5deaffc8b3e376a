"""Embedded scoring library for the Hummingbot ML strategies.

Everything here is free of Hummingbot imports except ``ml_signals.hummingbot``, the one adapter
module that turns a :class:`~ml_signals.scoring.score.Score` into executor configs. Training and
the live scripts call the same functions: candles -> features -> setups -> score.
"""
