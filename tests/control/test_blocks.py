"""Block Kit layouts stay inside Slack's limits whatever the answer holds, and keep the full
plain text as the fallback; slack-sdk's block models check the limits when serialised."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from ml_signals.control.answers import ActionAnswer, PositionLine, PositionsAnswer
from ml_signals.control.blocks import HEADER_CHARS, MAX_BLOCKS, SECTION_CHARS, message


def position(i: int) -> PositionLine:
    return PositionLine(executor_id=f"ex-{i}", strategy="dca", pair="BTC-USD",
                        executor_type="dca_executor", status="RUNNING", filled_quote=100.0,
                        entry_price_quote=50_000.0 + i, take_profit_frac=0.1, stop_loss_frac=0.08,
                        take_profit_price_quote=55_000.0 + i, stop_loss_price_quote=46_000.0 + i,
                        unrealised_pnl_quote=-1.0, unrealised_pnl_frac=-0.01, opened_s=1e9 + i)


def test_a_long_answer_is_cut_to_fifty_blocks_with_a_note():
    answer = PositionsAnswer(now_s=1e9, positions=tuple(position(i) for i in range(80)))
    msg = message(answer)
    assert len(msg["blocks"]) == MAX_BLOCKS
    assert "cut" in msg["blocks"][-1]["text"]["text"]
    assert msg["blocks"][0]["text"]["text"] == "80 open executors, unrealised -80.00"
    assert all(Block.parse(b) is not None for b in msg["blocks"])
    assert msg["text"].startswith("80 open executors")


def test_long_texts_are_cut_to_slack_limits():
    answer = ActionAnswer("error", "x" * 400, details=("y" * 5000,))
    blocks = message(answer)["blocks"]
    assert len(blocks[0]["text"]["text"]) == HEADER_CHARS
    assert blocks[0]["text"]["text"].startswith(":x: ")
    assert len(blocks[1]["text"]["text"]) == SECTION_CHARS
    assert blocks[1]["text"]["text"].endswith("…")
