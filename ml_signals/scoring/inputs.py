"""The model's input row for one setup: the same function in training and in the live scripts.

Columns, in order: every feature of :data:`ml_signals.features.FEATURE_COLUMNS` at the setup's
candle, then the detector's ``context`` facts (sorted, prefixed ``setup_``), then the setup's
rules-only exits (``setup_take_profit_frac``, ``setup_stop_loss_frac``), then, for a model
trained with market-state inputs, :data:`ml_signals.market_features.MARKET_COLUMNS`. Training
stores this order in the artifact's manifest and the scorer refuses a setup whose columns
differ.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd

from ml_signals.features import FEATURE_COLUMNS
from ml_signals.market_features import MARKET_COLUMNS
from ml_signals.setups.base import Setup

type FeatureRow = Mapping[str, float] | pd.Series[float]
"""The feature row of one candle: a row of :func:`ml_signals.features.compute_features`'s frame
(``frame.iloc[i]``) or a dict keyed by feature name."""


def input_columns(setup: Setup, market: bool = False) -> tuple[str, ...]:
    """Ordered input column names for a setup of this detector (``market``: with the
    market-state columns appended, as ``training.models.compare.with_market`` appends them)."""
    context = tuple(f"setup_{k}" for k in sorted(setup.context))
    extra = MARKET_COLUMNS if market else ()
    return (*FEATURE_COLUMNS, *context, "setup_take_profit_frac", "setup_stop_loss_frac",
            *extra)


def input_row(setup: Setup, features: FeatureRow,
              market: bool = False) -> npt.NDArray[np.float64]:
    """Float64 vector in :func:`input_columns` order.

    Args:
        setup: the detection.
        features: the feature row of the setup's candle (:data:`FeatureRow`; with ``market``,
            holding the market columns too, as
            :func:`ml_signals.market_features.add_market_row` adds them).
        market: append the market-state columns.

    Raises:
        KeyError: a feature (or market) column is missing from ``features``.
    """
    values = [float(features[c]) for c in FEATURE_COLUMNS]
    values += [float(setup.context[k]) for k in sorted(setup.context)]
    values += [setup.exits.take_profit_frac, setup.exits.stop_loss_frac]
    if market:
        values += [float(features[c]) for c in MARKET_COLUMNS]
    return np.asarray(values, dtype="float64")
