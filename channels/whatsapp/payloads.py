"""Typed view of Meta's ``messages`` webhook deliveries.

``parse_notification`` walks every entry, every change, every message and every
status of one delivery and returns frozen dataclasses; nothing downstream reads
the raw JSON. Shapes follow
https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/
"""
import enum
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

    @property
    def messages(self) -> Tuple[InboundMessage, ...]:
        return tuple(m for e in self.entries for c in e.changes for m in c.messages)

    @property
    def statuses(self) -> Tuple[StatusUpdate, ...]:
        return tuple(s for e in self.entries for c in e.changes for s in c.statuses)

    @property
    def errors(self) -> Tuple[ErrorDetail, ...]:
        return tuple(x for e in self.entries for c in e.changes for x in c.errors)


def parse_notification(body: Any) -> Notification:
    """Parses a whole delivery. Raises :class:`PayloadError` on a foreign body.

    A malformed message or status inside an otherwise valid delivery is skipped
    with a warning, so one bad item never hides its siblings.
    """
    if not isinstance(body, dict) or not isinstance(body.get("entry"), list):
        raise PayloadError("not a WhatsApp webhook delivery (no 'entry' list)")
    entries = []
    for raw_entry in body["entry"]:
        if not isinstance(raw_entry, dict):
            logger.warning("Skipping a malformed webhook entry.")
            continue
        changes = tuple(
            _parse_change(raw_change)
            for raw_change in raw_entry.get("changes") or []
            if isinstance(raw_change, dict)
        )
        entries.append(Entry(id=str(raw_entry.get("id", "")), changes=changes))
    return Notification(object=str(body.get("object", "")), entries=tuple(entries))


def _parse_change(raw: Dict[Text, Any]) -> Change:
    value = raw.get("value") or {}
    metadata = value.get("metadata") or {}
    phone_number_id = metadata.get("phone_number_id")
    names = {
        str(contact.get("wa_id")): (contact.get("profile") or {}).get("name")
        for contact in value.get("contacts") or []
        if isinstance(contact, dict)
    }
    messages: List[InboundMessage] = []
    for raw_message in value.get("messages") or []:
        try:
            messages.append(_parse_message(raw_message, names, phone_number_id))
        except (KeyError, TypeError, ValueError) as error:
            logger.warning("Skipping a malformed inbound message: %s", type(error).__name__)
    statuses: List[StatusUpdate] = []
    for raw_status in value.get("statuses") or []:
        try:
            statuses.append(_parse_status(raw_status))
        except (KeyError, TypeError, ValueError) as error:
            logger.warning("Skipping a malformed status: %s", type(error).__name__)
    return Change(
        field=str(raw.get("field", "")),
        phone_number_id=phone_number_id,
        display_phone_number=metadata.get("display_phone_number"),
        messages=tuple(messages),
        statuses=tuple(statuses),
        errors=_parse_errors(value.get("errors")),
    )


def _parse_errors(raw: Any) -> Tuple[ErrorDetail, ...]:
    errors = []
    for item in raw or []:
        if not isinstance(item, dict):
            continue
        code = item.get("code")
        errors.append(
            ErrorDetail(
                code=int(code) if code is not None else None,
                title=item.get("title"),
                message=item.get("message"),
                details=(item.get("error_data") or {}).get("details"),
            )
        )
    return tuple(errors)


def _parse_media(raw: Dict[Text, Any]) -> Media:
    return Media(
        id=str(raw["id"]),
        mime_type=raw.get("mime_type"),
        sha256=raw.get("sha256"),
        caption=raw.get("caption"),
        filename=raw.get("filename"),
        voice=bool(raw.get("voice", False)),
    )


def _parse_message(
    raw: Dict[Text, Any], names: Dict[Text, Optional[Text]], phone_number_id: Optional[Text]
) -> InboundMessage:
    raw_type = str(raw.get("type", "unknown"))
    kind = MessageType(raw_type)
    sender = str(raw["from"])
    fields: Dict[Text, Any] = {}

    if kind is MessageType.TEXT:
        fields["text"] = (raw.get("text") or {}).get("body", "")
    elif kind in MEDIA_TYPES and isinstance(raw.get(raw_type), dict):
        fields["media"] = _parse_media(raw[raw_type])
        fields["text"] = fields["media"].caption
    elif kind is MessageType.LOCATION:
        location = raw["location"]
        fields["location"] = Location(
            latitude=float(location["latitude"]),
            longitude=float(location["longitude"]),
            name=location.get("name"),
            address=location.get("address"),
            url=location.get("url"),
        )
    elif kind is MessageType.INTERACTIVE:
        interactive = raw.get("interactive") or {}
        reply_kind = str(interactive.get("type", ""))
        reply = interactive.get(reply_kind)
        if isinstance(reply, dict) and "id" in reply:
            fields["reply"] = InteractiveReply(
                kind=reply_kind,
                id=str(reply["id"]),
                title=reply.get("title"),
                description=reply.get("description"),
            )
        else:  # e.g. nfm_reply (flows): not something this assistant sends
            kind = MessageType.UNKNOWN
    elif kind is MessageType.BUTTON:
        button = raw.get("button") or {}
        fields["button"] = TemplateButton(text=button.get("text"), payload=button.get("payload"))
    elif kind is MessageType.REACTION:
        reaction = raw.get("reaction") or {}
        fields["reaction"] = Reaction(
            message_id=reaction.get("message_id"), emoji=reaction.get("emoji")
        )

    context = raw.get("context") or {}
    return InboundMessage(
        id=str(raw["id"]),
        sender=sender,
        timestamp=int(raw.get("timestamp", 0)),
        type=kind,
        raw_type=raw_type,
        phone_number_id=phone_number_id,
        profile_name=names.get(sender),
        context_id=context.get("id"),
        errors=_parse_errors(raw.get("errors")),
        raw=raw,
        **fields,
    )


def _parse_status(raw: Dict[Text, Any]) -> StatusUpdate:
    conversation = raw.get("conversation") or {}
    pricing = raw.get("pricing") or {}
    raw_status = str(raw["status"])
    return StatusUpdate(
        id=str(raw["id"]),
        status=StatusKind(raw_status),
        raw_status=raw_status,
        recipient_id=raw.get("recipient_id"),
        timestamp=int(raw.get("timestamp", 0)),
        errors=_parse_errors(raw.get("errors")),
        conversation_id=conversation.get("id"),
        pricing_category=pricing.get("category"),
    )


def message_from_record(record: Mapping[Text, Any]) -> InboundMessage:
    """Rebuilds a message stored by the dedup store (see :func:`message_record`)."""
    names = {str(record["message"]["from"]): record.get("profile_name")}
    return _parse_message(dict(record["message"]), names, record.get("phone_number_id"))


def message_record(message: InboundMessage) -> Dict[Text, Any]:
    """What the dedup store keeps of a message so it can be replayed after a crash."""
    return {
        "message": dict(message.raw),
        "profile_name": message.profile_name,
        "phone_number_id": message.phone_number_id,
    }
