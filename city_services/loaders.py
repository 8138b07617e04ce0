"""Loaders of the City's open-data CSVs (``data/raw/``, copied unchanged).

Each loader reads one raw file and returns clean, typed records plus the list
of problems it found (also logged). How each file is cleaned:

* ``hospitales.csv`` — ISO-8859-1, ``;``-separated, decimal commas in LNG/LAT.
  Three latitudes lost a digit before the comma (``-3,4643894071866`` for
  ``-34.643894071866``, which would put the hospital at sea): a latitude in (-4, -3) is multiplied by 10 (logged).
  CALLE sometimes repeats the ALTURA at its end (``... AV. 4402``): removed.
  TELEFONO mixes formats (``4121-0700 / 0800``, ``4639-8700 AL 05``,
  ``4360- 3900 / 4301-4870 / 4834``, ``CONMUTADOR``): parsed into
  ``NNNN-NNNN`` numbers, short suffixes completed with the previous prefix,
  ``AL`` ranges kept as their first number.
* ``cesac.csv`` — UTF-8, ``;``-separated, decimal commas; addresses in
  DOM_NORMA, corners written with ``&`` in DOM_GEO; four centres publish no
  address (kept, with an empty address). ESPECIAL is free text: specialties
  are recognised by keyword into canonical names.
* ``puntos-verdes.csv`` — UTF-8, comma-separated, geometry as WKT
  ``POINT (lon lat)``. Materials are a ``/``-separated free list mapped to the
  canonical values (pilas, aceite, vidrio, plastico, papel_carton,
  electronicos, textiles, metales); unmapped ones (orgánicos) are dropped from
  the canonical list. One row's address number differs from its ``altura``
  column: the ``altura`` column wins and the address is rebuilt (logged).
* ``ecobici-estaciones.csv`` — ISO-8859-1, ``;``-separated, mixed CRLF/LF.
  Coordinates: leading spaces stripped; ``0;0`` rows dropped; a positive
  latitude or longitude has its sign fixed; a pair written without decimal
  point (``-34571029;-58422792``) gets it back after the two degree digits; anything still outside the City's
  bounding box is dropped. Every fix and drop is logged with its reason.
* ``comisarias.csv`` — UTF-8 with BOM, ``;``-separated, decimal commas. The
  BARRIO column appears twice (one copy sometimes mojibake ``NUÃ‘EZ`` or
  truncated ``VILLA GRAL``): the first copy that maps to an official barrio
  (after undoing mojibake) is used. Used only as geocoder reference points.
"""
import csv
import io
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from city_services.barrios import canonical_barrio
from city_services.text import clean_spaces, fold, street_es, title_es

logger = logging.getLogger(__name__)

RAW_DIR = Path(__file__).resolve().parent / "data" / "raw"

# Bounding box of the City of Buenos Aires (generous by ~1 km).
LAT_RANGE = (-34.71, -34.52)
LON_RANGE = (-58.54, -58.33)

MATERIALS = (
    "pilas",
    "aceite",
    "vidrio",
    "plastico",
    "papel_carton",
    "electronicos",
    "textiles",
    "metales",
)
# folded keyword → canonical material
_MATERIAL_KEYWORDS = (
    ("RAEE", "electronicos"),
    ("ELECTRONIC", "electronicos"),
    ("ACEITE", "aceite"),
    ("PILA", "pilas"),
    ("PAPEL", "papel_carton"),
    ("CARTON", "papel_carton"),
    ("TETRA", "papel_carton"),
    ("VIDRIO", "vidrio"),
    ("METAL", "metales"),
    ("PLASTICO", "plastico"),
    ("TELGOPOR", "plastico"),
    ("TEXTIL", "textiles"),
    ("ROPA", "textiles"),
)

