"""Hot model reload and model expiry for a running script (no Hummingbot import).

Training writes every version under ``models/<strategy>/<version>/`` and moves the pointer file
``models/<strategy>/current`` (an atomic rename, :func:`ml_signals.scoring.artifact.publish`)
only when a version passes the promotion gate. :class:`ModelWatcher` lets a running script pick
up a new ``current`` without a restart:

- **When**: once per newly closed candle (the runtime calls :meth:`ModelWatcher.reload` before
  the candle's decisions), never on every tick: one ``stat`` of each strategy's pointer file.
  A control command calls
  :meth:`~ml_signals.hummingbot.strategy_runtime.StrategyRuntime.reload_models` to check now.
- **What changes**: when the pointer's ``(inode, size, mtime_ns)`` differs from the last look
  and it names another version, the artifact is loaded and verified
  (:meth:`~ml_signals.scoring.scorer.Scorer.load`: every file hashed, calibration, rule and
  model inputs checked) with the running scorer's configuration, then swapped into the
  strategy's engine (``engine.scorer = new``). Decisions run on the strategy's tick thread and
  the swap happens there between decisions, so a decision in progress finishes with the old
  scorer and the next one uses the new. Loading costs one hash pass over the artifact and four
  XGBoost loads (tens of milliseconds), once per change.
- **Refusal**: a new artifact that fails verification (hash mismatch, malformed JSON, a pointer
  to a missing folder) is refused: the old scorer stays in use and a :class:`ModelRefused` event
  goes to the observers (a ``#system-alerts`` message). The same pointer is not retried every
  candle; a new pointer write, or :meth:`ModelWatcher.reload` with ``force=True``, retries. A
  pointer that disappears keeps the running model (also reported as refused).
- **Expiry**: with ``max_model_age_s`` set, a model whose ``created_at_s`` (manifest) is older
  than that is expired once (:class:`ModelExpired`, an alert) and the strategy then follows
  ``age_action``: ``"skip"`` (every setup is still scored and journaled but never taken,
  :class:`ExpiredScorer`) or ``"rules_only"`` (every setup taken at the detector's size and
  exits). A newer model published later replaces it and ends the expiry.

Events (:data:`ModelEvent`) reach observers through the ``model_event`` hook of
:class:`~ml_signals.decision.events.RuntimeObserver`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from ml_signals.hummingbot.model_policy import TradingFees, check_fees
from ml_signals.scoring.artifact import (
    CURRENT,
    ArtifactError,
    current_version_dir,
    pointer_stamp,
)
from ml_signals.scoring.inputs import FeatureRow
from ml_signals.scoring.score import Score
from ml_signals.scoring.scorer import Scorer
from ml_signals.scoring.shadow import ShadowBook
from ml_signals.setups.base import Setup

if TYPE_CHECKING:
    from ml_signals.decision.engine import Evaluation, StrategyEngine

log = logging.getLogger(__name__)

ModelAgeAction = Literal["skip", "rules_only"]
DEFAULT_MAX_MODEL_AGE_S = 14 * 86400
"""Default ``max_model_age`` (14 days): twice the weekly retrain cadence of the original plan
("Retrain models weekly with new data"), so one missed or failed retrain is tolerated and two
in a row stop the stale model. Markets drift in weeks (the walk-forward's newest 30 days are
quarantined for that reason); a model a month old has seen none of the last month."""


@dataclass(frozen=True, slots=True)
class ModelChange:
    """A strategy switched to another model.

    Attributes:
        strategy: the strategy name.
        previous_version, version: artifact versions (``"rules-only"`` when none).
        previous_gate, gate: promotion gate verdicts (``manifest["gate"]["verdict"]``:
            ``"pass"`` / ``"fail"``), ``None`` when unknown or rules-only.
        artifact_path: folder the new version was loaded from.
        occurred_s: when the switch happened (s, UTC).
    """

    strategy: str
    previous_version: str
    version: str
    previous_gate: str | None
    gate: str | None
    artifact_path: str
    occurred_s: float


@dataclass(frozen=True, slots=True)
class ModelRefused:
    """A new ``current`` could not be used; the strategy keeps ``kept_version``.

    Attributes:
        strategy: the strategy name.
        pointer_version: what ``current`` names (``""`` when the pointer is gone).
        kept_version: the version still scoring.
        reason: the verification error (names file and field).
        occurred_s: when it was refused (s, UTC).
    """

    strategy: str
    pointer_version: str
    kept_version: str
    reason: str
    occurred_s: float


@dataclass(frozen=True, slots=True)
class ModelExpired:
    """A strategy's model is older than ``max_model_age``.

    Attributes:
        strategy, version: the expired model.
        age_s: its age (now minus the manifest's ``created_at_s``), seconds.
        max_age_s: the configured limit, seconds.
        action: what the strategy does from now on (``"skip"`` or ``"rules_only"``).
        occurred_s: when it was noticed (s, UTC).
    """

    strategy: str
    version: str
    age_s: float
    max_age_s: float
    action: ModelAgeAction
    occurred_s: float


ModelEvent = ModelChange | ModelRefused | ModelExpired
"""What :class:`ModelWatcher` reports to the runtime's observers."""


def gate_verdict(scorer: Scorer) -> str | None:
    """The promotion gate's verdict stored in ``scorer``'s manifest, ``None`` if absent."""
    gate = scorer.manifest.get("gate")
    verdict = gate.get("verdict") if isinstance(gate, dict) else None
    return str(verdict) if verdict is not None else None


class ExpiredScorer(Scorer):
    """The scorer of an expired model under ``age_action: skip``: scores as the model does
    (so predictions stay journaled with the model's version) but never takes a setup.

    Args:
        inner: the expired model's scorer.
        age_s, max_age_s: shown in every score's ``rule`` (and so in the skip reason).
    """

    def __init__(self, inner: Scorer, age_s: float, max_age_s: float) -> None:
        super().__init__(inner.strategy, inner.config, manifest=inner.manifest)
        self.inner = inner
        self.age_s = age_s
        self.max_age_s = max_age_s

    @property
    def rules_only(self) -> bool:
        """False: the expired model still scores."""
        return False

    @property
    def rule_text(self) -> str:
        """One line: why nothing is taken."""
        return (f"model {self.model_version} expired ({self.age_s / 86400:.1f} days old, max "
                f"{self.max_age_s / 86400:.1f}): no new entries")

    def score(self, setup: Setup, features: FeatureRow,
              candles: pd.DataFrame | None = None) -> Score:
        """The inner model's score with ``take`` False (``candles`` as :meth:`Scorer.score`).

        Raises:
            ArtifactError, KeyError: as :meth:`Scorer.score`.
        """
        return replace(self.inner.score(setup, features, candles), take=False,
                       rule=self.rule_text)


def _pointer_text(pointer: Path) -> str:
    try:
        return pointer.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


class ModelWatcher:
    """Watches ``<models_dir>/<strategy>/current`` of each engine (module docstring).

    Args:
        models_dir: the script's models folder.
        max_model_age_s: expire models older than this (seconds); ``None``: never.
        age_action: what an expired strategy does (``"skip"`` or ``"rules_only"``).
        fees: the fees the script trades at; a new model trained at others is refused, as at
            start (:func:`.model_policy.check_fees`); ``None`` skips the check.

    Raises:
        ValueError: ``max_model_age_s`` is not > 0.
    """

    def __init__(self, models_dir: Path | str, max_model_age_s: float | None = None,
                 age_action: ModelAgeAction = "skip", fees: TradingFees | None = None) -> None:
        if max_model_age_s is not None and not max_model_age_s > 0:
            raise ValueError(f"max_model_age_s must be > 0, got {max_model_age_s}")
        self.models_dir = Path(models_dir)
        self.max_model_age_s = max_model_age_s
        self.age_action: ModelAgeAction = age_action
        self.fees = fees
        self._stamps: dict[str, tuple[int, int, int] | None] = {}
        self._models: dict[str, Scorer] = {}  # the loaded model per strategy, expired or not
        self._expired: set[str] = set()
        self.checks = 0

    def reload(self, engines: Mapping[str, StrategyEngine], now_s: float,
               force: bool = False) -> list[ModelEvent]:
        """Check every strategy's pointer now; switch, refuse or expire as the module
        docstring says. ``force``: load even when the pointer looks unchanged (retries a
        refused artifact; a version already running is not reloaded). Never raises for a bad
        artifact: that is a :class:`ModelRefused` event."""
        self.checks += 1
        events: list[ModelEvent] = []
        for strategy, engine in engines.items():
            self._models.setdefault(strategy, engine.scorer)
            pointer = self.models_dir / strategy / CURRENT
            stamp = pointer_stamp(self.models_dir, strategy)
            first = strategy not in self._stamps
            if force or first or stamp != self._stamps[strategy]:
                self._stamps[strategy] = stamp
                event = self._load(strategy, engine, pointer, stamp, now_s, quiet=first)
                if event is not None:
                    events.append(event)
            expired = self._expire(strategy, engine, now_s)
            if expired is not None:
                events.append(expired)
        return events

    def _load(self, strategy: str, engine: StrategyEngine, pointer: Path,
              stamp: tuple[int, int, int] | None, now_s: float,
              quiet: bool) -> ModelEvent | None:
        old = self._models[strategy]
        if stamp is None:
            if old.rules_only or quiet:
                return None
            reason = f"{pointer} was removed; keeping {old.model_version}"
            log.warning("%s: %s", strategy, reason)
            return ModelRefused(strategy, "", old.model_version, reason, now_s)
        named = _pointer_text(pointer)
        if named == old.model_version:
            return None
        try:
            new = Scorer.load(self.models_dir, strategy, old.config)
            folder = current_version_dir(self.models_dir, strategy)
            if self.fees is not None and folder is not None:  # trained at the fees we trade at
                check_fees(folder, new.manifest, self.fees)
        except (ArtifactError, OSError) as exc:
            reason = str(exc)
            log.error("%s: model %s refused, keeping %s: %s", strategy, named or "?",
                      old.model_version, reason)
            return ModelRefused(strategy, named, old.model_version, reason, now_s)
        if new.model_version == old.model_version:
            return None
        self._models[strategy] = new
        self._expired.discard(strategy)
        engine.scorer = new
        log.warning("%s: model changed %s -> %s (gate %s -> %s)", strategy, old.model_version,
                    new.model_version, gate_verdict(old), gate_verdict(new))
        return ModelChange(strategy, old.model_version, new.model_version, gate_verdict(old),
                           gate_verdict(new), str(folder), now_s)

    def _expire(self, strategy: str, engine: StrategyEngine,
                now_s: float) -> ModelExpired | None:
        model = self._models[strategy]
        limit = self.max_model_age_s
        trained = model.trained_at_s
        if (limit is None or strategy in self._expired or model.rules_only or trained is None
                or now_s - trained <= limit):
            return None
        age = now_s - trained
        self._expired.add(strategy)
        engine.scorer = (ExpiredScorer(model, age, limit) if self.age_action == "skip"
                         else Scorer.rules_only_scorer(strategy, model.config))
        log.warning("%s: model %s is %.1f days old (max %.1f): %s", strategy,
                    model.model_version, age / 86400, limit / 86400,
                    "no new entries" if self.age_action == "skip" else "rules-only from now")
        return ModelExpired(strategy, model.model_version, age, limit, self.age_action, now_s)

    def status(self) -> dict[str, Any]:
        """Per strategy: the loaded version, whether it is expired; and the check count."""
        return {"checks": self.checks,
                "models": {s: {"version": m.model_version, "expired": s in self._expired}
                           for s, m in self._models.items()}}


Notify = Callable[..., None]
"""The runtime's observer call: ``notify(hook_name, *args)``."""


class ModelRefresh:
    """What a runtime owns for its models: the watcher, the shadows and the last few model
    notes (for ``format_status``). The runtime calls :meth:`start`, :meth:`on_candle` before
    each closed candle's decisions, :meth:`shadow` after each evaluation, and :meth:`reload`
    for a control command; everything runs on the strategy's tick thread.

    Args:
        watcher: hot reload and expiry; ``None``: models fixed at start.
        shadows: challenger and rule variants; ``None``: none.
    """

    NOTES_KEPT = 5

    def __init__(self, watcher: ModelWatcher | None = None,
                 shadows: ShadowBook | None = None) -> None:
        self.watcher = watcher
        self.shadows = shadows
        self.notes: list[str] = []
        self._checked_for: int | None = None

    def start(self, engines: Mapping[str, StrategyEngine]) -> None:
        """Load the challengers (the champions are loaded with the engines)."""
        self._refresh_shadows(engines)

    def on_candle(self, candle_ts_s: int, engines: Mapping[str, StrategyEngine], now_s: float,
                  notify: Notify) -> None:
        """Once per closed candle (``candle_ts_s``: its open time): :meth:`reload` without
        ``force``; later calls for the same candle do nothing."""
        if candle_ts_s != self._checked_for:
            self._checked_for = candle_ts_s
            self.reload(engines, now_s, notify, force=False)

    def reload(self, engines: Mapping[str, StrategyEngine], now_s: float, notify: Notify,
               force: bool = True) -> list[ModelEvent]:
        """Check models and challengers now; each event goes to ``notify("model_event", e)``
        and the notes. Returns the events."""
        events = [] if self.watcher is None else self.watcher.reload(engines, now_s, force)
        for event in events:
            self.notes.append(describe(event))
            notify("model_event", event)
        self._refresh_shadows(engines)
        return events

    def shadow(self, engine: StrategyEngine, evaluation: Evaluation,
               features: FeatureRow, now_s: float, notify: Notify,
               candles: pd.DataFrame | None = None) -> None:
        """Shadows score ``evaluation``'s setup (``features``: its candle's feature row;
        ``candles``: the pair's frame, for a sequence-family shadow); the scores go to
        ``notify("shadow_scored", evaluation, scores, now_s)``."""
        if self.shadows is None or not self.shadows.enabled:
            return
        scores = self.shadows.score(engine.scorer, evaluation.setup, features, candles)
        if scores:
            notify("shadow_scored", evaluation, scores, now_s)

    def _refresh_shadows(self, engines: Mapping[str, StrategyEngine]) -> None:
        if self.shadows is not None:
            self.notes.extend(self.shadows.refresh({s: e.scorer for s, e in engines.items()}))
        del self.notes[:-self.NOTES_KEPT]


def describe(event: ModelEvent) -> str:
    """One line for logs and status."""
    match event:
        case ModelChange():
            return (f"{event.strategy}: model changed {event.previous_version} -> "
                    f"{event.version} (gate {event.previous_gate or '-'} -> {event.gate or '-'})")
        case ModelRefused():
            return (f"{event.strategy}: model {event.pointer_version or '(none)'} refused, "
                    f"keeping {event.kept_version}: {event.reason}")
        case ModelExpired():
            then = "no new entries" if event.action == "skip" else "rules-only"
            return (f"{event.strategy}: model {event.version} expired "
                    f"({event.age_s / 86400:.1f} days old, max {event.max_age_s / 86400:.1f}):"
                    f" {then}")
    raise TypeError(f"not a model event: {type(event).__name__}")



_UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration_s(value: object) -> float | None:
    """A duration setting in seconds: a number of seconds (``1209600``), or a string of a
    number and a unit ``s``/``m``/``h``/``d``/``w`` (``"14d"``, ``"36h"``, ``"2w"``); ``None``,
    ``"off"`` or ``""``: no limit.

    Raises:
        ValueError: anything else, or a value <= 0 (the message names the value).
    """
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "off")):
        return None
    if isinstance(value, bool):
        raise ValueError(f"duration {value!r}: give seconds or e.g. '14d'")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        unit = text[-1] if text[-1] in _UNITS_S else "s"
        number = text[:-1] if text[-1] in _UNITS_S else text
        try:
            seconds = float(number) * _UNITS_S[unit]
        except ValueError:
            raise ValueError(f"duration {value!r}: give seconds or a number with s, m, h, d "
                             "or w, e.g. '14d'") from None
    else:
        raise ValueError(f"duration {value!r}: give seconds or e.g. '14d'")
    if not seconds > 0 or seconds != seconds or seconds == float("inf"):
        raise ValueError(f"duration {value!r} must be > 0 and finite")
    return seconds
