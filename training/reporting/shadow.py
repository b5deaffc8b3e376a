"""Champion vs shadows on the setups both scored, from a journal and the candles that followed.

``python -m training shadow-report --journal SQLITE --data DIR [--config YAML] [--json PATH]``

Inputs: the journal's ``strategy_setups``, ``ml_predictions`` and ``trades`` (a SQLite file
written by a script or a replay; shadow predictions carry ``model_version =
"shadow:<name>:<version>"``, :mod:`ml_signals.scoring.shadow`), and a candle folder covering the
journal's period.

Each setup gets one outcome, the net return after fees as a fraction of the quote committed:

- ``journal``: the champion traded it and the trade closed: the trade's ``pnl_frac``;
- ``replay``: otherwise (skipped by the champion or a guard, or still open): the setup's exits
  replayed on the candles that followed with
  :func:`training.labels.outcomes.label_setups`, the kernel
  the training labels come from (Hummingbot's executor rules, Kraken fees by default). The setup
  is found again by running the script's detector (``--config``: the script YAML the journal
  was written with; default detector settings without it) on the candles; a setup the detector
  does not find again, or whose replay is still open at the end of the data, has no outcome.

For every strategy and shadow: the setups both the champion and the shadow scored, how many each
took, how many both took, how often they agreed, and for each side the taken setups with an
outcome: count, mean net return, win rate (net return > 0) and the sum of net returns (the
return of one equal unit of quote per taken setup). Shadows only select: sizes and exits are
not compared.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ml_signals.journal.records import PredictionRecord, SetupRecord, TradeRecord
from ml_signals.journal.sqlite_backend import SQLiteJournalBackend
from ml_signals.setups import DetectorConfig, make_detector
from training.data import CandleSet
from training.labels.dataset import compute_pair_features
from training.labels.outcomes import FeeSchedule, label_setups
from training.reporting.formatting import share_pct, signed_pct

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JournalRows:
    """What the report reads from a journal."""

    setups: list[SetupRecord]
    predictions: list[PredictionRecord]
    trades: list[TradeRecord]


def read_journal(path: Path) -> JournalRows:
    """Setups, predictions and trades of a SQLite journal.

    Raises:
        FileNotFoundError: no such file.
    """
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: journal file not found")
    backend = SQLiteJournalBackend(Path(path), create_schema=False)
    try:
        return JournalRows(
            [SetupRecord.from_row(r) for r in backend.fetch_rows(SetupRecord.TABLE, "setup_id")],
            [PredictionRecord.from_row(r)
             for r in backend.fetch_rows(PredictionRecord.TABLE, "prediction_id")],
            [TradeRecord.from_row(r) for r in backend.fetch_rows(TradeRecord.TABLE, "trade_id")])
    finally:
        backend.close()


@dataclass(frozen=True, slots=True)
class SideStats:
    """One side's taken setups that have an outcome.

    Attributes:
        taken: setups it took (with or without an outcome).
        with_outcome: of those, setups with an outcome.
        mean_return_frac, win_rate, sum_return_frac: over ``with_outcome`` (NaN when 0).
    """

    taken: int
    with_outcome: int
    mean_return_frac: float
    win_rate: float
    sum_return_frac: float


@dataclass(frozen=True, slots=True)
class ShadowComparison:
    """Champion vs one shadow of one strategy on the setups both scored.

    Attributes:
        strategy, shadow: which.
        shadow_versions: model versions the shadow scored with.
        both_scored: setups with a champion and a shadow prediction.
        both_taken, agree: setups both took; setups where their take decisions agree.
        champion, challenger: :class:`SideStats` of each side.
        outcomes: setups with an outcome by source (``journal``, ``replay``) and ``none``.
    """

    strategy: str
    shadow: str
    shadow_versions: tuple[str, ...]
    both_scored: int
    both_taken: int
    agree: int
    champion: SideStats
    challenger: SideStats
    outcomes: dict[str, int]


def side_stats(taken_ids: Sequence[str], outcomes: Mapping[str, float]) -> SideStats:
    """:class:`SideStats` of the setups ``taken_ids`` under ``outcomes`` (setup id -> net
    return fraction; missing = no outcome)."""
    returns = np.array([outcomes[s] for s in taken_ids if s in outcomes], dtype="float64")
    if returns.size == 0:
        return SideStats(len(taken_ids), 0, float("nan"), float("nan"), float("nan"))
    return SideStats(len(taken_ids), int(returns.size), float(returns.mean()),
                     float((returns > 0).mean()), float(returns.sum()))


def replay_outcomes(setups: Sequence[SetupRecord], candle_sets: Mapping[str, CandleSet],
                    btc_pair: str, detectors: Mapping[str, DetectorConfig | None],
                    fees: FeeSchedule) -> dict[str, float]:
    """Net return of each journaled setup replayed on the candles (module docstring); setups
    not found again or still open at the data's end are left out (logged)."""
    wanted: dict[tuple[str, str], set[str]] = defaultdict(set)
    for s in setups:
        if s.pair in candle_sets:
            wanted[(s.strategy, s.pair)].add(s.setup_id)
    if not wanted:
        return {}
    features = compute_pair_features(candle_sets, btc_pair)
    out: dict[str, float] = {}
    for (strategy, pair), ids in sorted(wanted.items()):
        pf = features[pair]
        frame = pf.candles.frame
        detector = make_detector(strategy, detectors.get(strategy), pf.candles.interval_s)  # type: ignore[arg-type]
        found = [s for s in detector.detect(pair, frame, pf.features) if s.setup_id in ids]
        if len(found) < len(ids):
            log.warning("%s %s: %d journaled setup(s) not found again by the detector on %s",
                        strategy, pair, len(ids) - len(found), pair)
        if not found:
            continue
        labels = label_setups(found, frame, pf.candles.interval_s, fees)
        for sid, ret in zip(labels["setup_id"], labels["net_return_frac"], strict=True):
            if np.isfinite(ret):
                out[str(sid)] = float(ret)
    return out