# Canonical specialty → folded keywords recognised in the datasets' free text.
_SPECIALTY_KEYWORDS = (
    ("clínica médica", ("CLINICA",)),
    ("pediatría", ("PEDIATRIA", "NINO SANO")),
    ("ginecología", ("GINECOLOGIA",)),
    ("obstetricia", ("OBSTETRICIA", "EMBARAZ")),
    ("odontología", ("ODONTOLOGIA",)),
    ("psicología", ("PSICOLOGIA",)),
    ("nutrición", ("NUTRICION",)),
    ("fonoaudiología", ("FONOAUDIOLOGIA",)),
    ("kinesiología", ("KINESIOLOGIA",)),
    ("medicina general", ("MEDICINA GENERAL", "MEDICINA FLIAR", "MEDICINA FAMILIAR")),
    ("salud mental", ("SALUD MENTAL",)),
    ("oftalmología", ("OFTALMOLOGIA",)),
    ("infectología", ("INFECTOLOGIA",)),
    ("neumonología", ("NEUMONOLOGIA",)),
    ("oncología", ("ONCOLOGIA",)),
    ("gastroenterología", ("DIGESTIVO", "GASTROENTEROLOGIA")),
    ("rehabilitación", ("REHABILITACION",)),
    ("geriatría", ("GERIATR",)),
)
# Generated, not published: the hospital file says only "GRAL: BAS/CRIT/OTR"
# for general hospitals, and some CESAC publish no list; the reference
# calendar offers these so that every centre can be booked in tests and demos.
GENERAL_HOSPITAL_SPECIALTIES = (
    "clínica médica",
    "pediatría",
    "ginecología",
    "obstetricia",
    "cardiología",
    "traumatología",
    "dermatología",
    "oftalmología",
)
DEFAULT_PRIMARY_CARE_SPECIALTIES = ("clínica médica", "pediatría")


@dataclass(frozen=True)
class LoadIssue:
    source: str
    row: int
    reason: str
    action: str  # "fixed" | "dropped" | "kept"


@dataclass(frozen=True)
class HealthCentreRecord:
    source_id: str  # "H-<ID>" hospitals, "C-<ID>" CESAC
    kind: str  # "hospital" | "cesac"
    name: str
    address: str
    street: str
    number: Optional[int]
    corner_street: str
    barrio: str
    lat: float
    lon: float
    phones: Tuple[str, ...]
    specialties: Tuple[str, ...]


@dataclass(frozen=True)
class GreenPointRecord:
    source_id: str
    name: str
    address: str
    street: str
    number: Optional[int]
    corner_street: str
    barrio: str
    lat: float
    lon: float
    materials: Tuple[str, ...]
    materials_raw: str
    hours: str
    staffed: bool


@dataclass(frozen=True)
class EcobiciStationRecord:
    station_id: str
    number: str
    name: str
    address: str
    street: str
    house_number: Optional[int]
    barrio: str
    lat: float
    lon: float


@dataclass(frozen=True)
class PoliceStationRecord:
    name: str
    address: str
    street: str
    number: Optional[int]
    corner_street: str
    barrio: str
    lat: float
    lon: float
    phones: Tuple[str, ...]


@dataclass
class LoadResult:
    records: list = field(default_factory=list)
    issues: List[LoadIssue] = field(default_factory=list)

    def issue(self, source: str, row: int, reason: str, action: str) -> None:
        item = LoadIssue(source, row, reason, action)
        self.issues.append(item)
        logger.info("%s row %d: %s (%s)", source, row, reason, action)


# ---------------------------------------------------------------- primitives


def read_rows(path: Path, encoding: str, delimiter: str) -> Tuple[List[str], List[List[str]]]:
    """Header and rows; ``newline=""`` lets csv handle mixed CRLF/LF ends."""
    with open(path, encoding=encoding, newline="") as handle:
        text = handle.read()
    rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if row]
    header = [clean_spaces(name) for name in rows[0]]
    return header, rows[1:]


def cell_reader(header: Sequence[str], row: Sequence[str]) -> Callable[[str], str]:
    """``get(column)`` for one row: the cell with spaces cleaned, '' when the row is short
    (several published files cut trailing empty cells). With repeated column names the last wins."""
    col = {name: i for i, name in enumerate(header)}
    return lambda name: clean_spaces(row[col[name]]) if col[name] < len(row) else ""


def parse_decimal(value: str) -> Optional[float]:
    """'-58,5076' / ' -58.5076' → float; '' → None."""
    value = (value or "").strip().replace(",", ".")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def in_city(lat: float, lon: float) -> bool:
    return LAT_RANGE[0] <= lat <= LAT_RANGE[1] and LON_RANGE[0] <= lon <= LON_RANGE[1]


