"""Pure parsers and validators for what citizens type.

Nothing here touches a tracker, a client or the network, so every function is tested
table-driven in tests/actions/test_parsing.py. Functions return a normalized value, or
None when the input cannot be understood; the actions then ask again with an example.

The Spanish words below are *input* vocabulary (what citizens write), not wording the
assistant says: answers live in domain.yml.
"""
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Optional, Tuple

# --- text helpers -------------------------------------------------------------------


def fold(text: str) -> str:
    """Lower-case and strip accents: "Miércoles" -> "miercoles"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower().strip()


# --- licence plates -----------------------------------------------------------------

# Argentine plates: 1995 cars "ABC123", 2016 Mercosur cars "AB123CD",
# older motorcycles "123ABC", Mercosur motorcycles "A123BCD".
PLATE_PATTERNS = (
    re.compile(r"^[A-Z]{3}\d{3}$"),
    re.compile(r"^[A-Z]{2}\d{3}[A-Z]{2}$"),
    re.compile(r"^\d{3}[A-Z]{3}$"),
    re.compile(r"^[A-Z]\d{3}[A-Z]{3}$"),
)
_PLATE_IN_TEXT = re.compile(
    r"(?<![A-Za-z0-9])("
    r"[A-Za-z]{2}[\s.\-]*\d{3}[\s.\-]*[A-Za-z]{2}"
    r"|[A-Za-z][\s.\-]*\d{3}[\s.\-]*[A-Za-z]{3}"
    r"|[A-Za-z]{3}[\s.\-]*\d{3}"
    r"|\d{3}[\s.\-]*[A-Za-z]{3}"
    r")(?![A-Za-z0-9])"
)


def normalize_plate(text: Optional[str]) -> Optional[str]:
    """"ab 123 cd" -> "AB123CD"; "mi patente es abc-123" -> "ABC123"; None if impossible."""
    if not text:
        return None
    compact = re.sub(r"[\s.\-]", "", text).upper()
    if any(p.match(compact) for p in PLATE_PATTERNS):
        return compact
    for match in _PLATE_IN_TEXT.finditer(text):
        candidate = re.sub(r"[\s.\-]", "", match.group(1)).upper()
        if any(p.match(candidate) for p in PLATE_PATTERNS):
            return candidate
    return None


# --- DNI ----------------------------------------------------------------------------

DNI_MIN, DNI_MAX = 1_000_000, 99_999_999
_DNI_IN_TEXT = re.compile(r"(?<![\d.])(\d{1,2}(?:\.\d{3}){2}|\d{7,8})(?![\d.]*\d)")


def normalize_dni(text: Optional[str]) -> Optional[str]:
    """"30.123.456" / "dni 30123456" -> "30123456"; None for 5 digits, 9 digits, letters."""
    if not text:
        return None
    stripped = text.strip()
    compact = re.sub(r"[\s.]", "", stripped)
    if "." in stripped and compact.isdigit() and not re.fullmatch(r"\d{1,2}(\.\d{3}){2}", stripped):
        return None
    if compact.isdigit():
        return compact if DNI_MIN <= int(compact) <= DNI_MAX and len(compact) in (7, 8) else None
    matches = _DNI_IN_TEXT.findall(stripped)
    if len(matches) != 1:
        return None
    digits = matches[0].replace(".", "")
    return digits if DNI_MIN <= int(digits) <= DNI_MAX else None


def parse_vehicle_or_person(text: Optional[str]) -> Optional[Tuple[str, str]]:
    """Plate or DNI, whichever the citizen gave: ("plate", "AB123CD") or ("dni", "30123456")."""
    dni = normalize_dni(text)
    if dni:
        return "dni", dni
    plate = normalize_plate(text)
    if plate:
        return "plate", plate
    return None


def identifier_kind(value: str) -> str:
    """Kind of an already-normalized identifier (a DNI is all digits, a plate is not)."""
    return "dni" if value.isdigit() else "plate"


# --- tickets ------------------------------------------------------------------------

TICKET_PREFIXES = ("SOL", "DC", "TUR")
_TICKET = re.compile(r"(?<![A-Za-z])(sol|dc|tur)?\s*[-#nº°.:]*\s*(?<!\d)(\d{1,6})(?!\d)", re.IGNORECASE)


def normalize_ticket(text: Optional[str], prefix: str) -> Optional[str]:
    """"sol 123" / "123" / "SOL-000123" -> "SOL-000123" for prefix "SOL".

    A number with another system's prefix ("DC-000123" when asking for a request) is None.
    """
    if not text:
        return None
    prefix = prefix.upper()
    matches = list(_TICKET.finditer(text))
    if len(matches) != 1:
        return None
    given_prefix, number = matches[0].group(1), matches[0].group(2)
    if given_prefix and given_prefix.upper() != prefix:
        return None
    if int(number) == 0:
        return None
    return f"{prefix}-{int(number):06d}"


# --- dates and times ----------------------------------------------------------------

WEEKDAYS = {
    "lunes": 0, "martes": 1, "miercoles": 2, "jueves": 3, "viernes": 4, "sabado": 5, "domingo": 6,
}
MONTHS = {
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7,
    "agosto": 8, "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
}
MORNING, AFTERNOON = "morning", "afternoon"
# How far ahead a vague preference ("cuando sea", "esta semana") looks for free slots.
DEFAULT_WINDOW_DAYS = 14
MAX_DAYS_AHEAD = 180


@dataclass(frozen=True)
class DatePreference:
    """A day range and an optional part of the day, as the appointments client wants them."""

    date_from: dt.date
    date_to: dt.date
    part_of_day: Optional[str] = None

    def to_slot(self) -> str:
        """Compact text form stored in a slot: "2026-12-15/2026-12-15/morning"."""
        return "/".join(
            (self.date_from.isoformat(), self.date_to.isoformat(), self.part_of_day or "")
        )

    @classmethod
    def from_slot(cls, value: str) -> "DatePreference":
        start, end, part = value.split("/")
        return cls(dt.date.fromisoformat(start), dt.date.fromisoformat(end), part or None)


def parse_part_of_day(text: Optional[str]) -> Optional[str]:
    """"a la mañana" -> morning, "a la tarde" / "a las 16" -> afternoon, else None."""
    folded = fold(text or "")
    if re.search(r"\b(tarde|tardecita|despues de(l)? mediodia|vespertin[oa])\b", folded):
        return AFTERNOON
    if re.search(r"\b(a|por|de|en|durante) la manana\b|\btemprano\b|\bmatutin[oa]\b", folded):
        return MORNING
    hour = re.search(r"\b(?:a las|tipo|tipo a las|despues de las|antes de las)\s*(\d{1,2})(?::\d{2}|\s*hs?)?\b", folded)
    if not hour:
        hour = re.search(r"\b(\d{1,2})(?::\d{2}|\s*hs)\b", folded)
    if hour:
        value = int(hour.group(1))
        if 0 <= value <= 23:
            return MORNING if value < 13 else AFTERNOON
    return None


def _next_weekday(today: dt.date, weekday: int, strictly_next_week: bool) -> dt.date:
    ahead = (weekday - today.weekday()) % 7
    if ahead == 0:
        ahead = 7
    if strictly_next_week and ahead < 7 and (today + dt.timedelta(days=ahead)).isocalendar()[1] == today.isocalendar()[1]:
        ahead += 7
    return today + dt.timedelta(days=ahead)


def _explicit_date(folded: str, today: dt.date) -> Optional[dt.date]:
    numeric = re.search(r"\b(\d{1,2})[/\-.](\d{1,2})(?:[/\-.](\d{2}|\d{4}))?\b", folded)
    named = re.search(r"\b(\d{1,2})\s+de\s+([a-z]+)(?:\s+(?:de|del)\s+(\d{4}))?\b", folded)
    if numeric:
        day, month, year = numeric.group(1), numeric.group(2), numeric.group(3)
    elif named and named.group(2) in MONTHS:
        day, month, year = named.group(1), str(MONTHS[named.group(2)]), named.group(3)
    else:
        return None
    try:
        if year:
            full_year = int(year) + 2000 if len(year) == 2 else int(year)
            return dt.date(full_year, int(month), int(day))
        candidate = dt.date(today.year, int(month), int(day))
        if candidate < today:  # "15/01" said in November means next January
            candidate = dt.date(today.year + 1, int(month), int(day))
        return candidate
    except ValueError:
        return None


def parse_date_preference(text: Optional[str], today: dt.date) -> Optional[DatePreference]:
    """Spanish day/time preference -> DatePreference, relative to the injected `today`.

    Understands "hoy", "mañana", "pasado mañana", weekday names ("el lunes a la tarde",
    "el martes que viene"), "15/12", "15/12/2026", "15 de diciembre", "esta semana",
    "la semana que viene", "cuando sea", and a part of the day alone ("a la tarde").
    Past dates, impossible dates and dates too far ahead are None.
    """
    folded = fold(text or "")
    if not folded:
        return None
    part = parse_part_of_day(folded)
    explicit = _explicit_date(folded, today)
    if explicit is not None:
        day = explicit
    elif re.search(r"\bpasado\s+manana\b", folded):
        day = today + dt.timedelta(days=2)
    elif re.search(r"\bhoy\b", folded):
        day = today
    elif re.search(r"(^|\b(para|el|de|dia|desde)\s+)manana\b", folded) or folded.startswith("manana"):
        day = today + dt.timedelta(days=1)
    elif any(re.search(rf"\b{name}\b", folded) for name in WEEKDAYS):
        name = next(n for n in WEEKDAYS if re.search(rf"\b{n}\b", folded))
        next_week = bool(re.search(r"\b(semana que viene|proxima semana|semana proxima)\b", folded))
        day = _next_weekday(today, WEEKDAYS[name], next_week)
    elif re.search(r"\b(la )?semana (que viene|proxima)\b|\bproxima semana\b", folded):
        start = today + dt.timedelta(days=7 - today.weekday())
        return DatePreference(start, start + dt.timedelta(days=6), part)
    elif re.search(r"\besta semana\b", folded):
        return DatePreference(today, today + dt.timedelta(days=6 - today.weekday()), part)
    elif re.search(r"\b(cuando sea|lo antes posible|cualquier (dia|momento)|lo mas pronto|el primero)\b", folded) or part:
        return DatePreference(today, today + dt.timedelta(days=DEFAULT_WINDOW_DAYS), part)
    else:
        return None
    if day < today or day > today + dt.timedelta(days=MAX_DAYS_AHEAD):
        return None
    return DatePreference(day, day, part)


# --- kinds of emergencies and requests, from free text --------------------------------

# Input vocabulary (folded, no accents), first match wins: more specific kinds come first.
EMERGENCY_KEYWORDS = (
    ("escape_gas", r"\bgas\b|olor a gas"),
    ("incendio", r"incendi|fuego|llamas|humo|se quema"),
    ("cables_caidos", r"cable"),
    ("derrumbe", r"derrumb|se cayo (una|la) (pared|casa|techo|balcon|mampost)|se vino abajo"),
    ("arbol_caido", r"arbol|rama"),
    ("inundacion", r"inund|anegad|agua hasta|se llueve"),
    ("tormenta", r"tormenta|granizo|viento|temporal|rayo"),
)
REQUEST_KEYWORDS = (
    ("alumbrado", r"luz|luces|luminari|farol|lampara|alumbrado|poste de luz|oscur"),
    ("bache", r"bache|pozo|asfalto|hundimiento"),
    ("residuos", r"basura|residuo|contenedor|recolecc|camion|escombro"),
    ("arbolado", r"arbol|rama|poda|raiz|raices"),
    ("veredas", r"vereda|baldosa|rampa"),
    ("ruido", r"ruido|musica fuerte|bocina"),
)


def _keyword_kind(text: Optional[str], table: Tuple[Tuple[str, str], ...]) -> Optional[str]:
    folded = fold(text or "")
    for kind, pattern in table:
        if re.search(pattern, folded):
            return kind
    return None


def parse_emergency_type(text: Optional[str]) -> Optional[str]:
    """"sale humo del edificio" -> "incendio"; None when no known kind is named."""
    return _keyword_kind(text, EMERGENCY_KEYWORDS)


def parse_request_category(text: Optional[str]) -> Optional[str]:
    """"hay un pozo enorme" -> "bache"; None when no known category is named."""
    return _keyword_kind(text, REQUEST_KEYWORDS)


# --- addresses ----------------------------------------------------------------------

# Corners as people write them: "y", "e", "esq.", "esquina", "casi", "entre X y Y".
_CORNER = re.compile(r"^(.{2,}?)\s+(?:y|e|esq\.?|esquina|casi|entre)\s+(.{2,})$", re.IGNORECASE)
_STREET_NUMBER = re.compile(
    r"^(.*?[A-Za-zÁÉÍÓÚáéíóúÑñ].*?)\s+(?:al\s+|altura\s+|nro\.?\s*|n[°º.]?\s*)?(\d{1,5})\b",
    re.IGNORECASE,
)


def normalize_address(text: Optional[str]) -> Optional[str]:
    """Cheap shape check before geocoding: "Corrientes 1234" or "Corrientes y Callao".

    Returns the cleaned text (single spaces, no trailing punctuation) or None when it
    holds neither a street with a number nor a corner.
    """
    if not text:
        return None
    cleaned = re.sub(r"\s+", " ", text).strip(" .,;")
    if len(cleaned) < 4 or len(cleaned) > 120:
        return None
    if _STREET_NUMBER.search(cleaned) or _CORNER.match(cleaned):
        return cleaned
    return None


# --- formatting of values passed to responses (numbers and dates only, no words) ----


def format_amount(amount: Decimal) -> str:
    """Argentine format: Decimal("12345.5") -> "$ 12.345,50"."""
    quantized = Decimal(amount).quantize(Decimal("0.01"))
    integer, _, cents = f"{quantized:,.2f}".partition(".")
    return f"$ {integer.replace(',', '.')},{cents}"


def format_date(value: dt.date) -> str:
    return value.strftime("%d/%m/%Y")


# Buenos Aires keeps UTC-3 all year (no daylight saving time since 2009).
BUENOS_AIRES = dt.timezone(dt.timedelta(hours=-3))


def format_datetime(value: dt.datetime) -> str:
    """Local time of Buenos Aires; naive values are taken as already local."""
    if value.tzinfo is not None:
        value = value.astimezone(BUENOS_AIRES)
    return value.strftime("%d/%m/%Y %H:%M")


def format_distance(meters: Optional[float]) -> str:
    """350.2 -> "350 m"; 1234 -> "1,2 km"; None -> "" (unknown)."""
    if meters is None:
        return ""
    if meters < 1000:
        return f"{int(round(meters))} m"
    return f"{meters / 1000:.1f} km".replace(".", ",")


# --- health centres -----------------------------------------------------------------

_CESAC_WORDS = re.compile(r"\b(cesac|centros? de salud|salitas?|centros? de atencion primaria)\b")
_HOSPITAL_WORDS = re.compile(r"\b(hospital(es)?|hospi|guardias?)\b")


def health_centre_kind(text: str) -> Optional[str]:
    """The kind of centre a message asks for: "cesac", "hospital" or None (either, or both named)."""
    folded = fold(text or "")
    cesac, hospital = bool(_CESAC_WORDS.search(folded)), bool(_HOSPITAL_WORDS.search(folded))
    if cesac == hospital:
        return None
    return "cesac" if cesac else "hospital"
