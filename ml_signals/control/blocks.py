"""Block Kit layouts of the control layer's answers (the Slack presenter).

Each answer becomes ``{"text": <plain-text fallback>, "blocks": [...]}``, built with
slack-sdk's block models (which check Slack's limits when serialised). Slack's limits used here
(https://api.slack.com/reference/block-kit/blocks): at most 50 blocks per message, 150
characters in a header, 3000 in a section's text, 10 fields of 2000 per section; longer texts
are cut with an ellipsis, and the full answer stays in the journal.
"""

from __future__ import annotations

from typing import Any, Final

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from ml_signals.control.answers import (
    ActionAnswer,
    Answer,
    PerformanceAnswer,
    PositionsAnswer,
    StatusAnswer,
    pct,
)
from ml_signals.timeutil import format_utc

MAX_BLOCKS: Final[int] = 50
HEADER_CHARS: Final[int] = 150
SECTION_CHARS: Final[int] = 3000
FALLBACK_CHARS: Final[int] = 3000

_ICON = {"ok": "", "refused": ":no_entry: ", "rejected": ":warning: ", "error": ":x: "}


def message(answer: Answer) -> dict[str, Any]:
    """The Slack message of ``answer``: Block Kit blocks and a plain-text fallback."""
    if isinstance(answer, StatusAnswer):
        blocks = _status(answer)
    elif isinstance(answer, PerformanceAnswer):
        blocks = _performance(answer)
    elif isinstance(answer, PositionsAnswer):
        blocks = _positions(answer)
    else:
        blocks = _action(answer)
    if len(blocks) > MAX_BLOCKS:
        blocks = [*blocks[:MAX_BLOCKS - 1], _section("_… cut: more than Slack shows in one "
                                                     "message; the journal has the full answer_")]
    return {"text": _cut(answer.text(), FALLBACK_CHARS), "blocks": [b.to_dict() for b in blocks]}


def queued(typed: str) -> dict[str, Any]:
    """Ack for a command the strategy has not run within the ack time: it stays queued."""
    text = (f"{typed} is queued for the strategy's next tick; the answer will follow here. "
            "(No tick ran in time: is the strategy running?)")
    return {"text": text, "blocks": [_section(f":hourglass: {text}").to_dict()]}


def _header(text: str) -> HeaderBlock:
    return HeaderBlock(text=_cut(text, HEADER_CHARS))


def _section(text: str, fields: list[str] | None = None) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=_cut(text, SECTION_CHARS)),
                        fields=[MarkdownTextObject(text=_cut(f, 2000)) for f in fields[:10]]
                        if fields else None)


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=_cut(text, 2000))])


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _status(a: StatusAnswer) -> list[Block]:
    blocks: list[Block] = [_header(a.headline),
                           _context(f"{a.connector}, {a.interval} candles · {format_utc(a.now_s)}")]
    for s in a.strategies:
        age = "n/a" if s.model_age_s is None else f"{s.model_age_s / 86400:.1f} days"
        blocks.append(_section(f"*{s.strategy}*: {s.decision_rule}",
                               [f"*Model*\n{s.model_version}", f"*Age*\n{age}",
                                "*Cut*\n" + ("n/a" if s.threshold is None
                                              else f"{s.threshold:.2f}")]))
        setups = "\n".join(f"• {line.text()}" for line in s.last_setups) or "_no setup yet_"
        blocks.append(_section(f"*Last setups*\n{setups}"))
    blocks.append(DividerBlock())
    if a.blocks:
        lines = "\n".join(f"• *{b.guard}*: {b.reason}" for b in a.blocks)
        blocks.append(_section(f":octagonal_sign: *Blocking new entries*\n{lines}"))
    else:
        blocks.append(_section(":large_green_circle: No guard blocks new entries."))
    if a.equity_quote is not None:
        blocks.append(_context(f"Equity {a.equity_quote:.2f} · {a.open_positions} open"))
    return blocks


def _performance(a: PerformanceAnswer) -> list[Block]:
    blocks: list[Block] = [_header(_ICON.get(a.outcome, "") + a.headline),
                           _context(f"from {a.source} · {format_utc(a.now_s)}")]
    fields = []
    for p in a.periods:
        st = p.stats
        precision = "n/a" if st.ml_precision is None else f"{st.ml_precision:.2f}"
        fields.append(f"*{p.label}*\n{st.trades_count} trades, {st.wins} W / {st.losses} L\n"
                      f"net {st.net_pnl_quote:+.2f}\nML precision {precision}\n"
                      f"setups {st.setups_taken}/{st.setups_detected} taken")
    if fields:
        blocks.append(_section("*Closed trades, net of fees*", fields))
    else:
        blocks.append(_section("_No journal figures._"))
    return blocks


def _positions(a: PositionsAnswer) -> list[Block]:
    blocks: list[Block] = [_header(a.headline), _context(format_utc(a.now_s))]
    for p in a.positions:
        entry = ("resting, nothing filled" if p.filled_quote <= 0
                 else f"{p.entry_price_quote:.6g} ({p.filled_quote:.2f} filled)")
        tp = pct(p.take_profit_frac) + ("" if p.take_profit_price_quote is None
                                        else f" → {p.take_profit_price_quote:.6g}")
        sl = pct(p.stop_loss_frac) + ("" if p.stop_loss_price_quote is None
                                      else f" → {p.stop_loss_price_quote:.6g}")
        blocks.append(_section(
            f"*{p.pair}* {p.strategy} · `{p.executor_id}` · {p.status}",
            [f"*Entry*\n{entry}", f"*Take profit*\n{tp}", f"*Stop loss*\n{sl}",
             f"*Unrealised*\n{p.unrealised_pnl_quote:+.2f} ({pct(p.unrealised_pnl_frac)})"]))
    if not a.positions:
        blocks.append(_section("_No open executors._"))
    return blocks


def _action(a: ActionAnswer) -> list[Block]:
    blocks: list[Block] = [_header(_ICON.get(a.outcome, "") + a.headline)]
    if a.details:
        blocks.append(_section("\n".join(a.details)))
    for i, g in enumerate(a.guards):
        label = "before" if len(a.guards) == 2 and i == 0 else (
            "after" if len(a.guards) == 2 else "")
        blocks.append(_section(("*" + label + "* · " if label else "") + g.text()))
    return blocks
