"""Typed view of Meta's ``messages`` webhook deliveries.

``parse_notification`` walks every entry, every change, every message and every
status of one delivery and returns frozen dataclasses; nothing downstream reads
the raw JSON. Shapes follow
https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/
"""
import enum
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Text, Tuple

from channels.whatsapp.masking import mask_phone, mask_wamid

logger = logging.getLogger(__name__)

WHATSAPP_OBJECT = "whatsapp_business_account"


class PayloadError(ValueError):
    """The body is JSON but not a webhook delivery at all."""


class MessageType(str, enum.Enum):
    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"
    DOCUMENT = "document"
    STICKER = "sticker"
    LOCATION = "location"
    CONTACTS = "contacts"
    INTERACTIVE = "interactive"
    BUTTON = "button"
    REACTION = "reaction"
    ORDER = "order"
    SYSTEM = "system"
    UNSUPPORTED = "unsupported"
    UNKNOWN = "unknown"

    @classmethod
    def _missing_(cls, value: object) -> "MessageType":
        return cls.UNKNOWN


MEDIA_TYPES = (
    MessageType.IMAGE,
    MessageType.AUDIO,
    MessageType.VIDEO,
    MessageType.DOCUMENT,
    MessageType.STICKER,
)


class StatusKind(str, enum.Enum):
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    DELETED = "deleted"
    PLAYED = "played"
    UNKNOWN = "unknown"

    @classmethod
    def _missing_(cls, value: object) -> "StatusKind":
        return cls.UNKNOWN


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float
    name: Optional[Text] = None
    address: Optional[Text] = None
    url: Optional[Text] = None

    def as_metadata(self) -> Dict[Text, Any]:
        return {
            "latitude": self.latitude,
            "longitude": self.longitude,
            "name": self.name,
            "address": self.address,
        }


@dataclass(frozen=True)
class Media:
    id: Text
    mime_type: Optional[Text] = None
    sha256: Optional[Text] = None
    caption: Optional[Text] = None
    filename: Optional[Text] = None
    voice: bool = False


@dataclass(frozen=True)
class InteractiveReply:
    """A tap on a reply button (``button_reply``) or a list row (``list_reply``)."""

    kind: Text
    id: Text
    title: Optional[Text] = None
    description: Optional[Text] = None


@dataclass(frozen=True)
class TemplateButton:
    """A tap on a quick-reply button of a template message."""

    text: Optional[Text]
    payload: Optional[Text]


@dataclass(frozen=True)
class Reaction:
    message_id: Optional[Text]
    emoji: Optional[Text]


@dataclass(frozen=True)
class ErrorDetail:
    code: Optional[int]
    title: Optional[Text] = None
    message: Optional[Text] = None
    details: Optional[Text] = None


@dataclass(frozen=True)
class InboundMessage:
    """One message a citizen sent to the business number."""

    id: Text
    sender: Text
    timestamp: int
    type: MessageType
    raw_type: Text
    phone_number_id: Optional[Text] = None
    profile_name: Optional[Text] = None
    text: Optional[Text] = None
    media: Optional[Media] = None
    location: Optional[Location] = None
    reply: Optional[InteractiveReply] = None
    button: Optional[TemplateButton] = None
    reaction: Optional[Reaction] = None
    context_id: Optional[Text] = None
    errors: Tuple[ErrorDetail, ...] = ()
    raw: Mapping[Text, Any] = field(default_factory=dict, repr=False, compare=False)

    def __repr__(self) -> Text:  # never print the phone number or the text
        return (
            f"InboundMessage(id={mask_wamid(self.id)!r}, sender={mask_phone(self.sender)!r}, "
            f"type={self.type.value!r}, timestamp={self.timestamp})"
        )


@dataclass(frozen=True)
class StatusUpdate:
    """What happened to a message the business sent."""

    id: Text
    status: StatusKind
    raw_status: Text
    recipient_id: Optional[Text]
    timestamp: int
    errors: Tuple[ErrorDetail, ...] = ()
    conversation_id: Optional[Text] = None
    pricing_category: Optional[Text] = None

    def __repr__(self) -> Text:
        return (
            f"StatusUpdate(id={mask_wamid(self.id)!r}, status={self.raw_status!r}, "
            f"recipient={mask_phone(self.recipient_id)!r})"
        )


