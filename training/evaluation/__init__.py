"""Stage 4 of training: evaluation. Takes out-of-fold scores and labels (from
:mod:`training.models`) or published artifacts and new candles; gives the evidence, the choices
and the gate verdict (pure computation: printing and HTML are in :mod:`training.reporting`).

- :mod:`training.evaluation.metrics`: per-setup metrics (AUC, Brier, calibration, trade stats);
- :mod:`training.evaluation.evidence`: capital-weighted returns with week-block bootstrap
  intervals (:class:`~training.evaluation.evidence.SelectionEvidence`);
- :mod:`training.evaluation.decision`: the decision rule's share, the promotion gate and the
  family choice;
- :mod:`training.evaluation.exit_choice`, :mod:`training.evaluation.size_choice`,
  :mod:`training.evaluation.vol_exits`: model exits, rank sizes and volatility exits against
  the detector's, replayed by the label kernel;
- :mod:`training.evaluation.evaluate`: published artifacts on other candles;
  :mod:`training.evaluation.journal_compare`: journaled trades beside the backtest.
"""