_WKT_POINT = re.compile(r"^\s*POINT\s*\(\s*(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)\s*\)\s*$", re.I)


def parse_wkt_point(value: str) -> Optional[Tuple[float, float]]:
    """'POINT (lon lat)' → (lat, lon)."""
    match = _WKT_POINT.match(value or "")
    if not match:
        return None
    return float(match.group(2)), float(match.group(1))


_PHONE_PIECE = re.compile(r"(\d{4})\s*-\s*(\d{4})|(?<![\d-])(\d{2,4})(?![\d-])")


def parse_phones(value: str) -> Tuple[str, ...]:
    """Mixed phone formats → ('4121-0700', '4121-0800').

    '4121-0700 / 0800' completes the suffix with the previous prefix;
    '4639-8700 AL 05' keeps the first number of the range; '15-4068-4918'
    (mobile) is kept as written.
    """
    phones: List[str] = []
    text = (value or "").upper()
    for mobile in re.findall(r"\b15\s*-\s*\d{4}\s*-\s*\d{4}\b", text):
        phones.append(re.sub(r"\s+", "", mobile))
        text = text.replace(mobile, " ")
    text = re.sub(r"\bAL\s+\d+", " ", text)  # ranges: keep first number only
    prefix = None
    for match in _PHONE_PIECE.finditer(text):
        if match.group(1):
            prefix = match.group(1)
            phones.append(f"{match.group(1)}-{match.group(2)}")
        elif prefix and len(match.group(3)) == 4:
            phones.append(f"{prefix}-{match.group(3)}")
    seen: Dict[str, None] = {}
    for phone in phones:
        seen.setdefault(phone, None)
    return tuple(seen)


def parse_int(value: str) -> Optional[int]:
    match = re.search(r"\d+", value or "")
    return int(match.group()) if match else None


def specialties_from_text(text: str) -> Tuple[str, ...]:
    folded = fold(text)
    return tuple(
        name
        for name, keywords in _SPECIALTY_KEYWORDS
        if any(keyword in folded for keyword in keywords)
    )


def materials_from_text(text: str) -> Tuple[str, ...]:
    found = set()
    for piece in re.split(r"/", text or ""):
        folded = fold(piece)
        for keyword, material in _MATERIAL_KEYWORDS:
            if keyword in folded:
                found.add(material)
    return tuple(material for material in MATERIALS if material in found)


def _display_address(street: str, number: Optional[int], corner: str = "") -> str:
    if number:
        return f"{street_es(street)} {number}"
    if corner:
        return f"{street_es(street)} y {street_es(corner)}"
    return street_es(street)


def _checked_point(
    result: LoadResult, source: str, row: int, lat: Optional[float], lon: Optional[float]
) -> Optional[Tuple[float, float]]:
    """Fix or drop broken coordinates; every change is recorded."""
    if lat is None or lon is None:
        result.issue(source, row, "missing coordinates", "dropped")
        return None
    if lat == 0 and lon == 0:
        result.issue(source, row, "coordinates 0;0", "dropped")
        return None
    if abs(lat) > 1000 and abs(lon) > 1000:
        # '-34571029;-58422792': the decimal point was lost; both are 2-digit degrees.
        result.issue(source, row, f"coordinates {lat};{lon} without decimal point", "fixed")
        lat = lat / 10 ** (len(str(int(abs(lat)))) - 2)
        lon = lon / 10 ** (len(str(int(abs(lon)))) - 2)
    if lat > 0:
        result.issue(source, row, f"positive latitude {lat}", "fixed")
        lat = -lat
    if lon > 0:
        result.issue(source, row, f"positive longitude {lon}", "fixed")
        lon = -lon
    if -4 < lat < -3:
        result.issue(source, row, f"latitude {lat} lost a digit before the comma", "fixed")
        lat = lat * 10
    if not in_city(lat, lon):
        result.issue(source, row, f"coordinates {lat},{lon} outside the City", "dropped")
        return None
    return lat, lon


def _barrio(result: LoadResult, source: str, row: int, *candidates: str) -> Optional[str]:
    for candidate in candidates:
        barrio = canonical_barrio(candidate)
        if barrio:
            return barrio
    result.issue(source, row, f"unknown barrio {candidates!r}", "dropped")
    return None


