"""WhatsApp Business Cloud API input channel for Rasa 3.6.

Routes (under ``/webhooks/whatsapp``):

* ``GET /``          health, with counters of the status events seen;
* ``GET /webhook``   Meta's subscription handshake;
* ``POST /webhook``  deliveries: signature check on the raw body, parsing into
  typed objects, de-duplication by ``wamid`` in a persistent store, 200; each
  citizen's messages are then processed in timestamp order by a per-sender
  worker, in background tasks held in ``self._background_tasks`` (slack.py).

With ``webhook_port`` set, the same routes are also served on that port from a
thread of their own (webhook_server.py), so the 200 never waits for Rasa's turns.
The handlers (:meth:`WhatsAppInput.receive` and friends) run on whichever loop
serves the request; what they accept reaches the channel's state on Rasa's loop
through ``hand_over``. On the own port the read receipts go out from the server's
loop as soon as a delivery is accepted; on Rasa's port, when each turn starts.
"""
import asyncio
import concurrent.futures
import contextvars
import heapq
import itertools
import json
import logging
import random
import threading
import time
from collections import Counter
from contextlib import suppress
from datetime import datetime, timezone
from functools import partial
from http import HTTPStatus
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Set, Text, Tuple, Union

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.whatsapp.choices import (
    ALIAS_PREFIX,
    ChoiceMemory,
    alias_in_events,
    choice_in_events,
    typed_number,
)
from channels.whatsapp.config import WhatsAppConfig
from channels.whatsapp.dedup import ProcessedMessageStore, create_store
from channels.whatsapp.graph_api import GraphApiClient, GraphApiError
from channels.whatsapp.masking import SecretsFilter, mask_phone, mask_wamid
from channels.whatsapp.handoff import ConsoleRelay, RelayedMessage, life_safety_response
from channels.whatsapp.media import REFUSED, STORED, LocalMediaStore, MediaStore, fetch_media, sniff_forwarded
from channels.whatsapp.output import WhatsAppOutput
from channels.whatsapp.recovery import recorded_answer
from channels.whatsapp.payloads import (
    InboundMessage,
    MessageType,
    Notification,
    PayloadError,
    StatusKind,
    StatusUpdate,
    load_body,
    message_from_record,
    message_record,
    parse_notification,
)
from channels.whatsapp.signature import SIGNATURE_HEADER, is_valid_signature
from channels.whatsapp.webhook_server import MAX_BODY_BYTES, RasaLoopClosed, Reply, WebhookServer

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
HandOver = Callable[[Callable[[], None]], Any]
# a message's read receipt: a task on Rasa's loop, or sent from the webhook server's
Receipt = Union["asyncio.Future[None]", "concurrent.futures.Future[None]"]

# message types that reach Rasa; everything else gets the "what I can take" answer
_HANDLED = {
    MessageType.TEXT,
    MessageType.INTERACTIVE,
    MessageType.BUTTON,
    MessageType.LOCATION,
    MessageType.IMAGE,
}
# media an operator can take while the conversation is paused
_RELAYED_MEDIA = {"audio", "document", "video", "sticker", "image"}
# files the bot cannot read: each gets its own "what you can do instead" answer, except
# while a report or request waits for a photo, when the file goes with it as the photo
_FILES = {
    MessageType.AUDIO: "utter_audio_not_supported",
    MessageType.VIDEO: "utter_video_not_supported",
    MessageType.DOCUMENT: "utter_document_not_supported",
}
_STICKER_RESPONSE = "utter_sticker_received"
# a reaction with one of these (skin tone and emoji presentation aside) is thanks/assent
_ASSENT_EMOJI = {"\U0001F44D", "\u2764", "\U0001F64F", "\U0001F44C"}
_EMOJI_MODIFIERS = dict.fromkeys([0xFE0F, *range(0x1F3FB, 0x1F400)])
_ASSENT_INTENT = "thank"
# the form and the slot that wait for a photo (domain.yml)
_MEDIA_LOOPS = {"emergency_form"}
_MEDIA_SLOTS = {"request_photo"}
_CLAIM_WAIT_S = 2.0
# keys of a message's extra that never reach Rasa's metadata
_REPLAYED = "replayed"
_READ_RECEIPT = "read_receipt"  # the receipt already on its way (own port)
_CHANNEL_LOGGERS = (
    "channels.whatsapp.connector",
    "channels.whatsapp.output",
    "channels.whatsapp.graph_api",
    "channels.whatsapp.media",
    "channels.whatsapp.dedup",
    "channels.whatsapp.payloads",
    "channels.whatsapp.webhook_server",
)


