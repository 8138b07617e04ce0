"""Pure builders of Cloud API ``/messages`` request bodies, plus text helpers.

Limits follow Meta's "Messages" reference: text body 4096 characters;
interactive body 1024; reply buttons at most 3 with titles of at most 20
characters; list messages at most 10 rows with titles of at most 24 and
descriptions of at most 72 characters, in at most 10 sections (titles of at
most 24 characters, required when there is more than one), and a list button
label of at most 20.
"""
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

TEXT_LIMIT = 4096
INTERACTIVE_BODY_LIMIT = 1024
BUTTON_TITLE_LIMIT = 20
MAX_REPLY_BUTTONS = 3
BUTTON_ID_LIMIT = 256
LIST_BUTTON_LABEL_LIMIT = 20
LIST_ROW_TITLE_LIMIT = 24
LIST_ROW_DESCRIPTION_LIMIT = 72
LIST_ROW_ID_LIMIT = 200
LIST_SECTION_TITLE_LIMIT = 24
MAX_LIST_ROWS = 10
MAX_LIST_SECTIONS = 10
CAPTION_LIMIT = 1024
ELLIPSIS = "…"

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def shorten(text: Text, limit: int) -> Text:
    """Shortens ``text`` to ``limit`` characters without cutting a word.

    Adds an ellipsis when something was dropped; a single word longer than the
    limit is the only case that gets cut inside the word.
    """
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    room = limit - len(ELLIPSIS)
    cut = text[: room + 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    else:
        cut = cut[:room]
    return cut.rstrip(" ,;:.-") + ELLIPSIS


def split_text(text: Text, limit: int = TEXT_LIMIT) -> List[Text]:
    """Splits a long text into parts of at most ``limit`` characters.

    Cuts at the last paragraph break, else line break, else sentence end, else
    space that fits, so no word (and preferably no sentence) is broken.
    """
    text = (text or "").strip()
    parts: List[Text] = []
    while len(text) > limit:
        window = text[: limit + 1]
        cut = -1
        for separator in ("\n\n", "\n"):
            position = window.rfind(separator)
            if position > limit // 3:
                cut = position
                break
        if cut < 0:
            ends = [m.start() for m in _SENTENCE_END.finditer(window)]
            ends = [e for e in ends if e > limit // 3]
            cut = ends[-1] if ends else window.rfind(" ")
        if cut <= 0:
            cut = limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        parts.append(text)
    return parts


def _envelope(to: Text, kind: Text) -> Dict[Text, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": kind,
    }


@dataclass(frozen=True)
class TextMessage:
    to: Text
    body: Text
    preview_url: bool = False

    def __post_init__(self) -> None:
        if not self.body or len(self.body) > TEXT_LIMIT:
            raise ValueError(f"text body must have 1..{TEXT_LIMIT} characters")

    def to_dict(self) -> Dict[Text, Any]:
        message = _envelope(self.to, "text")
        message["text"] = {"body": self.body, "preview_url": self.preview_url}
        return message


@dataclass(frozen=True)
class ReplyButton:
    id: Text
    title: Text


@dataclass(frozen=True)
class ReplyButtonsMessage:
    to: Text
    body: Text
    buttons: Tuple[ReplyButton, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.buttons) <= MAX_REPLY_BUTTONS:
            raise ValueError("reply buttons: 1 to 3")
        if len(self.body) > INTERACTIVE_BODY_LIMIT:
            raise ValueError("interactive body too long")
        for button in self.buttons:
            if len(button.title) > BUTTON_TITLE_LIMIT or len(button.id) > BUTTON_ID_LIMIT:
                raise ValueError("button title or id too long")

    def to_dict(self) -> Dict[Text, Any]:
        message = _envelope(self.to, "interactive")
        message["interactive"] = {
            "type": "button",
            "body": {"text": self.body},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": b.id, "title": b.title}}
                    for b in self.buttons
                ]
            },
        }
        return message


@dataclass(frozen=True)
class ListRow:
    id: Text
    title: Text
    description: Optional[Text] = None
    # the titled section the row belongs to; consecutive rows of one section are grouped
    section: Optional[Text] = None


