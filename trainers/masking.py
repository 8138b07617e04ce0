"""Mask personal data in citizens' messages before trainers see them.

Kinds: e-mail addresses, phone numbers (including the WhatsApp wa_id the conversation came
from), DNI numbers, licence plates (old "ABC 123", Mercosur "AB 123 CD", motorcycles "123ABC"
and "A123BCD") and street addresses ("Corrientes 1234", "av de mayo al 500", "Corrientes y
Callao"). Each is replaced by a placeholder the merge step knows how to turn back into a sample
value. The entities the NLU found (with their offsets) are masked too, so an address the regular
expressions miss is still hidden when the model recognised it.

The patterns prefer hiding too much to too little: a trainer can still label "mi dni es <DNI>".

Usage: echo "mi dni es 30.123.456" | python -m trainers.masking
"""
import argparse
import hashlib
import hmac
import re
import sys
from typing import Any, Dict, Iterable, List, Optional, Tuple

EMAIL = "<EMAIL>"
PHONE = "<TELEFONO>"
DNI = "<DNI>"
PLATE = "<PATENTE>"
ADDRESS = "<DIRECCION>"
PLACEHOLDERS = (EMAIL, PHONE, DNI, PLATE, ADDRESS)

# Entities whose values are personal data, and the placeholder each becomes.
PII_ENTITIES = {"dni": DNI, "plate": PLATE, "address": ADDRESS, "phone": PHONE, "email": EMAIL}

_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)

# DNI: "30.123.456", "30 123 456", "30123456", "5.123.456"; also any 7-8 digit number after
# the word dni/documento. Checked before phones so a bare 8-digit number counts as a DNI.
_DNI_RE = re.compile(
    r"(?<![\w.+-])(?:\d{1,2}[.\s]\d{3}[.\s]\d{3}|\d{7,8})(?![\w-]|\.\d)", re.UNICODE
)

# Phones: +54 9 11 1234-5678, 011 4123-4567, 15-2345-6789, 4123-4567, 5491123456789 (wa_id).
_PHONE_RE = re.compile(
    r"(?<![\w])(?:\+?\d[\d\s().-]{6,}\d)(?![\w])",
    re.UNICODE,
)

# Three-letter Spanish words that look like the letters of an old plate ("las 100 cuadras").
_NOT_PLATE_WORDS = frozenset(
    """las los por son con del una uno sus mis tus hay van que dos mes ano año tur sol dc nro num
    pag cap art tel cel hrs min mts kms seg dia con sin mas más año eso esa ese fue han has era
    son ver voy ley hoy luz mil ser""".split()
)
_OLD_PLATE_RE = re.compile(r"(?<![\w])([a-zA-Z]{3})[\s-]?(\d{3})(?![\w])")
_MERCOSUR_RE = re.compile(r"(?<![\w])[a-zA-Z]{2}[\s-]?\d{3}[\s-]?[a-zA-Z]{2}(?![\w])")
_MOTO_OLD_RE = re.compile(r"(?<![\w])\d{3}[a-zA-Z]{3}(?![\w])")
_MOTO_MERCOSUR_RE = re.compile(r"(?<![\w])[a-zA-Z]\d{3}[a-zA-Z]{3}(?![\w])")

_STREET_WORD = r"[A-Za-zÁÉÍÓÚÜÑáéíóúüñ][\wÁÉÍÓÚÜÑáéíóúüñ.']*"
_NUMBER = r"(?:al\s+|nro\.?\s*|n°\s*|nº\s*|numero\s+|número\s+)?\d{1,5}(?![\d/:])"
# "calle Bolívar 1234", "av. de mayo al 500", "avenida Rivadavia 5000", "pje. Lanín 33"
_STREET_KIND_RE = re.compile(
    r"(?i)\b(?:calle|av\.?|avda\.?|avenida|pje\.?|pasaje|diag\.?|diagonal|bv\.?|boulevard|"
    r"bulevar|autopista)\s+(?:" + _STREET_WORD + r"\s+){0,3}?" + _NUMBER
)
# "Corrientes 1234", "Juan B. Justo 2000": capitalised words followed by a house number.
_CAPITALISED_RE = re.compile(
    r"\b[A-ZÁÉÍÓÚÑ][\wáéíóúüñ.']+(?:\s+(?:de\s+|del\s+|la\s+)?[A-ZÁÉÍÓÚÑ][\wáéíóúüñ.']*){0,3}"
    r"\s+(?:al\s+)?\d{2,5}(?![\d/:.,]\d|\s*(?:hs|h|horas|pesos|min|minutos|años|km|m|mts)\b)"
)
# "mayo al 500", "rivadavia al 3000": any word(s) followed by "al <number>".
_AL_NUMBER_RE = re.compile(r"(?i)\b(?:" + _STREET_WORD + r"\s+){1,3}al\s+\d{2,5}\b")
# "vivo en corrientes 1234", "estoy en lavalle 900": place words then street and number.
_LIVES_AT_RE = re.compile(
    r"(?i)\b(?:vivo en|estoy en|queda en|domicilio(?: en)?|direcci[oó]n(?: es)?:?|"
    r"en la puerta de|frente a)\s+((?:" + _STREET_WORD + r"\s+){1,4}" + r"\d{1,5})\b"
)
# Corners: "Corrientes y Callao", "esquina Rivadavia y Medrano", "av. Cabildo y Juramento".
_CORNER_RE = re.compile(
    r"\b(?:[Ee]squina\s+(?:de\s+)?" + _STREET_WORD + r"(?:\s+" + _STREET_WORD + r")?"
    r"\s+y\s+" + _STREET_WORD + r"|[A-ZÁÉÍÓÚÑ][\wáéíóúüñ.]+(?:\s+[A-ZÁÉÍÓÚÑ][\wáéíóúüñ.]+)?"
    r"\s+y\s+[A-ZÁÉÍÓÚÑ][\wáéíóúüñ.]+)"
)
_SENTENCE_START_WORDS = frozenset(
    "Hola Buenas Buen Gracias Sí Si No Che Bueno Ok Dale Quiero Necesito".split()
)


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _is_plate_word(letters: str) -> bool:
    return letters.lower() not in _NOT_PLATE_WORDS


