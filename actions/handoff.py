"""Human handoff: the conversation joins the operators' queue and the bot pauses itself.

The queue lives in the operators' console (``console/``). Once queued, the conversation is
paused with Rasa's own ``ConversationPaused``: Rasa keeps logging what the citizen sends,
runs no action, and the WhatsApp connector forwards each message to the console. The
console resumes the bot (``ConversationResumed``) when the operator hands it back.
"""
import asyncio
import logging
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import idempotency_key, rate_limited
from actions.clients.errors import ServiceError
from actions.clients.handoffs import (
    CITIZEN_REQUEST,
    FALLBACK,
    HandoffRequest,
    HandoffsClient,
    HistoryItem,
    QueuedHandoff,
)
from actions.rate_limits import HANDOFF

logger = logging.getLogger(__name__)

# the operator reads at most this many messages of the session from before the handoff
HISTORY_LIMIT = 60
# three "no entendí" in a row: a person takes over instead of a fourth
FALLBACKS_BEFORE_HANDOFF = 3
FALLBACK_INTENT = "nlu_fallback"

# conversation intents (topics/contract): they say nothing about the service the citizen is in
CONVERSATION_INTENTS = frozenset(
    {
        "greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "help",
        "human_handoff", "out_of_scope", "inform", "stop", FALLBACK_INTENT,
    }
)


def _intent(event: Dict[Text, Any]) -> Optional[Text]:
    return ((event.get("parse_data") or {}).get("intent") or {}).get("name")


def _timestamp(event: Dict[Text, Any]) -> Text:
    seconds = event.get("timestamp")
    moment = datetime.fromtimestamp(seconds, timezone.utc) if seconds else datetime.now(timezone.utc)
    return moment.isoformat()


def _session_events(tracker: Tracker) -> List[Dict[Text, Any]]:
    events = list(tracker.events)
    for index in range(len(events) - 1, -1, -1):
        if events[index].get("event") == "session_started":
            return events[index + 1:]
    return events


def _user_item(event: Dict[Text, Any]) -> HistoryItem:
    metadata = event.get("metadata") or {}
    # only the WhatsApp connector may describe media and pins (a REST caller could forge them)
    whatsapp = metadata.get("whatsapp") if event.get("input_channel") == "whatsapp" else None
    whatsapp = whatsapp if isinstance(whatsapp, dict) else {}
    text = event.get("text") or ""
    common = dict(at=_timestamp(event), direction="citizen", external_id=event.get("message_id"))
    media, pin = whatsapp.get("media"), whatsapp.get("location")
    if isinstance(media, dict) and media.get("path"):
        caption = None if text.startswith("/") else text
        return HistoryItem(kind="image", text=caption, media_ref=media["path"],
                           mime_type=media.get("mime_type"), **common)
    if isinstance(pin, dict) and pin.get("latitude") is not None:
        try:
            lat, lon = float(pin["latitude"]), float(pin["longitude"])
        except (KeyError, TypeError, ValueError):
            lat = lon = None
        label = " · ".join(str(pin[k]) for k in ("name", "address") if pin.get(k)) or None
        return HistoryItem(kind="location", text=label, latitude=lat, longitude=lon, **common)
    return HistoryItem(kind="text", text=text, **common)


def conversation_history(tracker: Tracker, limit: int = HISTORY_LIMIT) -> Tuple[HistoryItem, ...]:
    """This session's messages, both ways, oldest first: the operator starts with context."""
    items: List[HistoryItem] = []
    for event in _session_events(tracker):
        if event.get("event") == "user":
            items.append(_user_item(event))
        elif event.get("event") == "bot" and event.get("text"):
            items.append(HistoryItem(at=_timestamp(event), direction="bot", kind="text", text=event["text"]))
    return tuple(items[-limit:])


def conversation_summary(tracker: Tracker, last: int = 5) -> Text:
    """The citizen's last messages of this session, oldest first, one per line."""
    texts = [e.get("text") or "" for e in _session_events(tracker) if e.get("event") == "user"]
    return "\n".join(t for t in texts[-last:] if t and not t.startswith("/"))


