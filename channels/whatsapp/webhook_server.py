"""The WhatsApp webhook on a port and event loop of its own, in a thread.

Rasa runs its NLU and policies on Sanic's event loop, in blocking stretches of
tens of milliseconds per turn. A webhook served on that loop waits for every
ready turn before it is even read, so with 16 citizens writing its 200 took
up to 240 ms, and bounding the turns to keep it low made the last citizens of a
burst wait (docs/benchmarks.md). Served here, the webhook is read, checked,
recorded and answered within milliseconds however busy Rasa is; the accepted
messages are handed to the channel on Rasa's loop, where their turns run.

aiohttp's server (already installed with Rasa) serves the same routes as the
channel's blueprint, with the same handlers: ``GET /webhooks/whatsapp/`` (health),
``GET`` and ``POST /webhooks/whatsapp/webhook``.
"""
import asyncio
import logging
import threading
from typing import Any, Awaitable, Callable, Mapping, Optional, Protocol, Text, Tuple

from aiohttp import web

from channels.whatsapp.signature import SIGNATURE_HEADER

logger = logging.getLogger(__name__)

PREFIX = "/webhooks/whatsapp"
# Meta's deliveries are at most 3 MB; anything over this is refused with 413 on this port
# (aiohttp stops reading) and on Rasa's (the channel's handler checks it before the HMAC)
MAX_BODY_BYTES = 8 * 1024 * 1024
_START_TIMEOUT_S = 10.0

# (HTTP status, body: a dict is sent as JSON, text as text/plain)
Reply = Tuple[int, Any]


class RasaLoopClosed(Exception):
    """Rasa's event loop closed while a delivery was being received: the process is stopping."""


class WebhookHandlers(Protocol):
    """What the server needs from the channel; every call runs on the server's loop."""

    def health(self) -> Reply:
        ...

    def verify(self, args: Mapping[Text, Text]) -> Reply:
        ...

    async def receive(
        self,
        raw: bytes,
        signature: Optional[Text],
        hand_over: Callable[[Callable[[], None]], None],
        read_now: bool = False,
    ) -> Reply:
        ...


class WebhookServer:
    """Serves the webhook from a daemon thread until :meth:`stop`.

    ``hand_over`` runs a callback on Rasa's loop (``loop.call_soon_threadsafe``):
    the only way anything received here reaches the channel's state. It raises
    :class:`RasaLoopClosed` once that loop has closed.
    ``on_stop`` is awaited on the server's loop before it closes (to let its read
    receipts finish and close the connections bound to that loop).
    """

    def __init__(
        self,
        handlers: WebhookHandlers,
        rasa_loop: asyncio.AbstractEventLoop,
        host: Text,
        port: int,
        on_stop: Optional[Callable[[], Awaitable[None]]] = None,
    ) -> None:
        self._handlers = handlers
        self._rasa_loop = rasa_loop
        self._host = host
        self._port = port
        self._on_stop = on_stop
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._runner: Optional[web.AppRunner] = None
        self._thread: Optional[threading.Thread] = None
        self._started = threading.Event()
        self._error: Optional[BaseException] = None
        self.bound_port: Optional[int] = None

    # ---- lifecycle (called from Rasa's loop) ---------------------------------------

    def start(self) -> None:
        """Binds the port and starts serving; raises if the port cannot be bound."""
        self._thread = threading.Thread(target=self._run, name="whatsapp-webhook", daemon=True)
        self._thread.start()
        if not self._started.wait(_START_TIMEOUT_S):
            raise RuntimeError("The WhatsApp webhook server did not start in time.")
        if self._error is not None:
            raise RuntimeError(
                f"The WhatsApp webhook server could not listen on {self._host}:{self._port} "
                f"(WHATSAPP_WEBHOOK_PORT): {self._error}"
            ) from self._error
        logger.info(
            "WhatsApp webhook also served on its own port: http://%s:%s%s/webhook",
            self._host,
            self.bound_port,
            PREFIX,
        )

    def stop(self, timeout: float = 10.0) -> None:
        """Stops accepting deliveries; those being received finish first."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        try:
            future.result(timeout)
        except Exception:
            logger.exception("The WhatsApp webhook server did not stop cleanly.")
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)

    # ---- the server's thread ---------------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as error:  # reported to start(), which raises it
            self._error = error
            self._started.set()
            loop.close()
            return
        self._started.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self) -> None:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_get(f"{PREFIX}/", self._health)
        app.router.add_get(f"{PREFIX}/webhook", self._verify)
        app.router.add_post(f"{PREFIX}/webhook", self._receive)
        # no access log: the handshake's query string carries the verify token
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        addresses = self._runner.addresses  # the port actually bound, when 0 was asked
        self.bound_port = addresses[0][1] if addresses else self._port

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._on_stop is not None:
            try:
                await self._on_stop()
            except Exception:
                logger.exception("Could not close the webhook server's resources.")

    # ---- routes ----------------------------------------------------------------------

    async def _health(self, _: web.Request) -> web.Response:
        return _response(self._handlers.health())

    async def _verify(self, request: web.Request) -> web.Response:
        return _response(self._handlers.verify(request.query))

    async def _receive(self, request: web.Request) -> web.Response:
        raw = await request.read()
        # read receipts go out from here at once, not when Rasa's loop gets to them
        reply = await self._handlers.receive(
            raw, request.headers.get(SIGNATURE_HEADER), self._hand_over, read_now=True
        )
        return _response(reply)

    def _hand_over(self, callback: Callable[[], None]) -> None:
        try:
            self._rasa_loop.call_soon_threadsafe(callback)
        except RuntimeError as error:  # "Event loop is closed": Rasa stopped before this server
            raise RasaLoopClosed() from error


def _response(reply: Reply) -> web.Response:
    status, body = reply
    if isinstance(body, dict):
        return web.json_response(body, status=status)
    return web.Response(text=str(body), status=status)
