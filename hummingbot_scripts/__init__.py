"""Hummingbot V2 scripts: copy this folder's ``ml_*.py`` into Hummingbot's ``scripts/`` package.

Each module defines exactly one ``StrategyV2Base`` subclass and one config class, as
Hummingbot's loader (``TradingCore.load_v2_class``) requires, and delegates to
``ml_signals.hummingbot``. Start one with ``start --v2 conf_ml_<name>.yml`` (configs in
``conf/scripts/``). Nothing here is imported by the scripts themselves: in the container they
live in the ``scripts`` package, in this repository in ``hummingbot_scripts``.
"""
