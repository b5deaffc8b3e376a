"""Stage 7 of training: reporting. Takes a training run, its backtests, an ``evaluate`` run or
a shadow-test journal (computed by :mod:`training.models`, :mod:`training.evaluation`,
:mod:`training.backtest`); gives the console tables, ``summary.json`` / ``summary.md`` and the
self-contained HTML pages. Nothing here computes a figure that decides anything.

- :mod:`training.reporting.formatting`: the one place numbers become text (text and HTML
  styles);
- :mod:`training.reporting.text`: the console / Markdown tables and summary files;
  :mod:`training.reporting.evidence`: evidence rows, gate verdicts and the evidence section;
- :mod:`training.reporting.html`: the training and backtest report
  (:mod:`training.reporting.plots` draws its figures); :mod:`training.reporting.evaluate`: the
  ``evaluate`` page; :mod:`training.reporting.render`: the Jinja2 templates and style sheets in
  ``templates/``, shipped as package data;
- :mod:`training.reporting.shadow`: the shadow-test comparison (``shadow-report``).
"""
