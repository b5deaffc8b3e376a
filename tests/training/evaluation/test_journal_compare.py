"""``python -m training journal-compare`` on a real SQLite journal."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ml_signals.journal.records import TradeRecord
from ml_signals.journal.sqlite_backend import SQLiteJournalBackend
from training.cli.main import main
from training.evaluation.journal_compare import compare


@pytest.fixture()
def journal(tmp_path, sample_binance):
    """A journal with closed trades priced from real ETH candles (entry at an open, exit at the
    close 24 candles later) and one still open, which must be ignored."""
    frame = sample_binance["ETH-USDT"].frame
    backend = SQLiteJournalBackend(tmp_path / "journal.sqlite")
    rows, expected = [], []
    for k, i in enumerate(range(1000, 1600, 100)):
        entry, exit_ = float(frame["open"].iat[i]), float(frame["close"].iat[i + 23])
        amount_quote = 100.0
        fees = amount_quote * 0.0026 * (1 + exit_ / entry)
        pnl = amount_quote * (exit_ / entry - 1) - fees
        strategy = "dca" if k % 2 else "swing"
        rows.append(TradeRecord(
            trade_id=f"ex{k}", setup_id=None, strategy=strategy, pair="ETH-USDT", side="buy",
            entry_price_quote=entry, amount_base=amount_quote / entry, amount_quote=amount_quote,
            fees_quote=fees, opened_s=float(frame["timestamp"].iat[i]), exit_price_quote=exit_,
            pnl_quote=pnl, pnl_frac=pnl / amount_quote, close_type="TIME_LIMIT",
            closed_s=float(frame["timestamp"].iat[i + 24])))
        expected.append((strategy, pnl))
    rows.append(TradeRecord(trade_id="open1", setup_id=None, strategy="dca", pair="ETH-USDT",
                            side="buy", entry_price_quote=1.0, amount_base=1.0, amount_quote=1.0,
                            fees_quote=0.0, opened_s=float(frame["timestamp"].iat[2000])))
    backend.upsert_trade(*rows)
    backend.close()
    return tmp_path / "journal.sqlite", expected


def test_compare_counts_closed_trades_per_strategy(journal, tmp_path):
    from ml_signals.journal.config import JournalConfig
    from ml_signals.journal.readback import load_closed_trades

    path, expected = journal
    trades = load_closed_trades(JournalConfig(backend="sqlite", sqlite_path=path))
    table = compare(trades, tmp_path / "no-models")
    live = table[table["source"] == "journal"].set_index("strategy")
    for strategy in ("dca", "swing"):
        pnls = np.array([p for s, p in expected if s == strategy])
        assert live.loc[strategy, "trades"] == len(pnls)
        assert live.loc[strategy, "net_pnl_quote"] == pytest.approx(pnls.sum())
        assert live.loc[strategy, "win_rate"] == pytest.approx((pnls > 0).mean())


def test_cli_prints_table(journal, tmp_path, capsys):
    path, _ = journal
    models = tmp_path / "models" / "dca" / "v1"
    models.mkdir(parents=True)
    metrics = {"overall_out_of_fold": {"ml_approved": {"trades": 7, "win_rate": 0.5}},
               "quarantine": None}
    (models / "manifest.json").write_text(json.dumps({"metrics": metrics}))
    (tmp_path / "models" / "dca" / "current").write_text("v1\n")
    code = main(["journal-compare", "--sqlite", str(path), "--models", str(tmp_path / "models"),
                 "--env-file", str(tmp_path / "absent.env")])
    out = capsys.readouterr().out
    assert code == 0
    assert "backtest out-of-fold" in out and "journal" in out