@dataclass(frozen=True)
class Change:
    field: Text
    phone_number_id: Optional[Text]
    display_phone_number: Optional[Text]
    messages: Tuple[InboundMessage, ...] = ()
    statuses: Tuple[StatusUpdate, ...] = ()
    errors: Tuple[ErrorDetail, ...] = ()


@dataclass(frozen=True)
class Entry:
    id: Text
    changes: Tuple[Change, ...]


@dataclass(frozen=True)
class Notification:
    object: Text
    entries: Tuple[Entry, ...]
    # malformed entries, changes, messages and statuses left out (each logged)
    skipped: int = 0

    @property
    def messages(self) -> Tuple[InboundMessage, ...]:
        return tuple(m for e in self.entries for c in e.changes for m in c.messages)

    @property
    def statuses(self) -> Tuple[StatusUpdate, ...]:
        return tuple(s for e in self.entries for c in e.changes for s in c.statuses)

    @property
    def errors(self) -> Tuple[ErrorDetail, ...]:
        return tuple(x for e in self.entries for c in e.changes for x in c.errors)


# Meta's deliveries nest about eight levels deep; anything far deeper is not one, and
# parsing or re-serializing it (the dedup store keeps each message's JSON) would recurse
MAX_DEPTH = 32


class _Malformed(ValueError):
    """One item (entry, change, message, status) does not have Meta's shape."""


class _Skips:
    """Counts (and logs, without content) the malformed items of one delivery."""

    def __init__(self) -> None:
        self.count = 0

    def note(self, what: Text, error: BaseException) -> None:
        self.count += 1
        logger.warning("Skipping a malformed %s: %s", what, error if isinstance(error, _Malformed) else type(error).__name__)


# what a wrongly shaped item raises while it is read; the bad item is skipped, never the delivery
_ITEM_ERRORS = (_Malformed, KeyError, TypeError, ValueError, AttributeError, OverflowError)


def load_body(raw: bytes) -> Any:
    """The delivery's JSON. Raises :class:`PayloadError` for anything that is not
    UTF-8 JSON (Meta sends nothing else), or that nests deeper than :data:`MAX_DEPTH`."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise PayloadError("the body is not UTF-8") from None
    except RecursionError:
        raise PayloadError("the body nests too deeply") from None
    except ValueError:  # JSONDecodeError; also integers too long to convert
        raise PayloadError("the body is not JSON") from None
    if _depth_exceeds(body, MAX_DEPTH):
        raise PayloadError("the body nests too deeply")
    return body


def _depth_exceeds(body: Any, limit: int) -> bool:
    stack = [(body, 1)]
    while stack:  # iterative: the check itself must not recurse
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return False


def parse_notification(body: Any) -> Notification:
    """Parses a whole delivery. Raises :class:`PayloadError` on a foreign body.

    A malformed entry, change, message or status inside an otherwise valid
    delivery is skipped (logged, and counted in ``Notification.skipped``), so
    one bad item never hides its siblings.
    """
    if not isinstance(body, dict) or not isinstance(body.get("entry"), list):
        raise PayloadError("not a WhatsApp webhook delivery (no 'entry' list)")
    skips = _Skips()
    entries = []
    for raw_entry in body["entry"]:
        try:
            entry = _item(raw_entry, "entry")
            raw_changes = _list(entry.get("changes"), "changes")
            entry_id = _optional_text(entry.get("id")) or ""
        except _ITEM_ERRORS as error:
            skips.note("webhook entry", error)
            continue
        changes = []
        for raw_change in raw_changes:
            try:
                changes.append(_parse_change(_item(raw_change, "change"), skips))
            except _ITEM_ERRORS as error:
                skips.note("webhook change", error)
        entries.append(Entry(id=entry_id, changes=tuple(changes)))
    return Notification(
        object=_optional_text(body.get("object")) or "", entries=tuple(entries), skipped=skips.count
    )


def _dict(value: Any, what: Text) -> Dict[Text, Any]:
    """``value`` when it is an object; ``{}`` when absent; otherwise the item is malformed."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Malformed(f"{what} is not an object")
    return value


