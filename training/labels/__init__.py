"""Stage 2 of training: labels. Takes a pair's candles and features (:mod:`training.data`,
``ml_signals.features``); gives each detected setup its outcome under the executors' exit rules.

- :mod:`training.labels.dataset`: features per pair, the detectors' setups and their labels in
  one :class:`~training.labels.dataset.SetupDataset` per strategy;
- :mod:`training.labels.outcomes`: :func:`~training.labels.outcomes.label_setups`, the fee
  schedule and label settings;
- the exit kernel: :mod:`training.labels.executor_walk` (one position as Hummingbot's executors
  apply its barriers), :mod:`training.labels.hb_parity` (Hummingbot's backtesting simulators,
  for parity), :mod:`training.labels.batch` (many positions per compiled call, the best-exit
  grid) and :mod:`training.labels.jit` (compilation and its cache).
"""