@dataclass(frozen=True)
class ListMessage:
    to: Text
    body: Text
    button_label: Text
    rows: Tuple[ListRow, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.rows) <= MAX_LIST_ROWS:
            raise ValueError("list rows: 1 to 10")
        if len(self.body) > INTERACTIVE_BODY_LIMIT:
            raise ValueError("interactive body too long")
        if not self.button_label or len(self.button_label) > LIST_BUTTON_LABEL_LIMIT:
            raise ValueError("list button label: 1 to 20 characters")
        for row in self.rows:
            if len(row.title) > LIST_ROW_TITLE_LIMIT or len(row.id) > LIST_ROW_ID_LIMIT:
                raise ValueError("list row title or id too long")
            if row.description and len(row.description) > LIST_ROW_DESCRIPTION_LIMIT:
                raise ValueError("list row description too long")
        if any(row.section for row in self.rows):
            if not all(row.section for row in self.rows):
                raise ValueError("list rows: all in a section or none")
            titles = [title for title, _ in self._sections()]
            if len(titles) > MAX_LIST_SECTIONS:
                raise ValueError("list sections: at most 10")
            if any(len(title) > LIST_SECTION_TITLE_LIMIT for title in titles):
                raise ValueError("list section title too long")

    def _sections(self) -> List[Tuple[Optional[Text], List[ListRow]]]:
        """Consecutive rows of one section, in order (one untitled section without sections)."""
        sections: List[Tuple[Optional[Text], List[ListRow]]] = []
        for row in self.rows:
            if sections and sections[-1][0] == row.section:
                sections[-1][1].append(row)
            else:
                sections.append((row.section, [row]))
        return sections

    def to_dict(self) -> Dict[Text, Any]:
        sections = []
        for title, rows in self._sections():
            items = []
            for row in rows:
                item = {"id": row.id, "title": row.title}
                if row.description:
                    item["description"] = row.description
                items.append(item)
            section: Dict[Text, Any] = {"title": title} if title else {}
            section["rows"] = items
            sections.append(section)
        message = _envelope(self.to, "interactive")
        message["interactive"] = {
            "type": "list",
            "body": {"text": self.body},
            "action": {"button": self.button_label, "sections": sections},
        }
        return message


@dataclass(frozen=True)
class ImageMessage:
    to: Text
    link: Optional[Text] = None
    media_id: Optional[Text] = None
    caption: Optional[Text] = None

    def __post_init__(self) -> None:
        if bool(self.link) == bool(self.media_id):
            raise ValueError("an image needs exactly one of link or media_id")

    def to_dict(self) -> Dict[Text, Any]:
        image: Dict[Text, Any] = {"link": self.link} if self.link else {"id": self.media_id}
        if self.caption:
            image["caption"] = shorten(self.caption, CAPTION_LIMIT)
        message = _envelope(self.to, "image")
        message["image"] = image
        return message


@dataclass(frozen=True)
class DocumentMessage:
    to: Text
    link: Optional[Text] = None
    media_id: Optional[Text] = None
    filename: Optional[Text] = None
    caption: Optional[Text] = None

    def __post_init__(self) -> None:
        if bool(self.link) == bool(self.media_id):
            raise ValueError("a document needs exactly one of link or media_id")

    def to_dict(self) -> Dict[Text, Any]:
        document: Dict[Text, Any] = (
            {"link": self.link} if self.link else {"id": self.media_id}
        )
        if self.filename:
            document["filename"] = self.filename
        if self.caption:
            document["caption"] = shorten(self.caption, CAPTION_LIMIT)
        message = _envelope(self.to, "document")
        message["document"] = document
        return message


@dataclass(frozen=True)
class LocationMessage:
    to: Text
    latitude: float
    longitude: float
    name: Optional[Text] = None
    address: Optional[Text] = None

    def to_dict(self) -> Dict[Text, Any]:
        location: Dict[Text, Any] = {"latitude": self.latitude, "longitude": self.longitude}
        if self.name:
            location["name"] = self.name
        if self.address:
            location["address"] = self.address
        message = _envelope(self.to, "location")
        message["location"] = location
        return message


@dataclass(frozen=True)
class TemplateMessage:
    to: Text
    name: Text
    language: Text

    def to_dict(self) -> Dict[Text, Any]:
        message = _envelope(self.to, "template")
        message["template"] = {"name": self.name, "language": {"code": self.language}}
        return message


@dataclass(frozen=True)
class CustomMessage:
    """Any Cloud API message body; the envelope fields are filled in."""

    to: Text
    payload: Dict[Text, Any] = field(hash=False)

    def to_dict(self) -> Dict[Text, Any]:
        message = dict(self.payload)
        message.setdefault("messaging_product", "whatsapp")
        message.setdefault("recipient_type", "individual")
        message.setdefault("to", self.to)
        if "type" not in message:
            kinds = [k for k in message if k in _CUSTOM_KINDS]
            if kinds:
                message["type"] = kinds[0]
        return message


_CUSTOM_KINDS = (
    "text",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "template",
    "reaction",
)


@dataclass(frozen=True)
class MarkAsRead:
    """Blue ticks for an inbound message, optionally with the typing indicator."""

    message_id: Text
    typing_indicator: bool = True

    def to_dict(self) -> Dict[Text, Any]:
        body: Dict[Text, Any] = {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": self.message_id,
        }
        if self.typing_indicator:
            body["typing_indicator"] = {"type": "text"}
        return body


def numbered_list(text: Text, titles: Sequence[Text]) -> Text:
    """``text`` followed by ``1. title`` lines (used above 10 choices)."""
    lines = [f"{index}. {title}" for index, title in enumerate(titles, start=1)]
    return "\n".join([text.strip(), ""] + lines if text and text.strip() else lines)