# ------------------------------------------------------------------ loaders


def load_hospitals(path: Optional[Path] = None) -> LoadResult:
    path = path or RAW_DIR / "hospitales.csv"
    source = path.name
    header, rows = read_rows(path, "iso-8859-1", ";")
    result = LoadResult()
    for n, row in enumerate(rows, start=2):
        get = cell_reader(header, row)
        point = _checked_point(result, source, n, parse_decimal(get("LAT")), parse_decimal(get("LNG")))
        barrio = _barrio(result, source, n, get("BARRIO"))
        if point is None or barrio is None:
            continue
        number = parse_int(get("ALTURA"))
        street = get("CALLE")
        if number and street.endswith(str(number)):
            street = street[: -len(str(number))].strip()
            result.issue(source, n, "CALLE repeats ALTURA", "fixed")
        name = get("NOMBRE")
        kind_text = fold(get("TIPO_ESPEC"))
        if kind_text.startswith("GRAL"):
            specialties = GENERAL_HOSPITAL_SPECIALTIES
        else:
            specialties = specialties_from_text(get("TIPO_ESPEC") + " " + name)
            if "NINOS" in fold(name) and "pediatría" not in specialties:
                specialties = ("pediatría",) + specialties
            if "MATERNO" in kind_text:
                specialties = ("obstetricia", "ginecología", "pediatría")
            if not specialties and not kind_text and "HOSPITAL" in fold(name):
                specialties = DEFAULT_PRIMARY_CARE_SPECIALTIES[:1]
        result.records.append(
            HealthCentreRecord(
                source_id=f"H-{get('ID')}",
                kind="hospital",
                name=title_es(name),
                address=_display_address(street, number),
                street=street,
                number=number,
                corner_street="",
                barrio=barrio,
                lat=point[0],
                lon=point[1],
                phones=parse_phones(get("TELEFONO")),
                specialties=tuple(specialties),
            )
        )
    return result


def load_cesac(path: Optional[Path] = None) -> LoadResult:
    path = path or RAW_DIR / "cesac.csv"
    source = path.name
    header, rows = read_rows(path, "utf-8", ";")
    result = LoadResult()
    for n, row in enumerate(rows, start=2):
        get = cell_reader(header, row)
        point = _checked_point(result, source, n, parse_decimal(get("Y")), parse_decimal(get("X")))
        barrio = _barrio(result, source, n, get("BARRIO"))
        if point is None or barrio is None:
            continue
        street, number, corner = "", None, ""
        geo = get("DOM_GEO")
        if "&" in geo:
            street, corner = (clean_spaces(part) for part in geo.split("&", 1))
        elif geo:
            match = re.match(r"^(\d+)\s+(.+)$", geo)
            if match:
                number, street = int(match.group(1)), match.group(2)
            else:
                street = geo
        if not street:
            result.issue(source, n, "no address published", "kept")
        specialties = specialties_from_text(get("ESPECIAL"))
        if not specialties:
            specialties = DEFAULT_PRIMARY_CARE_SPECIALTIES
        number_match = re.search(r"(\d+)", get("NOMBRE"))
        name = f"CESAC N° {number_match.group(1)}" if number_match else get("NOMBRE")
        result.records.append(
            HealthCentreRecord(
                source_id=f"C-{get('ID')}",
                kind="cesac",
                name=name,
                address=_display_address(street, number, corner) if street else "",
                street=street,
                number=number,
                corner_street=corner,
                barrio=barrio,
                lat=point[0],
                lon=point[1],
                phones=parse_phones(get("TELEFONO")),
                specialties=specialties,
            )
        )
    return result


