"""Media files of a conversation: type by magic bytes, and paths that cannot escape their folder.

A ``media_ref`` of a citizen's message is a path the WhatsApp connector wrote;
it comes through the bot, so it is served only when its real path (symlinks
resolved) lies inside the connector's media folder.
"""
import os
import secrets
from pathlib import Path
from typing import Iterable, Optional, Tuple

from channels.whatsapp.media import sniff_forwarded

IMAGE_MAX_BYTES = 5 * 1024 * 1024
DOCUMENT_MAX_BYTES = 16 * 1024 * 1024

_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}


def sniff(data: bytes) -> Optional[str]:
    """The type the bytes really are, by the same magic numbers the WhatsApp connector
    checks citizens' files with (photos, voice notes, PDFs, videos), or None."""
    return sniff_forwarded(data)


def inside(folder: Path, reference: str) -> Optional[Path]:
    """The real path of ``reference`` if it is a file inside ``folder``, else None."""
    try:
        root = Path(os.path.realpath(folder))
        candidate = Path(reference)
        if not candidate.is_absolute():
            candidate = root / candidate
        real = Path(os.path.realpath(candidate))
    except (ValueError, OSError):
        return None
    if root != real and root not in real.parents:
        return None
    return real if real.is_file() else None


def upload_kind(data: bytes) -> Optional[Tuple[str, str]]:
    """(message kind, MIME type) of an operator's upload, or None when refused."""
    mime_type = sniff(data)
    if mime_type in ("image/jpeg", "image/png") and len(data) <= IMAGE_MAX_BYTES:
        return "image", mime_type
    if mime_type == "application/pdf" and len(data) <= DOCUMENT_MAX_BYTES:
        return "document", mime_type
    return None


def save_upload(folder: Path, data: bytes, mime_type: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{secrets.token_hex(16)}{_EXTENSIONS.get(mime_type, '.bin')}"
    temporary = path.with_suffix(path.suffix + ".part")
    temporary.write_bytes(data)
    os.replace(temporary, path)
    return path


def delete_uploads(folder: Path, references: Iterable[str]) -> None:
    for reference in references:
        path = inside(folder, reference)
        if path is not None:
            path.unlink(missing_ok=True)