def service_topic(tracker: Tracker) -> Optional[Text]:
    """The service the citizen was last asking about (its intent), if any."""
    for event in reversed(_session_events(tracker)):
        if event.get("event") != "user":
            continue
        name = (_intent(event) or "").split("/")[0]
        if name and name not in CONVERSATION_INTENTS:
            return name
    return None


def fallbacks_in_a_row(tracker: Tracker) -> int:
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        if _intent(event) != FALLBACK_INTENT:
            break
        count += 1
    return count


async def queue_for_an_operator(
    client: HandoffsClient,
    tracker: Tracker,
    reason: Text,
    key: Text,
    collected: Optional[Dict[Text, Any]] = None,
    people_in_danger: Optional[bool] = None,
    topic: Optional[Text] = None,
) -> QueuedHandoff:
    """Queues this conversation for the operators; raises ServiceError when the console fails."""
    request = HandoffRequest(
        citizen_id=tracker.sender_id,
        channel=tracker.get_latest_input_channel() or "unknown",
        reason=reason,
        topic=topic or service_topic(tracker),
        people_in_danger=people_in_danger,
        summary=conversation_summary(tracker) or None,
        collected=dict(collected or {}),
        history=conversation_history(tracker),
    )
    return await asyncio.to_thread(client.request, request, key)


class ActionRequestHuman(Action):
    """The citizen asks for a person: queued, told what happens next, and the bot pauses."""

    def __init__(self, client: Optional[HandoffsClient] = None) -> None:
        self._client = client or HandoffsClient.from_env()

    def name(self) -> Text:
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        if await rate_limited(dispatcher, tracker, HANDOFF):
            return []
        return await hand_over(dispatcher, tracker, self._client, CITIZEN_REQUEST, idempotency_key(tracker, self.name()))


async def hand_over(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    client: HandoffsClient,
    reason: Text,
    key: Text,
) -> List[EventType]:
    """Queue, tell the truth about the wait, pause; or apologise and keep the bot on."""
    try:
        queued = await queue_for_an_operator(client, tracker, reason, key)
    except ServiceError as error:
        logger.error("Handoff request failed: %s", type(error).__name__)
        dispatcher.utter_message(response="utter_handoff_unavailable")
        return []
    if queued.open_now:
        dispatcher.utter_message(response="utter_handoff_queued", area=queued.area_name)
    else:
        dispatcher.utter_message(response="utter_handoff_after_hours", area=queued.area_name)
    return [SlotSet("handoff_requested", True), ConversationPaused()]


class ActionHandleFallback(Action):
    """Asks to rephrase once, offers the menu and a person the second time, and after the
    third misunderstanding in a row hands the conversation to a person."""

    def __init__(self, client: Optional[HandoffsClient] = None) -> None:
        self._client = client or HandoffsClient.from_env()

    def name(self) -> Text:
        return "action_handle_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        in_a_row = fallbacks_in_a_row(tracker)
        if in_a_row >= FALLBACKS_BEFORE_HANDOFF:
            if await rate_limited(dispatcher, tracker, HANDOFF):
                return []
            return await hand_over(dispatcher, tracker, self._client, FALLBACK, idempotency_key(tracker, self.name()))
        if in_a_row >= 2:
            dispatcher.utter_message(response="utter_fallback_menu")
        else:
            dispatcher.utter_message(response="utter_ask_rephrase")
        return []


class ActionDefaultFallback(Action):
    """What RulePolicy runs when no policy can tell what to do next (``core_fallback_action_name``).

    Overrides Rasa's own, which says ``utter_default`` and reverts the citizen's message
    (``UserUtteranceReverted``). Here the message stays in the conversation, as the operator
    who may take it over must read it: the bot says plainly it did not know what to do,
    offers the menu, a person and the 147, and waits for the citizen's next message.
    """

    def name(self) -> Text:
        return "action_default_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        logger.info("Core fallback after intent %s", tracker.get_intent_of_latest_message())
        dispatcher.utter_message(response="utter_default")
        # without the revert, listening must be explicit: a policy asked again what to do
        # next could pick the fallback once more
        return [FollowupAction("action_listen")]