def _item(value: Any, what: Text) -> Dict[Text, Any]:
    """An element of a list (entry, change, message...): it must be an object."""
    if not isinstance(value, dict):
        raise _Malformed(f"{what} is not an object")
    return value


def _list(value: Any, what: Text) -> List[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Malformed(f"{what} is not a list")
    return value


def _text(value: Any, what: Text) -> Text:
    """A required string (ids, phone numbers, types): Meta always sends strings."""
    if not isinstance(value, str) or not value:
        raise _Malformed(f"{what} is not a non-empty string")
    return value


def _optional_text(value: Any) -> Optional[Text]:
    """Optional free text (names, captions, titles): kept only when it is a string."""
    return value if isinstance(value, str) else None


def _timestamp(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise _Malformed("timestamp is not a number")
    return int(value)


def _coordinate(value: Any, limit: float, what: Text) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _Malformed(f"{what} is not a number")
    number = float(value)
    if not -limit <= number <= limit:  # also refuses NaN
        raise _Malformed(f"{what} is out of range")
    return number


def _parse_change(raw: Dict[Text, Any], skips: _Skips) -> Change:
    value = _dict(raw.get("value"), "change value")
    metadata = _dict(value.get("metadata"), "change metadata")
    phone_number_id = _optional_text(metadata.get("phone_number_id"))
    names: Dict[Text, Optional[Text]] = {}
    try:
        for contact in _list(value.get("contacts"), "contacts"):
            contact = _item(contact, "contact")
            names[_text(contact.get("wa_id"), "wa_id")] = _optional_text(
                _dict(contact.get("profile"), "profile").get("name")
            )
    except _ITEM_ERRORS as error:  # only the profile names are lost
        skips.note("contact", error)
    messages: List[InboundMessage] = []
    for raw_message in _list(value.get("messages"), "messages"):
        try:
            messages.append(_parse_message(_item(raw_message, "message"), names, phone_number_id))
        except _ITEM_ERRORS as error:
            skips.note("inbound message", error)
    statuses: List[StatusUpdate] = []
    for raw_status in _list(value.get("statuses"), "statuses"):
        try:
            statuses.append(_parse_status(_item(raw_status, "status")))
        except _ITEM_ERRORS as error:
            skips.note("status", error)
    return Change(
        field=_optional_text(raw.get("field")) or "",
        phone_number_id=phone_number_id,
        display_phone_number=_optional_text(metadata.get("display_phone_number")),
        messages=tuple(messages),
        statuses=tuple(statuses),
        errors=_parse_errors(value.get("errors")),
    )


def _parse_errors(raw: Any) -> Tuple[ErrorDetail, ...]:
    errors = []
    for item in _list(raw, "errors"):
        item = _item(item, "error")
        code = item.get("code")
        if code is not None and (isinstance(code, bool) or not isinstance(code, (int, str))):
            raise _Malformed("error code is not a number")
        errors.append(
            ErrorDetail(
                code=int(code) if code is not None else None,
                title=_optional_text(item.get("title")),
                message=_optional_text(item.get("message")),
                details=_optional_text(_dict(item.get("error_data"), "error_data").get("details")),
            )
        )
    return tuple(errors)


def _parse_media(raw: Dict[Text, Any]) -> Media:
    return Media(
        id=_text(raw.get("id"), "media id"),
        mime_type=_optional_text(raw.get("mime_type")),
        sha256=_optional_text(raw.get("sha256")),
        caption=_optional_text(raw.get("caption")),
        filename=_optional_text(raw.get("filename")),
        voice=raw.get("voice") is True,
    )


def _parse_message(
    raw: Dict[Text, Any], names: Dict[Text, Optional[Text]], phone_number_id: Optional[Text]
) -> InboundMessage:
    raw_type = _text(raw.get("type", "unknown"), "message type")
    kind = MessageType(raw_type)
    sender = _text(raw.get("from"), "sender")
    message_id = _text(raw.get("id"), "message id")
    fields: Dict[Text, Any] = {}

    if kind is MessageType.TEXT:
        body = _dict(raw.get("text"), "text").get("body", "")
        if not isinstance(body, str):
            raise _Malformed("text body is not a string")
        fields["text"] = body
    elif kind in MEDIA_TYPES and raw.get(raw_type) is not None:
        fields["media"] = _parse_media(_dict(raw.get(raw_type), raw_type))
        fields["text"] = fields["media"].caption
    elif kind is MessageType.LOCATION:
        location = _dict(raw.get("location"), "location")
        fields["location"] = Location(
            latitude=_coordinate(location.get("latitude"), 90.0, "latitude"),
            longitude=_coordinate(location.get("longitude"), 180.0, "longitude"),
            name=_optional_text(location.get("name")),
            address=_optional_text(location.get("address")),
            url=_optional_text(location.get("url")),
        )
    elif kind is MessageType.INTERACTIVE:
        interactive = _dict(raw.get("interactive"), "interactive")
        reply_kind = _optional_text(interactive.get("type")) or ""
        reply = interactive.get(reply_kind) if reply_kind else None
        if isinstance(reply, dict) and isinstance(reply.get("id"), str) and reply["id"]:
            fields["reply"] = InteractiveReply(
                kind=reply_kind,
                id=reply["id"],
                title=_optional_text(reply.get("title")),
                description=_optional_text(reply.get("description")),
            )
        else:  # e.g. nfm_reply (flows): not something this assistant sends
            kind = MessageType.UNKNOWN
    elif kind is MessageType.BUTTON:
        button = _dict(raw.get("button"), "button")
        fields["button"] = TemplateButton(
            text=_optional_text(button.get("text")), payload=_optional_text(button.get("payload"))
        )
    elif kind is MessageType.REACTION:
        reaction = _dict(raw.get("reaction"), "reaction")
        fields["reaction"] = Reaction(
            message_id=_optional_text(reaction.get("message_id")),
            emoji=_optional_text(reaction.get("emoji")),
        )

    context = _dict(raw.get("context"), "context")
    return InboundMessage(
        id=message_id,
        sender=sender,
        timestamp=_timestamp(raw.get("timestamp")),
        type=kind,
        raw_type=raw_type,
        phone_number_id=phone_number_id,
        profile_name=names.get(sender),
        context_id=_optional_text(context.get("id")),
        errors=_parse_errors(raw.get("errors")),
        raw=raw,
        **fields,
    )


def _parse_status(raw: Dict[Text, Any]) -> StatusUpdate:
    conversation = _dict(raw.get("conversation"), "conversation")
    pricing = _dict(raw.get("pricing"), "pricing")
    raw_status = _text(raw.get("status"), "status")
    return StatusUpdate(
        id=_text(raw.get("id"), "status id"),
        status=StatusKind(raw_status),
        raw_status=raw_status,
        recipient_id=_optional_text(raw.get("recipient_id")),
        timestamp=_timestamp(raw.get("timestamp")),
        errors=_parse_errors(raw.get("errors")),
        conversation_id=_optional_text(conversation.get("id")),
        pricing_category=_optional_text(pricing.get("category")),
    )


def message_from_record(record: Mapping[Text, Any]) -> InboundMessage:
    """Rebuilds a message stored by the dedup store (see :func:`message_record`)."""
    raw = _item(record.get("message"), "stored message")
    names = {str(raw.get("from")): _optional_text(record.get("profile_name"))}
    return _parse_message(dict(raw), names, _optional_text(record.get("phone_number_id")))


def message_record(message: InboundMessage) -> Dict[Text, Any]:
    """What the dedup store keeps of a message so it can be replayed after a crash."""
    return {
        "message": dict(message.raw),
        "profile_name": message.profile_name,
        "phone_number_id": message.phone_number_id,
    }
