"""The one formatting module of the training reports: text style (console, summary.md) and
display style (HTML), on the conventions each report has printed."""

from __future__ import annotations

import math

from training.reporting.formatting import (
    fmt_drawdown,
    fmt_quote,
    fmt_signed_pct,
    interval,
    metric,
    num,
    share_pct,
    signed_pct,
    text_table,
)


def test_text_percentages_always_carry_a_sign_and_missing_is_a_hyphen() -> None:
    assert signed_pct(0.01234) == "+1.23%"
    assert signed_pct(-0.5) == "-50.00%"
    assert signed_pct(0.0) == "+0.00%"
    assert signed_pct(None) == "-" and signed_pct(math.nan) == "-" and signed_pct(math.inf) == "-"
    assert share_pct(0.5648) == "56.5%"


def test_display_percentages_drop_the_sign_of_zero_and_use_an_en_dash() -> None:
    assert fmt_signed_pct(0.0) == "0.00%" and fmt_signed_pct(None) == "–"
    assert fmt_drawdown(0.0513) == "-5.13%" and fmt_drawdown(-0.0513) == "-5.13%"
    assert fmt_quote(1234.567) == "+1,234.57" and fmt_quote(0.001) == "0.00"


def test_intervals_follow_their_value() -> None:
    assert interval((-0.02, 0.0221), True) == " [-2.00%, +2.21%]"
    assert interval((0.4521, 0.538), False) == " [0.452, 0.538]"
    assert interval(None, True) == "" and interval((), False) == ""
    assert num(0.5371) + interval((0.452, 0.538), False) == "0.537 [0.452, 0.538]"


def test_metric_cells_show_an_unbounded_profit_factor_as_inf() -> None:
    assert metric(math.inf, digits=2) == "inf"
    assert metric(None) == "-" and metric(math.nan, pct=True) == "-"
    assert metric(1.3593, digits=2) == "1.36" and metric(-0.0123, pct=True) == "-1.23%"


def test_text_table_right_aligns_columns_under_a_rule() -> None:
    table = text_table(("a", "long"), [["1", "2"], ["333", "-"]])
    assert table.splitlines() == ["  a  long", "---  ----", "  1     2", "333     -"]
