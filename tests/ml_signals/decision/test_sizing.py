"""Sizing (:mod:`ml_signals.decision.sizing`): the grid-spacing formula of its docstring.

How a sized entry becomes an executor config is tested in
``tests/hummingbot/test_executor_configs.py``.
"""

from __future__ import annotations

import pytest

from ml_signals.decision.sizing import spacing_scale


def test_spacing_scale_formula():
    # cut 0.6, widen 0.5: 1.5 at the cut, 1.25 half-way, 1.0 at strength 1
    assert spacing_scale(0.60, 0.60, 0.5) == pytest.approx(1.5)
    assert spacing_scale(0.80, 0.60, 0.5) == pytest.approx(1.25)
    assert spacing_scale(1.00, 0.60, 0.5) == pytest.approx(1.0)
    assert spacing_scale(None, 0.60, 0.5) == 1.0  # rules-only keeps the detector's grid
