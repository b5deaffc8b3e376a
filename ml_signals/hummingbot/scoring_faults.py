"""Run-time scoring faults: caught per pair, alerted once per episode, a strategy halted after N.

A strategy's engine (:meth:`ml_signals.decision.engine.StrategyEngine.evaluate`: detector, scorer,
sizing) may raise at run time although its model loaded, e.g. a booster whose inputs differ from its
manifest's columns makes XGBoost raise on every setup. :class:`ScoringFaults` wraps each call:

- a failure skips that pair's setup for that strategy only (other pairs and strategies go on);
- the first failure of an *episode* (failures with no successful evaluation in between) is
  logged with its traceback and sent as one system alert; later ones are logged on one line;
- after ``max_failures`` failures in a row the strategy is halted: no new entry until the bot
  is restarted (an operator looks at the model first), with a critical system alert. Its
  setups are still evaluated and, when they evaluate, journaled as skipped with that reason.

Only an evaluation that returned a setup ends an episode: a candle without a setup never calls
the model, so it says nothing about whether the model works.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable
from typing import Final

import pandas as pd

from ml_signals.decision.engine import Evaluation, StrategyEngine
from ml_signals.decision.events import RuntimeNotice
from ml_signals.risk import GuardResult

log = logging.getLogger(__name__)

DEFAULT_MAX_SCORING_FAILURES: Final = 3
"""Setups in a row that fail to evaluate before a strategy halts. Setups are rare (a few a week
per pair), so three in a row is already days of a broken model; one or two failures in a row
(e.g. a feed glitch) only skip those setups."""

HALT_GUARD: Final = "scoring_failures"
"""Guard name of a strategy halted by this module (status, journal skip reason)."""

_MAX_DETAIL_CHARS = 300


class ScoringFaults:
    """Counts consecutive evaluation failures per strategy and halts a strategy after N.

    Args:
        max_failures: failures in a row that halt a strategy (>= 1).
        notify: called with each :class:`~ml_signals.decision.events.RuntimeNotice` to send (the
            runtime passes it to its observers; the alerts observer posts it to
            ``#system-alerts``).

    Raises:
        ValueError: ``max_failures`` < 1.
    """

    def __init__(self, max_failures: int,
                 notify: Callable[[RuntimeNotice], None]) -> None:
        if max_failures < 1:
            raise ValueError(f"max_failures must be >= 1, got {max_failures}")
        self.max_failures = max_failures
        self._notify = notify
        self._failures: dict[str, int] = {}
        self._halts: dict[str, GuardResult] = {}

    def evaluate(self, engine: StrategyEngine, pair: str, frame: pd.DataFrame,
                 features: pd.DataFrame, now_s: float) -> Evaluation | None:
        """``engine.evaluate(pair, frame, features)``; ``None`` when it has no setup or fails
        (the failure is counted, logged and alerted as the module docstring says)."""
        strategy = engine.strategy
        try:
            evaluation = engine.evaluate(pair, frame, features)
        except Exception as exc:  # noqa: BLE001 - counted, logged and alerted below
            self._failed(strategy, pair, exc, now_s)
            return None
        if evaluation is not None:
            self._succeeded(strategy)
        return evaluation

    def failures(self, strategy: str) -> int:
        """Current run of failures of ``strategy`` (0 after a successful evaluation)."""
        return self._failures.get(strategy, 0)

    def halted(self, strategy: str) -> GuardResult | None:
        """Why ``strategy`` takes no new entry, or ``None``."""
        return self._halts.get(strategy)

    def halts(self) -> list[GuardResult]:
        """Every halt, for status displays."""
        return list(self._halts.values())

    def apply(self, evaluations: Iterable[Evaluation]) -> list[Evaluation]:
        """``evaluations`` with those of halted strategies turned into skips (kept for the
        journal with the halt as the reason)."""
        out = []
        for evaluation in evaluations:
            halt = self._halts.get(evaluation.setup.strategy)
            if halt is not None and evaluation.skip is None:
                evaluation = dataclasses.replace(evaluation, sized=None, skip=halt)
            out.append(evaluation)
        return out

    def _succeeded(self, strategy: str) -> None:
        failed = self._failures.pop(strategy, 0)
        if failed:
            log.warning("%s: setups evaluate again after %d failure(s) in a row", strategy,
                        failed)

    def _failed(self, strategy: str, pair: str, exc: Exception, now_s: float) -> None:
        count = self._failures.get(strategy, 0) + 1
        self._failures[strategy] = count
        detail = _one_line(exc)
        if count == 1:
            log.exception("%s: %s setup could not be evaluated; skipped", strategy, pair)
            self._notify(RuntimeNotice(
                title=f"{strategy}: scoring failed on {pair}",
                detail=(f"{detail}. The setup was skipped; {self.max_failures} failures in a "
                        f"row halt new {strategy} entries."),
                occurred_s=now_s, key=f"scoring-error:{strategy}:{int(now_s)}",
                severity="warning"))
        else:
            log.warning("%s: %s setup could not be evaluated (%d in a row): %s", strategy, pair,
                        count, detail)
        if count >= self.max_failures and strategy not in self._halts:
            reason = (f"{strategy}: {count} setups in a row could not be scored (last on "
                      f"{pair}: {detail}); restart after fixing the model")
            self._halts[strategy] = GuardResult(HALT_GUARD, reason)
            log.error("%s: new entries halted: %s", strategy, reason)
            self._notify(RuntimeNotice(
                title=f"{strategy}: new entries halted", detail=reason, occurred_s=now_s,
                key=f"scoring-halt:{strategy}:{int(now_s)}", severity="critical"))


def _one_line(exc: BaseException) -> str:
    """``Type: first line of the message``, at most 300 characters (XGBoost errors span many
    lines with a C++ stack)."""
    text = str(exc).strip().splitlines()
    first = f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
    return first if len(first) <= _MAX_DETAIL_CHARS else first[:_MAX_DETAIL_CHARS - 3] + "..."
