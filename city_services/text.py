"""Text normalisation shared by loaders, search and the geocoder."""
import re
import unicodedata
from typing import Optional

_SPACES = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^0-9A-Z ]+")


def fold(text: Optional[str]) -> str:
    """Upper case, no accents, no punctuation, single spaces: 'Núñez ' → 'NUNEZ'."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", str(text))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = _NON_WORD.sub(" ", plain.upper().replace("º", "").replace("°", ""))
    return _SPACES.sub(" ", plain).strip()


def fix_mojibake(text: str) -> str:
    """Undo UTF-8 read as ISO-8859-1 ('NUÃ‘EZ' → 'NUÑEZ'); leave clean text alone."""
    if "Ã" not in text and "Â" not in text:
        return text
    for codec in ("cp1252", "latin-1"):  # 'Ñ' became 'Ã' + '‘' (cp1252 0x91)
        try:
            return text.encode(codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
    return text


def clean_spaces(text: Optional[str]) -> str:
    return _SPACES.sub(" ", text or "").strip()


def title_es(text: str) -> str:
    """'CORDOBA AV. 5741' → 'Cordoba Av. 5741', keeping short Spanish particles low."""
    small = {"de", "del", "la", "las", "los", "y", "e"}
    words = clean_spaces(text).lower().split(" ")
    out = []
    for i, word in enumerate(words):
        if i and word in small:
            out.append(word)
        else:
            out.append(word[:1].upper() + word[1:])
    return " ".join(out)
