"""The candidates of one portfolio run, merged across strategies into flat arrays."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from training.backtest.candidates import Candidates

_LEVEL_FIELDS = {"level_s": np.inf, "level_base": np.nan, "level_cost": np.nan,
                 "level_fee": np.nan}


@dataclass(frozen=True, slots=True)
class Book:
    """Candidates of every strategy of a run in decision-time order.

    Attributes:
        strategy: ``object`` array of strategy names; every other attribute as in
            :class:`~training.backtest.candidates.Candidates` (level arrays padded to the
            widest grid).
    """

    strategy: npt.NDArray[np.object_]
    setup_id: npt.NDArray[np.object_]
    pair: npt.NDArray[np.object_]
    row: npt.NDArray[np.int64]
    fold: npt.NDArray[np.int64]
    decision_s: npt.NDArray[np.int64]
    take: npt.NDArray[np.bool_]
    confidence: npt.NDArray[np.float64]
    size_multiplier: npt.NDArray[np.float64]
    committed_quote: npt.NDArray[np.float64]
    reason: npt.NDArray[np.int64]
    exit_s: npt.NDArray[np.float64]
    exit_price: npt.NDArray[np.float64]
    exit_fee_quote: npt.NDArray[np.float64]
    filled_base: npt.NDArray[np.float64]
    filled_quote: npt.NDArray[np.float64]
    entry_fee_quote: npt.NDArray[np.float64]
    slippage_quote: npt.NDArray[np.float64]
    level_s: npt.NDArray[np.float64]
    level_base: npt.NDArray[np.float64]
    level_cost: npt.NDArray[np.float64]
    level_fee: npt.NDArray[np.float64]
    model_version: npt.NDArray[np.object_]

    def __len__(self) -> int:
        return int(self.row.shape[0])

    @classmethod
    def merge(cls, parts: Sequence[tuple[Candidates, npt.NDArray[np.bool_]]]) -> Book:
        """Rows ``mask`` of each :class:`Candidates`, merged and sorted by decision time
        (then strategy name and setup id, so runs are deterministic)."""
        names = [f.name for f in fields(Candidates) if f.name not in ("strategy", "mode")]
        width = max([c.level_s.shape[1] for c, _ in parts] + [1])
        cols: dict[str, list[npt.NDArray[np.generic]]] = {n: [] for n in names}
        strategy: list[npt.NDArray[np.object_]] = []
        for cand, mask in parts:
            sel = np.flatnonzero(mask)
            strategy.append(np.full(sel.size, cand.strategy, dtype=object))
            for name in names:
                values = getattr(cand, name)[sel]
                if name in _LEVEL_FIELDS and values.shape[1] < width:
                    pad = np.full((sel.size, width - values.shape[1]), _LEVEL_FIELDS[name])
                    values = np.hstack([values, pad])
                cols[name].append(values)
        if not parts:
            raise ValueError("a portfolio run needs at least one strategy")
        merged = {n: np.concatenate(v) for n, v in cols.items()}
        strat = np.concatenate(strategy)
        order = np.lexsort((merged["setup_id"].astype(str), strat.astype(str),
                            merged["decision_s"]))
        return cls(strategy=strat[order], **{n: v[order] for n, v in merged.items()})