class WhatsAppInput(InputChannel):
    """Meta's WhatsApp Business Cloud API as a Rasa input channel."""

    @classmethod
    def name(cls) -> Text:
        return "whatsapp"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        return cls(WhatsAppConfig.from_credentials(credentials))

    def __init__(
        self,
        config: WhatsAppConfig,
        store: Optional[ProcessedMessageStore] = None,
        media_store: Optional[MediaStore] = None,
        handoff_relay: Optional[ConsoleRelay] = None,
    ) -> None:
        self.config = config
        self.client = GraphApiClient(config)
        self.store = store or create_store(config)
        self.media_store = media_store or LocalMediaStore(config.media_dir)
        # None when no console is configured (no CONSOLE_API_TOKEN): paused messages then
        # stay only in Rasa's tracker
        self.handoff_relay = handoff_relay if handoff_relay is not None else ConsoleRelay.from_env()
        self.choices = ChoiceMemory()
        self.status_counts: Counter = Counter()
        self.malformed_items = 0  # items skipped from signed deliveries (see receive)
        # guards what the webhook server's thread shares with Rasa's loop
        self._lock = threading.Lock()
        self._webhook_server: Optional[WebhookServer] = None
        self._receipts_in_flight: Set["asyncio.Task[None]"] = set()  # on the server's loop
        self._background_tasks: Set[asyncio.Task] = set()
        self._queues: Dict[Text, List[Tuple[int, int, InboundMessage, Dict]]] = {}
        self._workers: Dict[Text, asyncio.Task] = {}
        self._last_timestamp: Dict[Text, int] = {}
        self._accepted: Set[Text] = set()  # queued or being processed
        # senders with a delivery between parsing and enqueueing (its dedup claim running)
        self._claiming: Counter = Counter()
        self._claims_settled: Dict[Text, "asyncio.Future[None]"] = {}
        self._semaphore: Optional[asyncio.Semaphore] = None
        self._semaphore_loop: Optional[asyncio.AbstractEventLoop] = None
        self._sequence = itertools.count()
        # what the first finished turn left in its context; later turns start from it
        self._turn_context: Optional[contextvars.Context] = None
        self._on_new_message: Optional[OnNewMessage] = None
        self._app: Any = None
        self._replayed = False
        # ids accepted while the start-up replay reads the pending ones: a message
        # processed meanwhile must not be replayed from that (older) snapshot
        self._accepted_during_replay: Optional[Set[Text]] = None
        _install_secrets_filter(config)
        if not config.app_secret:
            logger.warning(
                "WhatsApp webhooks are NOT signature-checked (allow_unsigned_webhooks). "
                "Never run like this in production."
            )
        if not config.verify_token:
            logger.warning("No WHATSAPP_VERIFY_TOKEN: Meta's webhook handshake will fail.")
        if config.documents_by_upload:
            # the libre deuda PDF link would point to a host Meta cannot fetch
            logger.info("Documents are uploaded to the Graph API and sent by id "
                        "(CITY_SERVICES_PUBLIC_URL unset or not public).")
        else:
            logger.info("Documents are sent as links under %s.", config.documents_public_url)

    # ---- Rasa InputChannel interface -------------------------------------------------

    def get_output_channel(self) -> WhatsAppOutput:
        """Unbuffered sender for trigger_intent and operator messages."""
        return WhatsAppOutput(
            self.client, self.config, self.choices, self._response_text, buffered=False
        )

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        """Delivery-level metadata merged into each message's ``metadata["whatsapp"]``."""
        return self._delivery_metadata()

    @staticmethod
    def _delivery_metadata() -> Dict[Text, Any]:
        return {"whatsapp": {"received_at": time.time()}}

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        whatsapp_webhook = Blueprint("whatsapp_webhook", __name__)
        self._on_new_message = on_new_message

        @whatsapp_webhook.listener("after_server_start")
        async def start(app: Any, _: Any) -> None:
            self._app = app
            self._track(asyncio.ensure_future(self._replay_pending()))
            self.start_webhook_server()

        @whatsapp_webhook.listener("before_server_stop")
        async def stop_receiving(app: Any, _: Any) -> None:
            await self.stop_webhook_server()

        @whatsapp_webhook.listener("after_server_stop")
        async def close(app: Any, _: Any) -> None:
            await self.drain(self.config.shutdown_grace_s)
            if self._background_tasks:
                logger.warning(
                    "%d WhatsApp turn(s) still running at shutdown; unfinished messages "
                    "are replayed at the next start.",
                    len(self._background_tasks),
                )
                return
            await self.client.close()
            await self.store.close()
            if self.handoff_relay is not None:
                await self.handoff_relay.close()

        @whatsapp_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return _sanic_response(self.health())

        @whatsapp_webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            return _sanic_response(self.verify(request.args))

        @whatsapp_webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            self._app = request.app
            reply = await self.receive(
                request.body,
                request.headers.get(SIGNATURE_HEADER),
                _run_now,
                self.get_metadata(request) or {},
            )
            return _sanic_response(reply)

        return whatsapp_webhook

    # ---- the webhook on a port of its own --------------------------------------------

    def start_webhook_server(self) -> None:
        """Serves the webhook on ``webhook_port`` too, if set (called on Rasa's loop)."""
        if self.config.webhook_port is None or self._webhook_server is not None:
            return
        server = WebhookServer(
            self,
            asyncio.get_running_loop(),
            self.config.webhook_host,
            self.config.webhook_port,
            on_stop=self._release_server_loop,
        )
        server.start()  # raises, and so stops Rasa's start, if the port is taken
        self._webhook_server = server

    async def _release_server_loop(self) -> None:
        """On the server's loop as it stops: its receipts finish, its connections close."""
        if self._receipts_in_flight:
            await asyncio.wait(set(self._receipts_in_flight), timeout=_CLAIM_WAIT_S)
        await self.client.close()
        await self.store.release_loop()

    async def stop_webhook_server(self) -> None:
        server, self._webhook_server = self._webhook_server, None
        if server is not None:
            await asyncio.to_thread(server.stop)

    @property
    def webhook_port(self) -> Optional[int]:
        """The port the webhook server listens on (``None`` when it does not run)."""
        return self._webhook_server.bound_port if self._webhook_server else None

    # ---- webhook handlers (on the loop serving the request: Rasa's or the server's) --

    def health(self) -> Reply:
        with self._lock:
            statuses = dict(self.status_counts)
            malformed = self.malformed_items
        return HTTPStatus.OK, {"status": "ok", "statuses": statuses, "malformed_items": malformed}

    def verify(self, args: Mapping[Text, Any]) -> Reply:
        """Meta's subscription handshake."""
        mode = args.get("hub.mode")
        token = args.get("hub.verify_token") or ""
        challenge = args.get("hub.challenge") or ""
        if mode == "subscribe" and self.config.verify_token and _equal(token, self.config.verify_token):
            logger.info("WhatsApp webhook subscription verified.")
            return HTTPStatus.OK, challenge
        logger.warning("Rejected a WhatsApp webhook verification request.")
        return HTTPStatus.FORBIDDEN, "forbidden"

    async def receive(
        self,
        raw: bytes,
        signature: Optional[Text],
        hand_over: HandOver,
        extra: Optional[Dict[Text, Any]] = None,
        read_now: bool = False,
    ) -> Reply:
        """One delivery: checked, parsed, its messages recorded; then handed to Rasa's loop.

        ``hand_over`` runs a callback on Rasa's loop: directly when this runs there,
        ``loop.call_soon_threadsafe`` from the webhook server's thread. The 200 goes
        out once the messages are in the processed-message store, so a crash before
        their turns only delays them to the replay at the next start. With
        ``read_now`` (the server's loop, never Rasa's) the new messages' read
        receipts start here, before Rasa's loop has even seen them.
        """
        if len(raw) > MAX_BODY_BYTES:  # checked before hashing it; the own port never reads this much
            logger.warning("Rejected a webhook body of %d bytes.", len(raw))
            return HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body too large"
        if self.config.app_secret:
            if not signature:
                logger.warning("Rejected a webhook without %s.", SIGNATURE_HEADER)
                return HTTPStatus.UNAUTHORIZED, "missing signature"
            if not is_valid_signature(self.config.app_secret, raw, signature):
                logger.warning("Rejected a webhook with a wrong signature.")
                return HTTPStatus.FORBIDDEN, "invalid signature"
        try:
            notification = parse_notification(load_body(raw))
        except PayloadError as error:
            logger.warning("Rejected a webhook body: %s", error)
            return HTTPStatus.BAD_REQUEST, "bad request"
        if notification.skipped:
            # Signed, so it comes from Meta: the malformed items are skipped (and counted)
            # and the delivery is still answered 200. Any other status makes Meta redeliver
            # the whole delivery, valid siblings included, with backoff for up to 7 days;
            # the bad items would fail the same way every time.
            with self._lock:
                self.malformed_items += notification.skipped

        messages = notification.messages
        senders = {m.sender for m in messages}
        with self._lock:
            self._claiming.update(senders)
        try:
            new_ids = await self.store.claim([(m.id, message_record(m)) for m in messages])
        except Exception:
            # not safely accepted: let Meta retry this delivery later
            logger.exception("Could not record message ids; asking Meta to retry.")
            with suppress(RasaLoopClosed):
                hand_over(partial(self._claim_finished, senders))
            return HTTPStatus.SERVICE_UNAVAILABLE, "retry later"
        extra = extra if extra is not None else self._delivery_metadata()
        receipts = self._send_receipts(messages, new_ids) if read_now else {}
        try:
            hand_over(partial(self._take_delivery, notification, new_ids, extra, senders, receipts))
        except RasaLoopClosed:
            # recorded, so replayed at the next start; Meta's retry will find them claimed
            logger.warning("Rasa is stopping: %d new message(s) kept for the next start.", len(new_ids))
            return HTTPStatus.SERVICE_UNAVAILABLE, "retry later"
        return HTTPStatus.OK, {"status": "ok"}

    def _send_receipts(
        self, messages: List[InboundMessage], new_ids: Set[Text]
    ) -> Dict[Text, "concurrent.futures.Future[None]"]:
        """Starts each new message's read receipt on the running (the server's) loop.

        The citizen sees the blue ticks and the typing indicator within
        milliseconds, however busy Rasa's loop is, and that loop is spared the
        call. Each returned future is done once its receipt went out (or failed):
        the turn's answer waits for it, so the receipt always comes first.
        """
        receipts: Dict[Text, "concurrent.futures.Future[None]"] = {}
        for message in messages:
            if message.id not in new_ids or message.id in receipts:
                continue
            sent: "concurrent.futures.Future[None]" = concurrent.futures.Future()
            task = asyncio.ensure_future(self._mark_as_read(message))
            self._receipts_in_flight.add(task)
            task.add_done_callback(self._receipts_in_flight.discard)
            task.add_done_callback(partial(_resolve, sent))
            receipts[message.id] = sent
        return receipts

    def _take_delivery(
        self,
        notification: Notification,
        new_ids: Set[Text],
        extra: Dict[Text, Any],
        senders: Set[Text],
        receipts: Optional[Dict[Text, "concurrent.futures.Future[None]"]] = None,
    ) -> None:
        """On Rasa's loop: queues the new messages, records the statuses."""
        try:
            accepted = self._accept(notification.messages, new_ids, extra, receipts or {})
        finally:
            self._claim_finished(senders)
        for error in notification.errors:
            logger.error("WhatsApp webhook error %s: %s", error.code, error.title)
        for status in notification.statuses:
            self._record_status(status)
        if notification.messages:
            logger.debug("Delivery: %d message(s), %d new.", len(notification.messages), accepted)

    def _accept(
        self,
        messages: List[InboundMessage],
        new_ids: Set[Text],
        extra: Dict[Text, Any],
        receipts: Mapping[Text, "concurrent.futures.Future[None]"],
    ) -> int:
        accepted = 0
        for message in messages:
            if message.id in new_ids:
                new_ids.discard(message.id)  # a wamid twice in one delivery runs once
                receipt = receipts.get(message.id)
                self._enqueue(message, {**extra, _READ_RECEIPT: receipt} if receipt else extra)
                accepted += 1
            else:
                logger.info("Ignoring redelivered message %s.", mask_wamid(message.id))
        return accepted

    # ---- statuses ------------------------------------------------------------------

    def _record_status(self, status: StatusUpdate) -> None:
        with self._lock:
            self.status_counts[status.raw_status] += 1
        if status.status is StatusKind.FAILED:
            for error in status.errors or ():
                logger.warning(
                    "Message %s to %s failed: code %s (%s) %s",
                    mask_wamid(status.id),
                    mask_phone(status.recipient_id),
                    error.code,
                    error.title,
                    error.details or "",
                )
            if not status.errors:
                logger.warning("Message %s to %s failed.", mask_wamid(status.id), mask_phone(status.recipient_id))
        else:
            logger.info(
                "Message %s to %s: %s.", mask_wamid(status.id), mask_phone(status.recipient_id), status.raw_status
            )

    # ---- per-citizen ordering ------------------------------------------------------

    def _track(self, task: "asyncio.Future") -> "asyncio.Future":
        # keep a reference, see https://docs.python.org/3/library/asyncio-task.html#asyncio.create_task
        self._background_tasks.add(task)  # type: ignore[arg-type]
        task.add_done_callback(self._background_tasks.discard)
        return task

    def _enqueue(self, message: InboundMessage, extra: Dict[Text, Any]) -> None:
        self._accepted.add(message.id)
        if self._accepted_during_replay is not None:
            self._accepted_during_replay.add(message.id)
        queue = self._queues.setdefault(message.sender, [])
        heapq.heappush(queue, (message.timestamp, next(self._sequence), message, extra))
        if message.sender not in self._workers:
            self._workers[message.sender] = self._track(self._start_worker(message.sender))

    def _start_worker(self, sender: Text) -> "asyncio.Task[None]":
        """The citizen's worker task, in a copy of the context the first turn left.

        A task runs in a copy of the context it was created in: here a delivery's
        (a Sanic request's, or the webhook server's thread's), where nothing is
        set yet. Libraries keep lazily set state in context variables: thinc,
        under spaCy, looks up its backend through the installed packages' entry
        points whenever its variable is unset, so every WhatsApp turn paid that
        again (0.36 ms timed alone; Rasa's turn cost up to 1.4 ms more than the
        same REST turn). Rasa's REST turns on one keep-alive connection share a
        context; these now share what the first turn set, as of when it
        finished, and nothing that later turns set.
        """
        work = self._run_sender(sender)
        if self._turn_context is None:
            return asyncio.ensure_future(work)
        return self._turn_context.run(asyncio.ensure_future, work)

    def _claim_finished(self, senders: Set[Text]) -> None:
        """On Rasa's loop, once the delivery's messages are queued (or refused)."""
        for sender in senders:
            with self._lock:
                self._claiming[sender] -= 1
                if self._claiming[sender] > 0:
                    continue
                del self._claiming[sender]
            settled = self._claims_settled.pop(sender, None)
            if settled is not None and not settled.done():
                settled.set_result(None)

    async def _earlier_deliveries(self, sender: Text) -> None:
        """Lets deliveries the server already holds for ``sender`` reach the queue first.

        Two deliveries of one citizen that reach the server together (Meta sends
        them in parallel) are sorted by timestamp before the first turn: their
        handlers run before this worker (it was scheduled after them), and one
        still waiting for the processed-message store (Redis) is waited for.
        Costs nothing when the citizen has no other delivery in flight.
        """
        with self._lock:
            claiming = self._claiming.get(sender)
        if claiming:
            settled = self._claims_settled.get(sender)
            if settled is None or settled.get_loop() is not asyncio.get_running_loop():
                settled = asyncio.get_running_loop().create_future()
                self._claims_settled[sender] = settled
            # bounded: a store that hangs must not stall this citizen's turns for good
            await asyncio.wait({settled}, timeout=_CLAIM_WAIT_S)

    async def _run_sender(self, sender: Text) -> None:
        """Processes one citizen's queued messages, oldest timestamp first."""
        try:
            await self._earlier_deliveries(sender)
            if self.config.ordering_window_ms > 0:
                # a deployment may also wait for deliveries that have not reached us yet
                await asyncio.sleep(self.config.ordering_window_ms / 1000)
            queue = self._queues.get(sender)
            while queue:
                _, _, message, extra = heapq.heappop(queue)
                last = self._last_timestamp.get(sender, 0)
                if message.timestamp < last:
                    logger.warning(
                        "Message %s arrived after a later one of the same citizen.", mask_wamid(message.id)
                    )
                if len(self._last_timestamp) > 100_000:
                    self._last_timestamp.clear()
                self._last_timestamp[sender] = max(last, message.timestamp)
                await self._process(message, extra)
        finally:
            self._workers.pop(sender, None)
            if not self._queues.get(sender):
                self._queues.pop(sender, None)

    def _turn_slots(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._semaphore_loop is not loop:
            self._semaphore = asyncio.Semaphore(self.config.turn_limit)
            self._semaphore_loop = loop
        return self._semaphore

    async def drain(self, timeout: float = 30.0) -> None:
        """Waits for every accepted message to be processed (tests, shutdown)."""
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            tasks = [t for t in self._background_tasks if t.get_loop() is loop]
            if not tasks:
                return
            await asyncio.wait(tasks, timeout=deadline - time.monotonic())

    async def _replay_pending(self) -> None:
        """Messages accepted before a crash but never processed get their turn now."""
        if self._replayed:
            return
        self._replayed = True
        accepted_meanwhile: Set[Text] = set(self._accepted)
        self._accepted_during_replay = accepted_meanwhile
        try:
            records = await self.store.pending()
        except Exception:
            logger.exception("Could not read pending WhatsApp messages.")
            return
        finally:
            self._accepted_during_replay = None
        for record in records:
            try:
                message = message_from_record(record)
            except (KeyError, TypeError, ValueError, AttributeError):
                logger.warning("Skipping an unreadable pending message.")
                continue
            if message.id in accepted_meanwhile:  # this process has it, done or not
                continue
            logger.info("Replaying message %s accepted before a restart.", mask_wamid(message.id))
            self._enqueue(message, {_REPLAYED: True})

    # ---- one message ---------------------------------------------------------------

    def _agent(self) -> Any:
        return getattr(getattr(self._app, "ctx", None), "agent", None)

    async def _process(self, message: InboundMessage, extra: Dict[Text, Any]) -> None:
        agent = self._agent()
        if agent is None or (hasattr(agent, "is_ready") and not agent.is_ready()):
            logger.error("No model loaded; message %s stays pending for replay.", mask_wamid(message.id))
            self._accepted.discard(message.id)
            return
        finished = False
        try:
            # blue ticks + typing indicator while Rasa works; awaited before any reply
            read: Receipt = extra.get(_READ_RECEIPT) or self._track(
                asyncio.ensure_future(self._mark_as_read(message))
            )
            if extra.get(_REPLAYED) and await self._resend_recorded_answer(message, read):
                finished = True
                return
            typed = message.text if message.type is MessageType.TEXT else None
            typed_choice = self.choices.resolve_typed(message.sender, typed)
            if typed_choice is None and typed_number(typed) is not None:
                # no list in this process's memory (a restart, another process)
                typed_choice = choice_in_events(await self._events(message.sender), typed)
            if message.type is MessageType.SYSTEM:
                logger.info("System message %s (%s) needs no answer.", mask_wamid(message.id), message.raw_type)
            elif message.type not in _HANDLED:
                await _settle(read)
                # an operator takes voice notes, documents and videos: only the bot cannot
                if not await self._relay_unsupported_if_paused(message):
                    await self._take_unhandled(message, extra, read)
            else:
                await self._run_turn(message, extra, typed_choice, read)
            finished = True
        except Exception:
            # a turn that failed is not retried: replaying it could fail the same way
            logger.exception("Failed to process WhatsApp message %s.", mask_wamid(message.id))
            finished = True
        finally:
            self._accepted.discard(message.id)
            # a cancelled turn (shutdown) stays pending and is replayed at the next start
            if finished:
                try:
                    await self.store.mark_done(message.id)
                except Exception:
                    logger.exception("Could not mark message %s as done.", mask_wamid(message.id))

    async def _resend_recorded_answer(self, message: InboundMessage, read: Receipt) -> bool:
        """A replayed message whose turn Rasa already took: its recorded answer goes out again.

        The crash came after Rasa saved the turn, and before or while the answer was sent;
        the citizen may get it twice (sent just before the crash), but never a second turn.
        """
        answer = recorded_answer(await self._events(message.sender), message.id)
        if answer is None:
            return False
        logger.info(
            "Message %s was processed before the restart; sending its recorded answer.", mask_wamid(message.id)
        )
        await _settle(read)
        output = WhatsAppOutput(self.client, self.config, self.choices, self._response_text, buffered=True)
        for bot_message in answer:
            await output.send_response(message.sender, bot_message)
        await output.flush()
        return True

    async def _mark_as_read(self, message: InboundMessage) -> None:
        try:
            await self.client.mark_as_read(message.id, self.config.typing_indicator)
        except GraphApiError as error:
            logger.warning("Could not mark %s as read: %s", mask_wamid(message.id), error)
        except Exception:  # never let the receipt break the turn
            logger.exception("Could not mark %s as read.", mask_wamid(message.id))

    async def _run_turn(
        self,
        message: InboundMessage,
        extra: Dict[Text, Any],
        typed_choice: Optional[Text],
        read: Receipt,
    ) -> None:
        metadata = _base_metadata(message, extra)
        whatsapp = metadata["whatsapp"]
        if message.type is MessageType.TEXT:
            text = typed_choice or message.text or ""
        elif message.type is MessageType.INTERACTIVE and message.reply:
            text = self.choices.resolve_reply_id(message.sender, message.reply.id)
            if text.startswith(ALIAS_PREFIX):  # not in this process's memory
                text = alias_in_events(await self._events(message.sender), text) or text
            whatsapp["reply"] = {
                "kind": message.reply.kind,
                "id": message.reply.id,
                "title": message.reply.title,
            }
        elif message.type is MessageType.BUTTON and message.button:
            text = message.button.payload or message.button.text or ""
        elif message.type is MessageType.LOCATION and message.location:
            location = message.location
            whatsapp["location"] = location.as_metadata()
            text = f"/{self.config.location_intent}{self._location_entities(location)}"
        elif message.type is MessageType.REACTION:
            # only assent reactions get here (_take_unhandled)
            whatsapp["reaction"] = {"emoji": message.reaction.emoji if message.reaction else None}
            text = f"/{_ASSENT_INTENT}"
        elif message.type in _FILES and message.media:
            # only while a form waits for a photo (_take_unhandled): the file is the photo
            stored = await fetch_media(self.client, self.media_store, message.media.id,
                                       message.media.mime_type, message.media.sha256, sniff=sniff_forwarded)
            if stored.status == REFUSED:
                await _settle(read)
                await self._answer_with(message, _FILES[message.type])
                return
            whatsapp["media"] = stored.as_metadata()
            text = (message.media.caption or "").strip() or f"/{self.config.media_intent}"
        elif message.type is MessageType.IMAGE and message.media:
            stored = await fetch_media(
                self.client,
                self.media_store,
                message.media.id,
                message.media.mime_type,
                message.media.sha256,
            )
            caption = (message.media.caption or "").strip()
            if stored.status == REFUSED:
                # A photo whose bytes we refused is not "a photo sent": the citizen is asked
                # for it again and the form keeps waiting for it; a caption still counts.
                await _settle(read)
                await self._answer_with(message, self.config.media_refused_response)
                if not caption:
                    return
            else:
                whatsapp["media"] = stored.as_metadata()
            text = caption or f"/{self.config.media_intent}"
        else:
            await _settle(read)
            await self._answer_unsupported(message)
            return

        output = WhatsAppOutput(
            self.client, self.config, self.choices, self._response_text, buffered=True
        )
        user_message = UserMessage(
            text=text,
            output_channel=output,
            sender_id=message.sender,
            input_channel=self.name(),
            message_id=message.id,
            metadata=metadata,
        )
        logger.info(
            "Turn for %s: message %s (%s).", mask_phone(message.sender), mask_wamid(message.id), message.raw_type
        )
        try:
            assert self._on_new_message is not None
            # only Rasa's turn takes a slot: it is what runs on the event loop; the
            # read receipt, media download and sends are waits that need none
            async with self._turn_slots():
                await self._on_new_message(user_message)
            if self._turn_context is None:
                self._turn_context = contextvars.copy_context()
            if not output.pending:
                # a silent turn: the conversation may be paused for an operator
                await self._relay_if_paused(message, whatsapp)
        finally:
            await _settle(read)  # the read receipt and typing indicator go before the answer
            await output.flush()

    # ---- conversations an operator has (channels/whatsapp/handoff.py) -------------------

    async def _paused_tracker(self, sender: Text) -> Any:
        tracker = await self._tracker(sender)
        return tracker if tracker is not None and tracker.is_paused() else None

    async def _relay_if_paused(self, message: InboundMessage, whatsapp: Dict[Text, Any]) -> None:
        tracker = await self._paused_tracker(message.sender)
        if tracker is None:
            return
        parse_data: Dict[Text, Any] = {}
        latest = tracker.latest_message
        if latest is not None and getattr(latest, "message_id", None) == message.id:
            parse_data = latest.parse_data or {}
        response = life_safety_response(parse_data)
        if self.handoff_relay is None:
            if response:
                await self._answer_with(message, response)
            return
        media, pin = whatsapp.get("media") or {}, whatsapp.get("location") or {}
        at = datetime.fromtimestamp(message.timestamp, timezone.utc)
        if media.get("path"):
            relayed = RelayedMessage(at, "image", text=(message.media.caption if message.media else None),
                                     media_ref=media["path"], mime_type=media.get("mime_type"),
                                     external_id=message.id)
        elif pin:
            label = " · ".join(str(pin[k]) for k in ("name", "address") if pin.get(k)) or None
            relayed = RelayedMessage(at, "location", text=label, latitude=pin.get("latitude"),
                                     longitude=pin.get("longitude"), external_id=message.id)
        else:
            text = message.text or (message.reply.title if message.reply else None) or (
                message.button.text if message.button else None)
            relayed = RelayedMessage(at, "text", text=text, external_id=message.id)
        if response is None:
            await self.handoff_relay.relay(message.sender, relayed, emergency=False)
            return
        # life-safety first: one quick attempt tells whether the citizen already had the
        # numbers (an emergency handoff); if the console does not answer, they get them anyway
        first = await self.handoff_relay.try_once(message.sender, relayed, emergency=True)
        if first is None or not first.already_emergency:
            await self._answer_with(message, response)
        if first is None:
            await self.handoff_relay.relay(message.sender, relayed, emergency=True)

    async def _relay_unsupported_if_paused(self, message: InboundMessage) -> bool:
        """A voice note, document, video, sticker... sent while paused goes to the operator."""
        if await self._paused_tracker(message.sender) is None:
            return False
        if self.handoff_relay is None:
            return True  # the bot stays silent all the same
        at = datetime.fromtimestamp(message.timestamp, timezone.utc)
        kind = message.raw_type if message.raw_type in _RELAYED_MEDIA else "other"
        relayed = RelayedMessage(at, kind, text=message.text or f"({message.raw_type})", external_id=message.id)
        if message.media is not None and kind != "other":
            stored = await fetch_media(self.client, self.media_store, message.media.id,
                                       message.media.mime_type, message.media.sha256, sniff=sniff_forwarded)
            caption = message.media.caption or message.media.filename
            if stored.status == STORED:
                relayed = RelayedMessage(at, kind, text=caption, media_ref=stored.path,
                                         mime_type=stored.mime_type, external_id=message.id)
            else:
                relayed = RelayedMessage(at, kind, text=f"({message.raw_type}: no se pudo descargar)",
                                         external_id=message.id)
        await self.handoff_relay.relay(message.sender, relayed, emergency=False)
        return True

    async def _tracker(self, sender: Text) -> Any:
        """The conversation as the tracker store has it (None if there is none or it is unreadable)."""
        store = getattr(self._agent(), "tracker_store", None)
        if store is None:
            return None
        try:
            return await store.retrieve(sender)
        except Exception:
            logger.exception("Could not read the conversation of %s.", mask_phone(sender))
            return None

    async def _events(self, sender: Text) -> List[Any]:
        """The conversation's events as the tracker store has them (empty if unreadable)."""
        tracker = await self._tracker(sender)
        return list(tracker.events) if tracker is not None else []

    def _location_entities(self, location: Any) -> Text:
        """``{"latitude": .., "longitude": ..}`` for the entities the domain declares.

        The pin always travels in ``metadata["whatsapp"]["location"]``; entities
        the domain does not declare would only be dropped with a warning.
        """
        domain = getattr(self._agent(), "domain", None)
        declared = set(getattr(domain, "entities", None) or [])
        values = {
            "latitude": location.latitude,
            "longitude": location.longitude,
            "location_name": location.name,
            "location_address": location.address,
        }
        entities = {k: v for k, v in values.items() if k in declared and v is not None}
        return json.dumps(entities) if entities else ""

    # ---- reactions, stickers and files ---------------------------------------------

    async def _take_unhandled(self, message: InboundMessage, extra: Dict[Text, Any], read: Receipt) -> None:
        """Reactions, stickers, voice notes, videos and documents outside an operator's chat."""
        if message.type is MessageType.REACTION:
            if is_assent(message.reaction.emoji if message.reaction else None):
                await self._run_turn(message, extra, None, read)
            else:  # any other reaction, or one removed: nothing to answer
                logger.info("Reaction %s needs no answer.", mask_wamid(message.id))
            return
        if message.type is MessageType.STICKER:
            if await self._first_sticker(message.sender):
                await self._answer_with(message, _STICKER_RESPONSE)
            else:
                logger.info("Sticker %s: already answered in this conversation.", mask_wamid(message.id))
            return
        if message.type in _FILES:
            if message.media is not None and await self._awaits_media(message.sender):
                await self._run_turn(message, extra, None, read)
            else:
                await self._answer_with(message, _FILES[message.type])
            return
        await self._answer_unsupported(message)

    async def _awaits_media(self, sender: Text) -> bool:
        """An emergency report, or a form asking for its photo, takes any file as the photo."""
        tracker = await self._tracker(sender)
        if tracker is None:
            return False
        return tracker.active_loop_name in _MEDIA_LOOPS or tracker.get_slot("requested_slot") in _MEDIA_SLOTS

    async def _first_sticker(self, sender: Text) -> bool:
        """True only for the first sticker of this conversation (Rasa session).

        Stickers run no turn, so the tracker does not see them; the processed-messages
        store (SQLite or Redis, kept across restarts) records one key per session instead.
        """
        session = "new"
        for event in reversed(await self._events(sender)):
            if getattr(event, "type_name", None) == "session_started":
                session = f"{event.timestamp:.6f}"
                break
        key = f"sticker-answered:{sender}:{session}"
        try:
            first = bool(await self.store.claim([(key, {})]))
            if first:
                await self.store.mark_done(key)
        except Exception:
            logger.exception("Could not record the sticker of %s.", mask_phone(sender))
            return False  # silence rather than the same answer to every sticker
        return first

    async def _answer_unsupported(self, message: InboundMessage) -> None:
        """Says what the assistant can take, with the domain's response."""
        logger.info(
            "Message %s of type %s is not supported; answering with %s.",
            mask_wamid(message.id),
            message.raw_type,
            self.config.unsupported_response,
        )
        await self._answer_with(message, self.config.unsupported_response)

    async def _answer_with(self, message: InboundMessage, response_name: Text) -> None:
        """Answers ``message`` outside a Rasa turn with one of the domain's responses."""
        variation = self._response_variation(response_name)
        if not variation:
            logger.error(
                "The domain has no response %s: add it so the citizen gets an answer.", response_name
            )
            return
        output = self.get_output_channel()
        await output.send_response(message.sender, dict(variation))

    def _response_variation(self, name: Text) -> Optional[Dict[Text, Any]]:
        domain = getattr(self._agent(), "domain", None)
        variations = list((getattr(domain, "responses", None) or {}).get(name) or [])
        preferred = [v for v in variations if v.get("channel") == self.name()]
        plain = [v for v in variations if not v.get("channel") and not v.get("condition")]
        candidates = preferred or plain
        return random.choice(candidates) if candidates else None

    def _response_text(self, name: Text) -> Optional[Text]:
        variation = self._response_variation(name)
        return variation.get("text") if variation else None


def is_assent(emoji: Optional[Text]) -> bool:
    """👍 ❤️ 🙏 👌 in any skin tone, with or without the emoji presentation selector."""
    return bool(emoji) and emoji.translate(_EMOJI_MODIFIERS) in _ASSENT_EMOJI


def _run_now(callback: Callable[[], None]) -> None:
    callback()


def _resolve(receipt: "concurrent.futures.Future[None]", _: Any) -> None:
    try:
        receipt.set_result(None)
    except concurrent.futures.InvalidStateError:  # its waiter on Rasa's loop cancelled it
        pass


def _sanic_response(reply: Reply) -> HTTPResponse:
    status, body = reply
    if isinstance(body, dict):
        return response.json(body, status=status)
    return response.text(str(body), status=status)


def _base_metadata(message: InboundMessage, extra: Dict[Text, Any]) -> Dict[Text, Any]:
    whatsapp: Dict[Text, Any] = dict((extra or {}).get("whatsapp") or {})
    whatsapp.update(
        {
            "wamid": message.id,
            "type": message.raw_type,
            "timestamp": message.timestamp,
            "profile_name": message.profile_name,
            "phone_number_id": message.phone_number_id,
        }
    )
    if message.context_id:
        whatsapp["context_id"] = message.context_id
    return {"whatsapp": whatsapp}


async def _settle(task: Receipt, timeout: float = 2.0) -> None:
    """Waits a little for ``task`` (never cancels it, never raises)."""
    if task.done():  # usual case: asyncio.wait would still cost a turn of the busy loop
        return
    if isinstance(task, concurrent.futures.Future):  # from the webhook server's thread
        task = asyncio.wrap_future(task)
    await asyncio.wait({task}, timeout=timeout)


def _equal(given: Text, expected: Text) -> bool:
    import hmac

    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _install_secrets_filter(config: WhatsAppConfig) -> None:
    secrets = (config.access_token, config.app_secret, config.verify_token)
    for name in _CHANNEL_LOGGERS + ("sanic.access", "sanic.root", "aiohttp.client"):
        channel_logger = logging.getLogger(name)
        for existing in [f for f in channel_logger.filters if isinstance(f, SecretsFilter)]:
            channel_logger.removeFilter(existing)
        channel_logger.addFilter(SecretsFilter(secrets))