def _replace_phone(match: "re.Match[str]") -> str:
    digits = _digits(match.group(0))
    # Dates and times ("15/12", "10.30") and short numbers are no phone numbers.
    if len(digits) < 8 or re.fullmatch(r"[\d\s]*\d{1,2}[./]\d{1,2}[\d\s]*", match.group(0)):
        return match.group(0)
    return PHONE


def _replace_old_plate(match: "re.Match[str]") -> str:
    return PLATE if _is_plate_word(match.group(1)) else match.group(0)


def _replace_capitalised(match: "re.Match[str]") -> str:
    first = match.group(0).split()[0]
    # "Hola 2024", "Gracias 100" and placeholders are no addresses.
    if first in _SENTENCE_START_WORDS or match.group(0).startswith("<"):
        return match.group(0)
    return ADDRESS


_BEFORE_STREET = frozenset({"en", "sobre", "por", "hasta", "desde", "entre"})


def _replace_al_number(match: "re.Match[str]") -> str:
    """Keep the words before the street ("rota en rivadavia al 3000" -> "rota en <DIRECCION>")."""
    words = match.group(0).split()
    cut = max((i + 1 for i, w in enumerate(words[:-2]) if w.lower() in _BEFORE_STREET), default=0)
    if cut >= len(words) - 2:
        return match.group(0)
    return " ".join(words[:cut] + [ADDRESS])


def _replace_corner(match: "re.Match[str]") -> str:
    words = match.group(0).split()
    if words[0] in _SENTENCE_START_WORDS:
        return match.group(0)
    return ADDRESS


def mask_spans(text: str, spans: Iterable[Tuple[int, int, str]]) -> str:
    """Replace the (start, end, placeholder) spans, right to left so offsets stay valid."""
    result = text
    last_start = len(text) + 1
    for start, end, placeholder in sorted(spans, key=lambda s: s[0], reverse=True):
        if 0 <= start < end <= last_start:
            result = result[:start] + placeholder + result[end:]
            last_start = start
    return result


def entity_spans(text: str, entities: Iterable[Dict[str, Any]]) -> List[Tuple[int, int, str]]:
    """Spans of entities the NLU extracted whose kind is personal data."""
    spans = []
    for entity in entities or []:
        placeholder = PII_ENTITIES.get(str(entity.get("entity")))
        start, end = entity.get("start"), entity.get("end")
        if placeholder and isinstance(start, int) and isinstance(end, int) and end <= len(text):
            spans.append((start, end, placeholder))
    return spans


def mask_sender_in_text(text: str, sender_id: Optional[str]) -> str:
    """Hide the conversation's own WhatsApp number (wa_id) wherever it appears in the text."""
    digits = _digits(sender_id or "")
    if len(digits) < 8:
        return text
    # The wa_id is international (5491123456789); citizens write the local part (1123456789).
    candidates = {digits, digits[-10:], digits[-8:]}
    for candidate in sorted(candidates, key=len, reverse=True):
        pattern = r"(?<!\d)" + r"[\s.-]?".join(re.escape(d) for d in candidate) + r"(?!\d)"
        text = re.sub(pattern, PHONE, text)
    return text


def mask_text(
    text: str,
    entities: Optional[Iterable[Dict[str, Any]]] = None,
    sender_id: Optional[str] = None,
) -> str:
    """The message with every kind of personal data replaced by its placeholder."""
    if entities:
        text = mask_spans(text, entity_spans(text, entities))
    text = mask_sender_in_text(text, sender_id)
    text = _EMAIL_RE.sub(EMAIL, text)
    text = _MERCOSUR_RE.sub(PLATE, text)
    text = _MOTO_MERCOSUR_RE.sub(PLATE, text)
    text = _MOTO_OLD_RE.sub(PLATE, text)
    text = _OLD_PLATE_RE.sub(_replace_old_plate, text)
    text = _STREET_KIND_RE.sub(ADDRESS, text)
    text = _LIVES_AT_RE.sub(lambda m: m.group(0).replace(m.group(1), ADDRESS), text)
    text = _AL_NUMBER_RE.sub(_replace_al_number, text)
    text = _CAPITALISED_RE.sub(_replace_capitalised, text)
    text = _CORNER_RE.sub(_replace_corner, text)
    text = _PHONE_RE.sub(_replace_phone_or_dni, text)
    text = _DNI_RE.sub(DNI, text)
    return text


def _replace_phone_or_dni(match: "re.Match[str]") -> str:
    """Numbers shaped like a DNI stay for the DNI pattern; the rest may be phones."""
    if _DNI_RE.fullmatch(match.group(0).strip()):
        return match.group(0)
    return _replace_phone(match)


def mask_sender(sender_id: str, key: bytes) -> str:
    """A stable pseudonym for a conversation id (a WhatsApp wa_id is a phone number).

    Keyed with HMAC so the pseudonym cannot be reversed by hashing every phone number.
    """
    digest = hmac.new(key, sender_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return "conv-" + digest[:10]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m trainers.masking",
        description="Enmascara datos personales del texto que llega por la entrada estándar.",
    )
    parser.parse_args(argv)
    for line in sys.stdin:
        print(mask_text(line.rstrip("\n")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