def compare(rows: JournalRows, replayed: Mapping[str, float]) -> list[ShadowComparison]:
    """Every (strategy, shadow) comparison; outcomes: closed journal trades first, then
    ``replayed``."""
    journal_out = {t.setup_id: float(t.pnl_frac) for t in rows.trades
                   if t.setup_id and t.is_closed and t.pnl_frac is not None}
    strategy_of = {s.setup_id: s.strategy for s in rows.setups}
    champion: dict[str, PredictionRecord] = {}
    shadows: dict[tuple[str, str], dict[str, PredictionRecord]] = defaultdict(dict)
    for p in rows.predictions:
        if p.role == "champion":
            champion[p.setup_id] = p
        else:
            shadows[(strategy_of.get(p.setup_id, "?"), p.shadow_name or "?")][p.setup_id] = p
    result = []
    for (strategy, name), preds in sorted(shadows.items()):
        ids = sorted(s for s in preds if s in champion)
        outcomes = {s: journal_out[s] if s in journal_out else replayed[s]
                    for s in ids if s in journal_out or s in replayed}
        champ_taken = [s for s in ids if champion[s].take]
        shadow_taken = [s for s in ids if preds[s].take]
        result.append(ShadowComparison(
            strategy=strategy, shadow=name,
            shadow_versions=tuple(sorted({preds[s].model_version for s in ids})),
            both_scored=len(ids), both_taken=len(set(champ_taken) & set(shadow_taken)),
            agree=sum(champion[s].take == preds[s].take for s in ids),
            champion=side_stats(champ_taken, outcomes),
            challenger=side_stats(shadow_taken, outcomes),
            outcomes={"journal": sum(s in journal_out for s in ids),
                      "replay": sum(s not in journal_out and s in replayed for s in ids),
                      "none": sum(s not in outcomes for s in ids)}))
    return result


def render(comparisons: Sequence[ShadowComparison]) -> str:
    """A plain-text table, one row per side."""
    head = (f"{'strategy':9} {'shadow':13} {'side':12} {'scored':>6} {'taken':>5} "
            f"{'w/ outc.':>8} {'mean ret':>9} {'win rate':>8} {'sum ret':>9} {'agree':>6}")
    lines = [head, "-" * len(head)]
    for c in comparisons:
        for side, st in (("champion", c.champion), (c.shadow, c.challenger)):
            lines.append(
                f"{c.strategy:9} {c.shadow:13} {side[:12]:12} {c.both_scored:6d} {st.taken:5d} "
                f"{st.with_outcome:8d} {signed_pct(st.mean_return_frac):>9} "
                f"{share_pct(st.win_rate):>8} {signed_pct(st.sum_return_frac):>9} "
                f"{c.agree:6d}")
        lines.append(f"  outcomes: {c.outcomes['journal']} from closed trades, "
                     f"{c.outcomes['replay']} replayed, {c.outcomes['none']} without; "
                     f"both took {c.both_taken}; shadow versions {', '.join(c.shadow_versions)}")
    return "\n".join(lines)


def to_json(comparisons: Sequence[ShadowComparison]) -> list[dict[str, Any]]:
    """JSON-ready list (NaN -> ``None``)."""
    def clean(v: Any) -> Any:
        if isinstance(v, float) and not np.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        return v
    return [clean(asdict(c)) for c in comparisons]
