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


# Ranks the USIG writes after the name ("LAS HERAS GENERAL AV."); longest first.
_RANKS = (
    "TENIENTE GENERAL", "GENERAL", "DOCTOR", "PRESIDENTE", "CORONEL", "INTENDENTE", "INGENIERO",
    "COMODORO", "ALMIRANTE", "PERITO", "CAPITAN", "MARISCAL", "GOBERNADOR", "TENIENTE", "PADRE",
)
_TRAILING_AVENUE = re.compile(r"[\s,]+(AV|AVDA|AVENIDA)\.?$", re.I)
_LEADING_AVENUE = re.compile(r"^(AV|AVDA|AVENIDA)[.,]?\s+", re.I)


def street_es(name: str) -> str:
    """A street as the city's datasets publish it, written as people write it:
    'RIVADAVIA AV.' → 'Av. Rivadavia', 'SALGUERO, JERONIMO' → 'Jeronimo Salguero',
    'LAS HERAS GENERAL AV.' → 'Av. General Las Heras'. Citizens read these in answers."""
    text = clean_spaces(name)
    avenue = False
    for pattern in (_TRAILING_AVENUE, _LEADING_AVENUE):
        stripped = pattern.sub("", text)
        if stripped != text:
            avenue, text = True, stripped.strip()
    rank = next(
        (r for r in _RANKS if text.upper().endswith(" " + r) and len(text) > len(r) + 1), None
    )
    if rank:
        text = text[: -len(rank) - 1].strip()
    if text.count(",") == 1:  # "SURNAME, GIVEN NAMES"
        surname, given = (part.strip() for part in text.split(","))
        if surname and given:
            text = f"{given} {surname}"
    # the rank goes in front after title-casing, so "Las Heras" keeps its capital
    display = f"{title_es(rank)} {title_es(text)}" if rank else title_es(text)
    return f"Av. {display}" if avenue else display
