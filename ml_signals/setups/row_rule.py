"""Detectors whose rule reads the feature row of each candle only (DCA, swing).

Their rule is written once, :meth:`RowRuleDetector.row_condition`, over NumPy columns of feature
values, and evaluated two ways:

- :meth:`RowRuleDetector.signal_mask` on every row of a frame (what training and the backtest
  use; the batch definition), with the rising edge of :func:`~ml_signals.setups._rolling.
  rising_edge`;
- :meth:`RowRuleDetector.latest_fires` (which :meth:`SetupDetector.detect_latest` asks) on the
  newest row only (what a script asks at each closed candle): the same condition on the last
  two rows (the newest and, for the rising edge, the one before), read straight from the
  feature frame's values instead of through pandas Series per column.

A parity test holds the two equal on every candle of the real sample pairs.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from ml_signals.setups._rolling import rising_edge
from ml_signals.setups.base import SetupDetector

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class RowRuleDetector(SetupDetector):
    """A detector whose condition on a candle reads that candle's feature row only.

    Subclasses set :attr:`rule_columns`, implement :meth:`row_condition` and
    :meth:`build_setup`, and say whether the rule fires on its rising edge only
    (:meth:`rising_edge_only`, from their config).
    """

    rule_columns: ClassVar[tuple[str, ...]]
    """Feature columns :meth:`row_condition` reads."""
    _positions: tuple[pd.Index, list[int]] | None = None
    """The column index last read and the positions of :attr:`rule_columns` in it."""

    @abstractmethod
    def row_condition(self, values: Mapping[str, FloatArray]) -> BoolArray:
        """Per row, True where the rule's condition holds (before the rising edge).

        Args:
            values: per name of :attr:`rule_columns`, float64 values, one per row (NaN where
                unknown; a comparison with NaN is False, as pandas').

        Returns:
            bool array, same length as the columns.
        """

    @abstractmethod
    def rising_edge_only(self) -> bool:
        """True: the rule fires on the first row of each run of rows where the condition
        holds (one setup per episode); False: on every such row."""

    def signal_rows(self) -> int:
        """The newest row and, for the rising edge, the one before it."""
        return 2

    def signal_mask(self, candles: pd.DataFrame, features: pd.DataFrame) -> pd.Series:
        """True on rows where :meth:`row_condition` holds (on its rising edge with
        :meth:`rising_edge_only`); the batch definition."""
        values = {c: features[c].to_numpy(dtype=np.float64) for c in self.rule_columns}
        cond = pd.Series(self.row_condition(values), index=features.index)
        return rising_edge(cond) if self.rising_edge_only() else cond

    def latest_fires(self, candles: pd.DataFrame, features: pd.DataFrame) -> bool:
        """:meth:`signal_mask`'s value on the newest row of ``features``, from its last two
        rows only (``candles`` are not read); ``False`` on an empty frame.

        Raises:
            KeyError: a column of :attr:`rule_columns` is missing.
        """
        n = len(features)
        if n == 0:
            return False
        rows = min(n, 2)
        cond = self.row_condition(self._tail_values(features, rows))
        if not cond[-1]:
            return False
        return not (self.rising_edge_only() and rows == 2 and bool(cond[0]))

    def _tail_values(self, features: pd.DataFrame, rows: int) -> dict[str, FloatArray]:
        """The last ``rows`` values of each of :attr:`rule_columns`: from one float64 view of
        the whole frame (the feature frames are float64; a frame that is not converts column
        by column), the columns' positions kept while the frame's column index is the same
        object (pandas indexes are immutable; every incremental feature frame shares one)."""
        try:
            matrix = features.to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            return {c: features[c].to_numpy(dtype=np.float64)[-rows:] for c in self.rule_columns}
        columns = features.columns
        kept = self._positions
        if kept is None or kept[0] is not columns:
            names = columns.to_list()
            missing = [c for c in self.rule_columns if c not in names]
            if missing or not columns.is_unique:
                raise KeyError(f"{self.strategy}: feature column(s) {missing} missing or "
                               "repeated")
            kept = (columns, [names.index(c) for c in self.rule_columns])
            self._positions = kept
        tail = matrix[-rows:]
        return {c: tail[:, k] for c, k in zip(self.rule_columns, kept[1], strict=True)}
