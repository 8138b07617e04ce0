"""Media store for inbound photos: a local folder by default (``var/media``).

Only photos are downloaded (the connector answers other media types with what
it can take), so what is stored is checked to be a JPEG, PNG or WebP image by
its bytes, and to match the sha256 Meta gives.

Actions receive the returned reference string (``metadata["whatsapp"]["media"]
["path"]``) and pass it on as ``photo``. Another store (an object bucket) only
needs the same ``save`` method.
"""
import asyncio
import base64
import hashlib
import logging
import mimetypes
import os
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Protocol, Sequence, Text

from channels.whatsapp.graph_api import ForeignMediaHost, GraphApiClient, GraphApiError

logger = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


class MediaStore(Protocol):
    async def save(self, media_id: Text, data: bytes, mime_type: Optional[Text]) -> Text:
        """Stores the bytes; returns the reference actions will receive."""


class LocalMediaStore:
    def __init__(self, root: Text) -> None:
        self._root = os.path.abspath(root)

    def _write(self, name: Text, data: bytes) -> Text:
        os.makedirs(self._root, exist_ok=True)
        path = os.path.join(self._root, name)
        temporary = path + ".part"
        with open(temporary, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
        return path

    async def save(self, media_id: Text, data: bytes, mime_type: Optional[Text]) -> Text:
        extension = mimetypes.guess_extension((mime_type or "").split(";")[0].strip()) or ".bin"
        if extension == ".jpe":
            extension = ".jpg"
        name = _UNSAFE.sub("_", media_id)[:100] + extension
        return await asyncio.to_thread(self._write, name, data)


STORED, FAILED, REFUSED = "stored", "failed", "refused"

# what WhatsApp delivers as a photo (images: JPEG, PNG; stickers: WebP), by magic bytes
_IMAGE_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)


# what a citizen may send an operator besides photos (voice notes, audio, PDFs, videos)
_FORWARDED_SIGNATURES = (
    (b"OggS", "audio/ogg"),
    (b"#!AMR", "audio/amr"),
    (b"ID3", "audio/mpeg"),
    (b"%PDF-", "application/pdf"),
)


def sniff_image(data: bytes) -> Optional[Text]:
    """The image type the bytes really are (``None`` when they are no image we take)."""
    for signature, mime_type in _IMAGE_SIGNATURES:
        if data.startswith(signature):
            return mime_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def sniff_forwarded(data: bytes) -> Optional[Text]:
    """The type of a file a citizen sends an operator (photo, audio, PDF, video), or None."""
    image = sniff_image(data)
    if image:
        return image
    for signature, mime_type in _FORWARDED_SIGNATURES:
        if data.startswith(signature):
            return mime_type
    if data[4:8] == b"ftyp":  # the MP4 family: WhatsApp's videos and some voice notes
        return "audio/mp4" if data[8:11] == b"M4A" else "video/mp4"
    return None


@dataclass(frozen=True)
class StoredMedia:
    """What the message metadata carries about an inbound media file."""

    id: Text
    mime_type: Optional[Text]
    path: Optional[Text]
    # "stored"; "failed" (could not be downloaded); "refused" (downloaded, but its
    # checksum, its content or its host was wrong: nothing is stored)
    status: Text
    reason: Optional[Text] = None

    def as_metadata(self) -> Dict[Text, Any]:
        metadata = {
            "id": self.id,
            "mime_type": self.mime_type,
            "path": self.path,
            "status": self.status,
        }
        if self.reason:
            metadata["reason"] = self.reason
        return metadata


def _matches(data: bytes, expected: Text) -> bool:
    digest = hashlib.sha256(data)
    return expected in (digest.hexdigest(), base64.b64encode(digest.digest()).decode())


async def fetch_media(
    client: GraphApiClient,
    store: MediaStore,
    media_id: Text,
    mime_type: Optional[Text],
    sha256: Optional[Text] = None,
    sniff: Callable[[bytes], Optional[Text]] = sniff_image,
) -> StoredMedia:
    """Resolves, downloads (with the token), checks and stores one photo.

    Never raises. A download failure yields ``status="failed"``; bytes whose
    sha256 differs from Graph's (or the webhook's), bytes that are not an image
    whatever type was declared, or a URL outside Meta's hosts yield
    ``status="refused"``, and nothing is stored.
    """
    try:
        info = await client.get_media(media_id)
        data = await client.download(info.url)
    except ForeignMediaHost as error:
        logger.warning("Refused media %s: %s", media_id, error)
        return StoredMedia(media_id, mime_type, None, REFUSED, "host")
    except (GraphApiError, OSError, KeyError, ValueError) as error:
        logger.warning("Could not fetch media %s: %s", media_id, error)
        return StoredMedia(media_id, mime_type, None, FAILED)
    declared = info.mime_type or mime_type
    expected = info.sha256 or sha256
    if expected and not _matches(data, expected):
        logger.warning("Refused media %s: its checksum differs from Graph's sha256.", media_id)
        return StoredMedia(media_id, declared, None, REFUSED, "checksum")
    actual = sniff(data)
    if actual is None:
        logger.warning("Refused media %s: declared %s, but the bytes are not what we take.", media_id, declared)
        return StoredMedia(media_id, declared, None, REFUSED, "content")
    try:
        path = await store.save(media_id, data, actual)  # named for what it is, not what it claims
    except OSError as error:
        logger.warning("Could not store media %s: %s", media_id, error)
        return StoredMedia(media_id, actual, None, FAILED)
    return StoredMedia(media_id, actual, path, STORED)


# ---- forgetting (privacy/): blocking helpers, run from a thread or the purge command ----


def purge_media(root: Text, before: Optional[float] = None, paths: Sequence[Text] = ()) -> int:
    """Deletes files under ``root`` modified before ``before`` and the given ``paths``.

    A path outside ``root`` is never touched: references come from message metadata.
    """
    root = os.path.realpath(root)
    doomed = set()
    for path in paths:
        real = os.path.realpath(path)
        if real.startswith(root + os.sep) and os.path.isfile(real):
            doomed.add(real)
    if before is not None and os.path.isdir(root):
        for directory, _, names in os.walk(root):
            for name in names:
                path = os.path.join(directory, name)
                if os.path.getmtime(path) < before:
                    doomed.add(path)
    for path in doomed:
        os.remove(path)
    return len(doomed)
