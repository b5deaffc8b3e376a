"""A loopback server that answers like Kraken's public REST API and WebSocket API v1.

It serves what Hummingbot's own ``kraken`` connector (order book, trading rules, ticker: the
parts ``kraken_paper_trade`` uses) and the ``kraken`` candles feed
(``hummingbot/data_feed/candles_feed/kraken_spot_candles``) read, with the message shapes of
``hummingbot/connector/exchange/kraken/kraken_api_order_book_data_source.py``,
``kraken_exchange.py`` and ``kraken_spot_candles.py``:

* ``GET /0/public/Time``, ``/AssetPairs``, ``/Ticker``, ``/Depth``, ``/OHLC`` with Kraken's
  ``{"error": [], "result": {...}}`` envelope and its pair keys (``XXBTZUSD``, altname
  ``XBTUSD``, wsname ``XBT/USD``);
* ``ws://.../ws``: ``systemStatus`` on connect, ``subscriptionStatus`` per subscription, then
  ``book-1000`` (a snapshot with ``as``/``bs``, then updates with ``a`` or ``b``, a level of
  volume ``0`` removes it), ``trade`` and ``ohlc-60`` messages as lists ``[channelID, data,
  channelName, pair]``.

Market data are real candles replayed with time compressed: one candle every
``seconds_per_candle`` of wall time. Each candle is shown to the book as the path
open -> low -> high -> close (a long's stop loss before its take profit, as the replay does),
each point held ``seconds_per_candle / 4``; the book is ``levels`` bids and asks
``step_frac`` apart around the point, with a trade at the point. A candle is published on the
OHLC channel and in the REST history once its path is done: the feed's newest candle is always
a complete one (with compressed time the client's wall clock cannot tell a forming candle from
a closed one).

Timestamps are the real ones shifted by ``offset_s`` (a whole number of hours, so candles stay
on the hour grid): Hummingbot's Kraken candles feed refuses history more than 720 candles
before the wall clock, and a script keeps 705-718 candles, so the *anchor* candle (``anchor_bars``
into the replay: the setup candle) closes just before now, its history fits inside those 720
candles, and the replayed candles after it move the book past the wall clock.

Pair names, limits and book levels: :mod:`tests.servers.kraken_market`. Loopback only, random
port, one daemon thread with its own event loop; :meth:`stop` ends it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
import time
from collections.abc import Mapping

import pandas as pd
from aiohttp import WSMsgType, web

from tests.servers.kraken_market import Book, PairSpec, book_around, fmt

log = logging.getLogger(__name__)

__all__ = ["KrakenLikeServer", "PairSpec"]  # PairSpec: the pair settings callers pass in

HOUR_S = 3600


class KrakenLikeServer:
    """Replay real candles as a Kraken exchange on 127.0.0.1 (see the module docstring).

    Args:
        frames: Hummingbot pair -> canonical candle frame (``timestamp`` open time in s, 1h,
            ``open high low close volume``), all on the same timestamps.
        first_replay_ts: real open time (s) of the first candle to replay; the candles before
            it are history, already closed when the server starts.
        replay_bars: candles to replay; afterwards the book stays at the last close.
        seconds_per_candle: wall seconds per replayed candle.
        specs: per-pair names and limits (defaults: :class:`PairSpec` defaults).
        levels, step_frac, level_volume_base: book shape: ``levels`` per side, ``step_frac``
            of the price apart (0.0002 = 2 bps), each ``level_volume_base`` deep.
        now_s: wall clock at construction (default ``time.time()``); the offset puts the end of
            the replay before it.

    Raises:
        ValueError: unknown timestamp, too few candles, or frames not on one timeline.
    """

    def __init__(self, frames: Mapping[str, pd.DataFrame], first_replay_ts: int,
                 replay_bars: int, seconds_per_candle: float = 1.0,
                 specs: Mapping[str, PairSpec] | None = None, levels: int = 25,
                 step_frac: float = 0.0002, level_volume_base: float = 5.0,
                 now_s: float | None = None, anchor_bars: int | None = None) -> None:
        self.pairs = list(frames)
        self.specs = {p: (specs or {}).get(p, PairSpec(p)) for p in self.pairs}
        self._frames = {p: f.reset_index(drop=True) for p, f in frames.items()}
        first = self._frames[self.pairs[0]]
        hits = first.index[first["timestamp"] == first_replay_ts]
        if len(hits) == 0:
            raise ValueError(f"{self.pairs[0]}: no candle opens at {first_replay_ts}")
        self._start = int(hits[0])
        if self._start + replay_bars > len(first):
            raise ValueError(f"{self.pairs[0]}: only {len(first) - self._start} candles from "
                             f"{first_replay_ts}, {replay_bars} asked")
        for pair, frame in self._frames.items():
            if not frame["timestamp"].equals(first["timestamp"]):
                raise ValueError(f"{pair}: timestamps differ from {self.pairs[0]}'s")
        self.replay_bars = replay_bars
        self.seconds_per_candle = seconds_per_candle
        self.levels, self.step_frac, self.level_volume_base = levels, step_frac, level_volume_base
        now = time.time() if now_s is None else now_s
        # the anchor candle (default the last replayed one) closes an hour or so before now;
        # replayed candles after it carry times ahead of the wall clock: the scripts decide
        # only on closed candles, so they act on the anchor and the book keeps moving
        anchor = replay_bars - 1 if anchor_bars is None else anchor_bars
        if not 0 <= anchor < replay_bars:
            raise ValueError(f"anchor_bars {anchor} outside the {replay_bars} replayed candles")
        anchor_close = int(first["timestamp"].iat[self._start + anchor]) + HOUR_S
        self.offset_s = int((now - HOUR_S - anchor_close) // HOUR_S) * HOUR_S
        self.published = self._start  # candles [0, published) are closed and served
        self.replay_started = threading.Event()
        self.replay_done = threading.Event()
        self.requests: list[str] = []  # "GET /0/public/Depth XBTUSD", "WS subscribe book XBT/USD"
        self._books = {p: Book() for p in self.pairs}
        self._price = {p: float(self._frames[p]["close"].iat[self._start - 1]) for p in self.pairs}
        self._subs: dict[str, list[tuple[web.WebSocketResponse, int]]] = {}
        self._channel_ids = itertools.count(100)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._replay_task: asyncio.Task[None] | None = None
        self._lock = threading.Lock()
        self.port = 0
        for pair in self.pairs:
            self._books[pair] = self._book_at(pair, self._price[pair])

    # --- control ---------------------------------------------------------------------------

    def start(self) -> KrakenLikeServer:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), name="kraken-like",
                                        daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("kraken-like server did not start")
        return self

    def start_replay(self) -> None:
        """Begin publishing candles and moving the book (idempotent)."""
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._begin_replay)

    def stop(self) -> None:
        """Stop the replay, close every connection and the socket, end the thread."""
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = None

    def __enter__(self) -> KrakenLikeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def rest_url(self) -> str:
        """Value for ``kraken_constants.BASE_URL`` and the candles' ``REST_URL``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        """Value for ``kraken_constants.WS_URL`` and the candles' ``WSS_URL``."""
        return f"ws://127.0.0.1:{self.port}/ws"

    def served_ts(self, real_ts: int) -> int:
        """The timestamp the client sees for a candle that opened at ``real_ts``."""
        return int(real_ts) + self.offset_s

    def real_ts(self, served_ts: float) -> int:
        """Inverse of :meth:`served_ts`."""
        return int(served_ts) - self.offset_s

    def subscribed(self, channel: str) -> set[str]:
        """Pairs (wsname) with a live subscription to ``channel`` (``book``, ``ohlc``, ...)."""
        with self._lock:
            return {key.split("|")[1] for key, subs in self._subs.items()
                    if key.startswith(channel + "|") and subs}

    # --- server thread ------------------------------------------------------------------

    def _serve(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        app = web.Application()
        app.router.add_get("/0/public/Time", self._time)
        app.router.add_get("/0/public/AssetPairs", self._asset_pairs)
        app.router.add_get("/0/public/Ticker", self._ticker)
        app.router.add_get("/0/public/Depth", self._depth)
        app.router.add_get("/0/public/OHLC", self._ohlc)
        app.router.add_get("/ws", self._ws)
        self._runner = web.AppRunner(app, handle_signals=False)
        loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        server = site._server
        assert server is not None
        self.port = int(server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        ready.set()
        loop.run_forever()
        loop.close()

    async def _shutdown(self) -> None:
        if self._replay_task is not None:
            self._replay_task.cancel()
        with self._lock:
            sockets = [ws for subs in self._subs.values() for ws, _ in subs]
            self._subs.clear()
        for ws in set(sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- REST ---------------------------------------------------------------------------

    @staticmethod
    def _ok(result: object) -> web.Response:
        return web.json_response({"error": [], "result": result})

    def _spec_of(self, request: web.Request) -> list[PairSpec] | None:
        """Pairs named by ``?pair=`` (altname, comma-separated); all when absent."""
        self.requests.append(f"GET {request.path} {request.query.get('pair', '')}".strip())
        wanted = request.query.get("pair")
        if wanted is None:
            return list(self.specs.values())
        found = [s for s in self.specs.values() if s.altname in wanted.split(",")]
        return found or None

    async def _time(self, request: web.Request) -> web.Response:
        self.requests.append(f"GET {request.path}")
        now = int(time.time())
        return self._ok({"unixtime": now, "rfc1123": time.strftime(
            "%a, %d %b %y %H:%M:%S +0000", time.gmtime(now))})

    async def _asset_pairs(self, request: web.Request) -> web.Response:
        specs = self._spec_of(request) or []
        return self._ok({s.key: s.asset_pair() for s in specs})

    async def _ticker(self, request: web.Request) -> web.Response:
        specs = self._spec_of(request)
        if specs is None:
            return web.json_response({"error": ["EQuery:Unknown asset pair"]})
        result = {}
        for spec in specs:
            price = self._price[spec.pair]
            bid, ask = self._best(spec.pair)
            result[spec.key] = {"a": [ask, "1", "1.000"], "b": [bid, "1", "1.000"],
                                "c": [fmt(price), "0.01"], "v": ["0", "0"], "p": ["0", "0"],
                                "t": [0, 0], "l": ["0", "0"], "h": ["0", "0"], "o": "0"}
        return self._ok(result)

    async def _depth(self, request: web.Request) -> web.Response:
        specs = self._spec_of(request)
        if not specs:
            return web.json_response({"error": ["EQuery:Unknown asset pair"]})
        spec = specs[0]
        book = self._books[spec.pair]
        now = int(time.time())
        bids = sorted(book.bids.items(), key=lambda kv: -float(kv[0]))
        asks = sorted(book.asks.items(), key=lambda kv: float(kv[0]))
        return self._ok({spec.key: {"bids": [[p, v, now] for p, v in bids],
                                    "asks": [[p, v, now] for p, v in asks]}})

    async def _ohlc(self, request: web.Request) -> web.Response:
        specs = self._spec_of(request)
        if not specs:
            return web.json_response({"error": ["EQuery:Unknown asset pair"]})
        if request.query.get("interval", "1") != "60":
            return web.json_response({"error": ["EGeneral:Invalid arguments:interval"]})
        spec = specs[0]
        since = int(request.query.get("since", "0"))
        frame = self._frames[spec.pair]
        rows = [self._ohlc_row(spec.pair, i) for i in range(self.published)
                if self.served_ts(int(frame["timestamp"].iat[i])) > since]
        rows = rows[-720:]  # Kraken returns at most 720 candles
        last = rows[-1][0] if rows else since
        return self._ok({spec.key: rows, "last": last})

    def _ohlc_row(self, pair: str, i: int) -> list[object]:
        """Kraken OHLC row ``[time, open, high, low, close, vwap, volume, count]``."""
        row = self._frames[pair].iloc[i]
        vwap = (row["high"] + row["low"] + row["close"]) / 3
        return [self.served_ts(int(row["timestamp"])), fmt(row["open"]), fmt(row["high"]),
                fmt(row["low"]), fmt(row["close"]), fmt(vwap), f"{row['volume']:.8f}", 1]

    # --- WebSocket ----------------------------------------------------------------------

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_json({"connectionID": 1, "event": "systemStatus", "status": "online",
                            "version": "1.9.0"})
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            payload = json.loads(msg.data)
            if payload.get("event") in {"subscribe", "unsubscribe"}:
                await self._subscription(ws, payload)
        with self._lock:
            for subs in self._subs.values():
                subs[:] = [(w, c) for w, c in subs if w is not ws]
        return ws

    async def _subscription(self, ws: web.WebSocketResponse, payload: dict) -> None:
        sub = payload.get("subscription", {})
        name = sub.get("name", "")
        channel = {"book": f"book-{sub.get('depth', 10)}",
                   "ohlc": f"ohlc-{sub.get('interval', 1)}"}.get(name, name)
        for wsname in payload.get("pair", []):
            spec = next((s for s in self.specs.values() if s.wsname == wsname), None)
            self.requests.append(f"WS {payload['event']} {name} {wsname}")
            if spec is None or name not in {"book", "trade", "ohlc"} or channel == "ohlc-1":
                await ws.send_json({"event": "subscriptionStatus", "status": "error",
                                    "pair": wsname, "subscription": sub,
                                    "errorMessage": "Currency pair not supported"})
                continue
            key = f"{name}|{wsname}"
            if payload["event"] == "unsubscribe":
                with self._lock:
                    self._subs[key] = [(w, c) for w, c in self._subs.get(key, []) if w is not ws]
                continue
            channel_id = next(self._channel_ids)
            with self._lock:
                self._subs.setdefault(key, []).append((ws, channel_id))
            await ws.send_json({"channelID": channel_id, "channelName": channel,
                                "event": "subscriptionStatus", "pair": wsname,
                                "status": "subscribed", "subscription": sub})
            if name == "book":
                book = self._books[spec.pair]
                now = f"{time.time():.6f}"
                await ws.send_json([channel_id, {
                    "as": [[p, v, now] for p, v in sorted(book.asks.items(),
                                                          key=lambda kv: float(kv[0]))],
                    "bs": [[p, v, now] for p, v in sorted(book.bids.items(),
                                                          key=lambda kv: -float(kv[0]))],
                }, channel, wsname])
            elif name == "ohlc" and self.published > 0:
                await ws.send_json(self._ohlc_message(channel_id, spec.pair, self.published - 1))

    def _ohlc_message(self, channel_id: int, pair: str, i: int) -> list[object]:
        """``[channelID, [time, etime, open, high, low, close, vwap, volume, count], "ohlc-60",
        pair]``; ``etime`` is the candle's end (Hummingbot takes ``etime - interval``)."""
        row = self._ohlc_row(pair, i)
        start = int(row[0])  # type: ignore[call-overload]
        data = [f"{start + HOUR_S - 1}.000000", f"{start + HOUR_S}.000000", *row[1:]]
        return [channel_id, data, "ohlc-60", self.specs[pair].wsname]

    async def _broadcast(self, name: str, pair: str, build: object) -> None:
        key = f"{name}|{self.specs[pair].wsname}"
        with self._lock:
            subs = list(self._subs.get(key, []))
        for ws, channel_id in subs:
            if ws.closed:
                continue
            try:
                await ws.send_json(build(channel_id))  # type: ignore[operator]
            except ConnectionError:
                log.info("kraken-like: a %s subscriber went away", key)

    # --- replay -------------------------------------------------------------------------

    def _begin_replay(self) -> None:
        if self._replay_task is None:
            self.replay_started.set()
            self._replay_task = asyncio.ensure_future(self._replay())

    async def _replay(self) -> None:
        hold_s = self.seconds_per_candle / 4
        for i in range(self._start, self._start + self.replay_bars):
            for point in ("open", "low", "high", "close"):
                for pair in self.pairs:
                    await self._move(pair, float(self._frames[pair][point].iat[i]))
                await asyncio.sleep(hold_s)
            self.published = i + 1
            for pair in self.pairs:
                await self._broadcast("ohlc", pair,
                                      lambda cid, p=pair, k=i: self._ohlc_message(cid, p, k))
        self.replay_done.set()

    async def _move(self, pair: str, price: float) -> None:
        """Move ``pair``'s book to ``price``: one trade there, then the level changes."""
        self._price[pair] = price
        old = self._books[pair]
        new = self._book_at(pair, price)
        self._books[pair] = new
        now = f"{time.time():.6f}"
        wsname = self.specs[pair].wsname
        trade = [[fmt(price), "0.01000000", now, "b", "m", ""]]
        await self._broadcast("trade", pair, lambda cid: [cid, trade, "trade", wsname])
        for side, before, after in (("a", old.asks, new.asks), ("b", old.bids, new.bids)):
            changes = [[p, "0.00000000", now] for p in before if p not in after]
            changes += [[p, v, now] for p, v in after.items() if before.get(p) != v]
            if changes:
                await self._broadcast("book", pair, lambda cid, s=side, c=changes: [
                    cid, {s: c, "c": "0"}, "book-1000", wsname])

    def _book_at(self, pair: str, price: float) -> Book:
        return book_around(price, 10 ** -self.specs[pair].pair_decimals, self.step_frac,
                           self.levels, self.level_volume_base)

    def _best(self, pair: str) -> tuple[str, str]:
        book = self._books[pair]
        return (max(book.bids, key=float), min(book.asks, key=float))
