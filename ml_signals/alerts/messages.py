"""Slack messages built from alert events: pure functions, Block Kit plus a plain-text fallback.

Layouts follow the original plan, "Slack Integration / Notification Templates": trade opened
(coin, entry, confidence, stop and target with their %), trade closed (P&L in quote and %, exit
reason, duration ``Xh Ym``), big win / loss with ``<!channel>``, the 07:00 / 19:00 / weekly
reports and the data-health alert "@channel" (``<!channel>`` in Slack markup).

``text`` is what notifications, screen readers and the log transport show; ``blocks`` is the
rendered layout. Both carry the same facts, so either alone is complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ml_signals.alerts.config import SlackConfig
from ml_signals.alerts.events import (
    AlertEvent,
    CandlesStale,
    ChannelRole,
    DailySummary,
    GuardTripped,
    ModelLoaded,
    SystemNotice,
    TradeClosed,
    TradeOpened,
    quote_of,
)
from ml_signals.alerts.formatting import (
    escape_mrkdwn,
    fmt_duration,
    fmt_money,
    fmt_pct,
    fmt_price,
    fmt_time,
    humanize_close_type,
    truncate,
)
from ml_signals.timeutil import format_utc

CHANNEL_MENTION = "<!channel>"
HEADER_LIMIT = 150
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000

Block = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """One rendered alert.

    Attributes:
        key: the event's idempotency key (unique in the outbox).
        kind: event class name, e.g. ``"TradeClosed"``.
        role: channel role; the transport maps it to a channel or webhook.
        channel: channel name for ``role`` at render time.
        text: plain-text fallback (Slack mrkdwn, already escaped).
        blocks: Block Kit blocks.
        mention: True when the message notifies the whole channel.
    """

    key: str
    kind: str
    role: ChannelRole
    channel: str
    text: str
    blocks: tuple[Block, ...]
    mention: bool = False


def _header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": truncate(text, HEADER_LIMIT),
                                       "emoji": True}}


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_LIMIT)}}


def _fields(pairs: list[tuple[str, str]]) -> Block:
    # Slack renders at most 10 fields per section.
    return {"type": "section", "fields": [
        {"type": "mrkdwn", "text": truncate(f"*{label}*\n{value}", FIELD_LIMIT)}
        for label, value in pairs[:10]
    ]}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, 3000)}]}


def _message(event: AlertEvent, config: SlackConfig, title: str,
             facts: list[tuple[str, str]], context: str, mention_line: str | None = None,
             ) -> SlackMessage:
    # One layout for every event: optional mention line, header, fields, context.
    lines = [f"{label}: {value}" for label, value in facts]
    # The header block is plain_text; the fallback text is mrkdwn, so escape the title there.
    text_parts = ([mention_line] if mention_line else []) + [escape_mrkdwn(title), *lines]
    blocks: list[Block] = []
    if mention_line:
        blocks.append(_section(mention_line))
    blocks.append(_header(title))
    if facts:
        blocks.append(_fields(facts))
    if context:
        blocks.append(_context(context))
    return SlackMessage(
        key=event.idempotency_key,
        kind=type(event).__name__,
        role=event.role,
        channel=config.channels.for_role(event.role),
        text="\n".join(text_parts),
        blocks=tuple(blocks),
        mention=mention_line is not None,
    )


def _trade_opened(e: TradeOpened, config: SlackConfig) -> SlackMessage:
    quote = quote_of(e.pair)
    sl_sign = -1 if e.side == "buy" else 1
    confidence = "rules-only" if e.confidence is None else f"{e.confidence * 100:.0f}%"
    facts = [
        ("Coin", escape_mrkdwn(e.pair)),
        ("Strategy", escape_mrkdwn(e.strategy)),
        ("Entry", fmt_price(e.entry_price_quote, quote)),
        ("Size", fmt_money(e.amount_quote, quote)),
        ("Confidence", confidence),
        ("Stop", f"{fmt_price(e.stop_price_quote, quote)} ({fmt_pct(sl_sign * e.stop_loss_frac)})"),
        ("Target", f"{fmt_price(e.target_price_quote, quote)} "
                   f"({fmt_pct(-sl_sign * e.take_profit_frac)})"),
    ]
    side = "" if e.side == "buy" else " (short)"
    context = f"trade `{escape_mrkdwn(e.trade_id)}` · model {escape_mrkdwn(e.model_version)}"
    if e.setup_id:
        context += f" · setup `{escape_mrkdwn(e.setup_id)}`"
    context += f" · {format_utc(e.opened_s)}"
    return _message(e, config, f"💰 Trade Opened{side}", facts, context)


def _trade_closed(e: TradeClosed, config: SlackConfig) -> SlackMessage:
    quote = quote_of(e.pair)
    emoji = "✅" if e.pnl_quote > 0 else ("🔻" if e.pnl_quote < 0 else "➖")
    facts = [
        ("Coin", escape_mrkdwn(e.pair)),
        ("Strategy", escape_mrkdwn(e.strategy)),
        ("P&L", f"{fmt_money(e.pnl_quote, quote, signed=True)} ({fmt_pct(e.pnl_frac)})"),
        ("Reason", escape_mrkdwn(humanize_close_type(e.close_type))),
        ("Duration", fmt_duration(e.duration_s)),
        ("Entry → Exit", f"{fmt_price(e.entry_price_quote, quote)} → "
                         f"{fmt_price(e.exit_price_quote, quote)}"),
    ]
    mention = None
    if e.pnl_quote >= config.big_win_quote:
        mention = (f"{CHANNEL_MENTION} Big WIN! {escape_mrkdwn(e.pair)} "
                   f"{fmt_money(e.pnl_quote, quote, signed=True)}")
    elif -e.pnl_quote >= config.big_loss_quote:
        mention = (f"{CHANNEL_MENTION} Loss Alert: {escape_mrkdwn(e.pair)} "
                   f"{fmt_money(e.pnl_quote, quote)}")
    context = f"trade `{escape_mrkdwn(e.trade_id)}` · closed {format_utc(e.closed_s)}"
    return _message(e, config, f"{emoji} Trade Closed", facts, context, mention)


_REPORT_TITLES = {
    "morning": "🌅 Morning report — last 12 hours",
    "evening": "🌇 Evening report — the trading day",
    "weekly": "📅 Weekly report",
}


def _daily_summary(e: DailySummary, config: SlackConfig) -> SlackMessage:
    win_rate = f"{e.wins / e.trades_count * 100:.0f}%" if e.trades_count else "n/a"
    precision = "n/a" if e.ml_precision is None else f"{e.ml_precision * 100:.0f}%"
    facts = [
        ("Setups seen", str(e.setups_detected)),
        ("Setups taken", str(e.setups_taken)),
        ("Trades closed", str(e.trades_count)),
        ("Wins / Losses", f"{e.wins} / {e.losses}"),
        ("Win rate", win_rate),
        ("Net P&L", fmt_money(e.net_pnl_quote, e.quote_currency, signed=True)),
        ("ML precision", precision),
    ]
    context = f"{fmt_time(e.period_start_s)} → {fmt_time(e.period_end_s)}"
    return _message(e, config, _REPORT_TITLES[e.kind], facts, context)


def _model_loaded(e: ModelLoaded, config: SlackConfig) -> SlackMessage:
    who = f"{e.strategy} model" if e.strategy else "Model"
    if e.previous_version is None:
        title = f"🧠 {who} loaded: {e.model_version}"
    else:
        title = f"🧠 {who} changed: {e.previous_version} → {e.model_version}"
    facts = [("Version", escape_mrkdwn(e.model_version)),
             ("Artifact", f"`{escape_mrkdwn(e.artifact_path)}`")]
    if e.gate is not None:
        facts.append(("Gate", escape_mrkdwn(e.gate)))
    if e.previous_version is not None:
        facts.append(("Previous", escape_mrkdwn(e.previous_version)))
        facts.append(("Previous gate", escape_mrkdwn(e.previous_gate or "-")))
    return _message(e, config, title, facts, format_utc(e.occurred_s))


def _candles_stale(e: CandlesStale, config: SlackConfig) -> SlackMessage:
    facts = [
        ("Pair", escape_mrkdwn(e.pair)),
        ("Silent for", fmt_duration(e.silence_s)),
        ("Last data", format_utc(e.last_update_s)),
        ("Limit", fmt_duration(e.threshold_s)),
    ]
    mention = f"{CHANNEL_MENTION} No candle data for {escape_mrkdwn(e.pair)}"
    return _message(e, config, f"⚠️ No candles for {e.pair}", facts, format_utc(e.occurred_s),
                    mention)


def _guard_tripped(e: GuardTripped, config: SlackConfig) -> SlackMessage:
    facts = [("Guard", escape_mrkdwn(e.guard)), ("Reason", escape_mrkdwn(e.reason))]
    if e.pair:
        facts.append(("Pair", escape_mrkdwn(e.pair)))
    if e.kill_switch:
        title = "🛑 Kill switch: all trading stopped"
        mention: str | None = f"{CHANNEL_MENTION} Kill switch tripped ({escape_mrkdwn(e.guard)})"
    else:
        title = f"⛔ Risk guard tripped: {e.guard}"
        mention = None
    return _message(e, config, title, facts, format_utc(e.occurred_s), mention)


_SEVERITY_EMOJI = {"info": "ℹ️", "warning": "⚠️", "critical": "🚨"}


def _system_notice(e: SystemNotice, config: SlackConfig) -> SlackMessage:
    title = f"{_SEVERITY_EMOJI[e.severity]} {e.title}"
    mention = f"{CHANNEL_MENTION} {escape_mrkdwn(e.title)}" if e.severity == "critical" else None
    detail = escape_mrkdwn(e.detail)
    text_parts = ([mention] if mention else []) + [escape_mrkdwn(title), detail]
    blocks: list[Block] = []
    if mention:
        blocks.append(_section(mention))
    blocks.append(_header(title))
    if detail.strip():
        # Hummingbot's notify() text is often a table: keep it monospaced.
        blocks.append(_section(f"```{truncate(detail, SECTION_LIMIT - 6)}```"))
    blocks.append(_context(format_utc(e.occurred_s)))
    return SlackMessage(
        key=e.idempotency_key, kind="SystemNotice", role=e.role,
        channel=config.channels.for_role(e.role), text="\n".join(p for p in text_parts if p),
        blocks=tuple(blocks), mention=mention is not None,
    )


def build_message(event: AlertEvent, config: SlackConfig) -> SlackMessage:
    """Render ``event`` for Slack under ``config`` (channels, big win / loss thresholds).

    Pure: the same event and config always give the same message.

    Raises:
        TypeError: for an object that is not an alert event.
    """
    match event:
        case TradeOpened():
            return _trade_opened(event, config)
        case TradeClosed():
            return _trade_closed(event, config)
        case DailySummary():
            return _daily_summary(event, config)
        case ModelLoaded():
            return _model_loaded(event, config)
        case CandlesStale():
            return _candles_stale(event, config)
        case GuardTripped():
            return _guard_tripped(event, config)
        case SystemNotice():
            return _system_notice(event, config)
    raise TypeError(f"not an alert event: {type(event).__name__}")