def load_green_points(path: Optional[Path] = None) -> LoadResult:
    path = path or RAW_DIR / "puntos-verdes.csv"
    source = path.name
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    result = LoadResult()
    for n, row in enumerate(rows, start=2):
        row = {key: clean_spaces(value) for key, value in row.items()}
        parsed = parse_wkt_point(row["WKT"])
        if parsed is None:
            result.issue(source, n, f"unreadable geometry {row['WKT']!r}", "dropped")
            continue
        point = _checked_point(result, source, n, *parsed)
        barrio = _barrio(result, source, n, row["barrio"])
        if point is None or barrio is None:
            continue
        number = parse_int(row["altura"])
        address = row["direccion"]
        written = re.search(r"\b(\d{2,5})\s*$", address)
        if number and written and int(written.group(1)) != number:
            result.issue(
                source, n, f"address number {written.group(1)} differs from altura {number}", "fixed"
            )
            address = _display_address(row["calle"], number)
        else:
            address = _display_address(row["calle"], number, row["calle2"]) if row["calle"] else address
        materials = materials_from_text(row["materiales"])
        result.records.append(
            GreenPointRecord(
                source_id=row["id"],
                name=title_es(row["nombre"]),
                address=address,
                street=row["calle"],
                number=number,
                corner_street=row["calle2"],
                barrio=barrio,
                lat=point[0],
                lon=point[1],
                materials=materials,
                materials_raw=row["materiales"],
                hours=row["dia_hora"],
                staffed="CON ATENCION" in fold(row["tipo"]),
            )
        )
    return result


def load_ecobici_stations(path: Optional[Path] = None) -> LoadResult:
    path = path or RAW_DIR / "ecobici-estaciones.csv"
    source = path.name
    header, rows = read_rows(path, "iso-8859-1", ";")
    result = LoadResult()
    seen = set()
    for n, row in enumerate(rows, start=2):
        if len(row) < 9:
            result.issue(source, n, f"{len(row)} columns instead of 9", "dropped")
            continue
        station_id, number, name, address, barrio_name = (clean_spaces(v) for v in row[:5])
        point = _checked_point(result, source, n, parse_decimal(row[7]), parse_decimal(row[8]))
        barrio = _barrio(result, source, n, barrio_name)
        if point is None or barrio is None:
            continue
        if station_id in seen:
            result.issue(source, n, f"duplicated station id {station_id}", "dropped")
            continue
        seen.add(station_id)
        match = re.match(r"^(.*?)\s+(\d{1,5})$", address)
        result.records.append(
            EcobiciStationRecord(
                station_id=station_id,
                number=number,
                name=title_es(name),
                address=address,
                street=match.group(1) if match else address,
                house_number=int(match.group(2)) if match else None,
                barrio=barrio,
                lat=point[0],
                lon=point[1],
            )
        )
    return result


def load_police_stations(path: Optional[Path] = None) -> LoadResult:
    path = path or RAW_DIR / "comisarias.csv"
    source = path.name
    header, rows = read_rows(path, "utf-8-sig", ";")
    barrio_columns = [i for i, name in enumerate(header) if name == "BARRIO"]
    result = LoadResult()
    for n, row in enumerate(rows, start=2):
        get = cell_reader(header, row)
        point = _checked_point(result, source, n, parse_decimal(get("Y")), parse_decimal(get("X")))
        barrio = _barrio(result, source, n, *(row[i] for i in barrio_columns if i < len(row)))
        if point is None or barrio is None:
            continue
        street, number, corner = get("CALLE"), parse_int(get("ALTURA")), get("CALLE2")
        result.records.append(
            PoliceStationRecord(
                name=title_es(get("NOMBRE")),
                address=_display_address(street, number, corner),
                street=street,
                number=number,
                corner_street=corner,
                barrio=barrio,
                lat=point[0],
                lon=point[1],
                phones=parse_phones(get("TELEFONOS")),
            )
        )
    return result


LOADERS: Dict[str, Callable[..., LoadResult]] = {
    "hospitales.csv": load_hospitals,
    "cesac.csv": load_cesac,
    "puntos-verdes.csv": load_green_points,
    "ecobici-estaciones.csv": load_ecobici_stations,
    "comisarias.csv": load_police_stations,
}


def load_all(raw_dir: Optional[Path] = None) -> Dict[str, LoadResult]:
    raw_dir = raw_dir or RAW_DIR
    return {name: loader(raw_dir / name) for name, loader in LOADERS.items()}


def summary(results: Dict[str, LoadResult]) -> Sequence[str]:
    return [
        f"{name}: {len(result.records)} records, {len(result.issues)} issues"
        for name, result in results.items()
    ]
