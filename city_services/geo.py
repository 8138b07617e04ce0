"""Distances and the reference geocoder.

The City's own geocoder (USIG) cannot be reached from here, so this one is
built from the addresses with coordinates present in the datasets (hospitals,
CESAC, Puntos Verdes, police stations, Ecobici stations):

1. Street names are normalised: accents, punctuation and case folded; titles
   and street-type words (AV., GRAL., DR., CNEL., ...), particles (DE, LA, ...)
   and initials dropped; the rest compared as a set of words, so
   "CALDERON DE LA BARCA, PEDRO" and "Pedro Calderón de la Barca" are one
   street. A misspelt word is matched to the closest known word (difflib).
2. "Street 1234" (also "al 1234", "N° 1234"): exact number, else linear
   interpolation between the two known numbers that bracket it on the same
   street, else extrapolation along the street's known points up to
   ``MAX_EXTRAPOLATION`` house numbers away.
3. "X y Y" (also "e", "esq.", "esquina", "casi"; "X entre Y y Z" is taken as
   the corner of X and Y): a known corner of both streets; else, when both
   streets have two or more known points far enough apart, the intersection of
   the straight lines fitted through each street's points, if it lies within
   ``MAX_CORNER_REACH_M`` of both streets' known points (Buenos Aires streets
   are mostly straight, but a line through two or three addresses can be off
   by a block or two: precision "corner_approx"); else the midpoint of the
   closest pair of known points of the two streets if they are less than
   ``MAX_CORNER_GAP_M`` apart ("corner_approx").
4. A known street without a number, or with a number too far from the known
   ones: the middle of the street's known points (precision "street", i.e.
   somewhere on that street, possibly kilometres off).
5. Otherwise, a barrio named in the text gives the barrio's centroid (mean of
   all known points in it).
6. Otherwise :class:`NotFound`.

Results are approximations, flagged with ``precision`` ("exact",
"interpolated", "corner", "corner_approx", "street", "barrio").
"""
import difflib
import math
import re
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from city_services.barrios import BARRIOS, canonical_barrio
from city_services.text import fold, street_es, title_es

MAX_EXTRAPOLATION = 1500
MAX_SINGLE_POINT_GAP = 300
MAX_CORNER_GAP_M = 1200.0
# A fitted line is trusted only near the points it was fitted through.
MAX_CORNER_REACH_M = 2500.0
# Bound on the memo of misspelt words (typed text is unbounded).
MAX_CACHED_WORDS = 10_000
# Two points closer than this give no usable direction for a street.
MIN_LINE_SPAN_M = 150.0

_DROP_WORDS = {
    "AV", "AVDA", "AVENIDA", "CALLE", "PJE", "PASAJE", "BLVD", "BOULEVARD",
    "GRAL", "GENERAL", "DR", "DOCTOR", "CNEL", "CORONEL", "TTE", "TENIENTE",
    "PRES", "PRESIDENTE", "INT", "INTENDENTE", "DIP", "NAC", "ING", "INGENIERO",
    "CAP", "CAPITAN", "STO", "SARGENTO", "SGTO", "GOB", "GOBERNADOR", "MINISTRO",
    "VIRREY", "CORBETA", "DON", "DONA", "PTE", "DE", "DEL", "LA", "LAS", "LOS", "EL",
    "Y", "E", "N", "NRO", "NUMERO", "CABA", "CIUDAD", "BUENOS", "AIRES",
}


class NotFound(Exception):
    pass


def _display_street(name: str) -> str:
    """'CORDOBA AV.' / 'Av, San Martin' → 'Av. Cordoba' / 'Av. San Martin'."""
    return street_es(name)


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    radius = 6_371_000.0
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * radius * math.asin(math.sqrt(a))


# Local equirectangular projection around the city's centre: at this scale
# (±20 km) its error is well below a block.
_LAT0, _LON0 = -34.61, -58.44
_M_PER_DEG_LAT = 111_320.0
_M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(_LAT0))


def _to_metres(lat: float, lon: float) -> Tuple[float, float]:
    return (lon - _LON0) * _M_PER_DEG_LON, (lat - _LAT0) * _M_PER_DEG_LAT


def _to_degrees(x: float, y: float) -> Tuple[float, float]:
    return _LAT0 + y / _M_PER_DEG_LAT, _LON0 + x / _M_PER_DEG_LON


def street_key(name: str) -> Tuple[str, ...]:
    """Order-free set of significant words of a street name, as a sorted tuple."""
    words = [
        word for word in fold(name).split()
        if word not in _DROP_WORDS and not (len(word) == 1 and word.isalpha())
    ]
    return tuple(sorted(set(words)))


@dataclass(frozen=True)
class Point:
    street: str
    key: Tuple[str, ...]
    number: Optional[int]
    corner_key: Tuple[str, ...]
    barrio: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Geocoded:
    lat: float
    lon: float
    address: str
    barrio: Optional[str]
    precision: str

    def to_json(self) -> Dict[str, object]:
        return {
            "lat": round(self.lat, 7),
            "lon": round(self.lon, 7),
            "address": self.address,
            "barrio": self.barrio,
            "precision": self.precision,
        }


_NUMBER = re.compile(r"^(?P<street>.*?\D)\s*(?:\bALTURA\b|\bAL\b|\bN\b|\bNRO\b|\bNUMERO\b)?\s*(?P<number>\d{1,5})\b(?P<rest>.*)$")
_NUMBER_ANYWHERE = re.compile(r"\b\d{1,5}\b")
# "al 500", "N° 500", "nro. 500", "altura 500": words between a street and its number.
_NUMBER_WORDS = re.compile(r"(?:\s+(?:ALTURA|AL|N|NRO|NUMERO))+\s*$")
_CORNER = re.compile(r"\s+(?:Y|E|ESQUINA|ESQ|CASI|ENTRE)\s+")
# "Corrientes entre Callao y Riobamba": the first cross street is the corner.
_BETWEEN = re.compile(r"^(?P<street>.+?)\s+ENTRE\s+(?P<cross>.+?)\s+(?:Y|E)\s+.+$")


class Geocoder:
    def __init__(self, rows: Iterable[Dict[str, object]]) -> None:
        self.points: List[Point] = []
        for row in rows:
            key = street_key(str(row["street"]))
            if not key:
                continue
            self.points.append(
                Point(
                    street=str(row["street"]),
                    key=key,
                    number=int(row["number"]) if row.get("number") else None,
                    corner_key=street_key(str(row.get("corner_street") or "")),
                    barrio=str(row["barrio"]),
                    lat=float(row["lat"]),
                    lon=float(row["lon"]),
                )
            )
        # by_key: points whose address is on the street (numbers usable);
        # on_street: also the corners that lie on it.
        self.by_key: Dict[Tuple[str, ...], List[Point]] = {}
        self.on_street: Dict[Tuple[str, ...], List[Point]] = {}
        for point in self.points:
            self.by_key.setdefault(point.key, []).append(point)
            self.on_street.setdefault(point.key, []).append(point)
            if point.corner_key:
                self.by_key.setdefault(point.corner_key, [])
                self.on_street.setdefault(point.corner_key, []).append(point)
        self.vocabulary = sorted({word for key in self.by_key for word in key})
        self._known_words = set(self.vocabulary)
        self._projected = [(*_to_metres(p.lat, p.lon), p.barrio) for p in self.points]
        # difflib over the whole vocabulary is the slowest step: each typed word once.
        self._close_words: Dict[str, str] = {}
        self.street_names: Dict[Tuple[str, ...], str] = {}
        for point in self.points:
            self.street_names.setdefault(point.key, _display_street(point.street))
        for point in self.points:
            if point.corner_key:
                self.street_names.setdefault(point.corner_key, "")
        sums: Dict[str, List[float]] = {}
        for point in self.points:
            acc = sums.setdefault(point.barrio, [0.0, 0.0, 0.0])
            acc[0] += point.lat
            acc[1] += point.lon
            acc[2] += 1
        self.centroids = {
            barrio: (acc[0] / acc[2], acc[1] / acc[2]) for barrio, acc in sums.items()
        }

    # ------------------------------------------------------------ helpers

    def _fix_words(self, key: Sequence[str]) -> Tuple[str, ...]:
        fixed = []
        for word in key:
            if word in self._known_words or word.isdigit():
                fixed.append(word)
                continue
            if word not in self._close_words:
                if len(self._close_words) >= MAX_CACHED_WORDS:
                    self._close_words.clear()
                close = difflib.get_close_matches(word, self.vocabulary, n=1, cutoff=0.8)
                self._close_words[word] = close[0] if close else word
            fixed.append(self._close_words[word])
        return tuple(sorted(set(fixed)))

    def match_streets(self, text: str) -> List[Tuple[str, ...]]:
        """Known street keys for a street name, best first (exact, then supersets)."""
        key = self._fix_words(street_key(text))
        if not key:
            return []
        if key in self.by_key:
            return [key]
        wanted = set(key)
        # A superset may add given names ("Calderón de la Barca" → "Pedro
        # Calderón de la Barca") but never a number ("Mayo" ≠ "25 de Mayo").
        supersets = [
            k for k in self.by_key
            if wanted <= set(k) and not any(word.isdigit() for word in set(k) - wanted)
        ]
        return sorted(supersets, key=lambda k: (len(k) - len(wanted), k))

    def _points_on(self, keys: Sequence[Tuple[str, ...]]) -> List[Point]:
        return [p for key in keys for p in self.on_street.get(key, [])]

    def nearest_barrio(self, lat: float, lon: float) -> Optional[str]:
        # Squared planar distance on pre-projected points: same order as haversine at
        # the city's scale, a fraction of its cost (this ran on every answer).
        x, y = _to_metres(lat, lon)
        best = min(self._projected, key=lambda p: (p[0] - x) ** 2 + (p[1] - y) ** 2, default=None)
        return best[2] if best else None

    def barrio_centre(self, name: str) -> Geocoded:
        barrio = canonical_barrio(name)
        if barrio is None or barrio not in self.centroids:
            raise NotFound(f"unknown barrio {name!r}")
        lat, lon = self.centroids[barrio]
        return Geocoded(lat, lon, barrio, barrio, "barrio")

    # ------------------------------------------------------------- locate

    def locate(self, text: str) -> Geocoded:
        folded = fold(text)
        if not folded:
            raise NotFound("empty address")
        parts = [part.strip() for part in re.split(r"\s*,\s*", text) if part.strip()]
        main = fold(parts[0]) if parts else folded
        hint_barrio = None
        for part in parts[1:]:
            hint_barrio = hint_barrio or canonical_barrio(part)

        between = _BETWEEN.match(main)
        # "Av. Entre Ríos y Moreno": ENTRE is part of a street's name there.
        if between and not self.match_streets(re.sub(r"\s*\d.*$", "", between.group("street"))):
            between = None
        if between and not re.search(r"\d", between.group("street")):
            main = f"{between.group('street')} Y {between.group('cross')}"
        elif between:
            main = between.group("street")
        result = self._by_number(main) or self._by_corner(main)
        if result is not None:
            return result
        # A barrio's name alone ("Núñez") is the barrio, though a street shares it.
        if canonical_barrio(main):
            return self.barrio_centre(canonical_barrio(main))
        result = self._by_street(main)
        if result is not None:
            return result
        barrio = hint_barrio or self._barrio_in(folded)
        if barrio:
            return self.barrio_centre(barrio)
        raise NotFound(f"address not found: {text!r}")

    def _barrio_in(self, folded: str) -> Optional[str]:
        for name in sorted(BARRIOS, key=len, reverse=True):
            if re.search(rf"\b{re.escape(fold(name))}\b", folded):
                return name
        return None

    def _number_splits(self, folded: str) -> Iterable[Tuple[str, int]]:
        """(street, number) readings of the text, the street part growing: a street's own
        leading number ("Av. 24 de Noviembre 1679") is part of its name when the text
        before it names no street."""
        for found in _NUMBER_ANYWHERE.finditer(folded):
            street_text = _NUMBER_WORDS.sub("", folded[: found.start()]).strip()
            if re.search(r"[A-Z]", street_text):
                yield street_text, int(found.group())

    def _by_number(self, folded: str) -> Optional[Geocoded]:
        for street_text, number in self._number_splits(folded):
            located = self._number_on(street_text, number)
            if located is not None:
                return located
        return None

    def _number_on(self, street_text: str, number: int) -> Optional[Geocoded]:
        for key in self.match_streets(street_text):
            points = sorted(
                (p for p in self.by_key.get(key, []) if p.number), key=lambda p: p.number
            )
            located = self._along(points, number)
            if located is not None:
                lat, lon, precision = located
                name = self.street_names.get(key) or street_es(street_text)
                return Geocoded(lat, lon, f"{name} {number}", self.nearest_barrio(lat, lon), precision)
        return None

    @staticmethod
    def _along(points: List[Point], number: int) -> Optional[Tuple[float, float, str]]:
        if not points:
            return None
        for point in points:
            if point.number == number:
                return point.lat, point.lon, "exact"
        # Collapse points sharing a number (several datasets, one building).
        distinct: Dict[int, Point] = {}
        for point in points:
            distinct.setdefault(point.number, point)
        ordered = sorted(distinct.values(), key=lambda p: p.number)
        if len(ordered) == 1:
            only = ordered[0]
            if abs(only.number - number) <= MAX_SINGLE_POINT_GAP:
                return only.lat, only.lon, "interpolated"
            return None
        for low, high in zip(ordered, ordered[1:]):
            if low.number < number < high.number:
                t = (number - low.number) / (high.number - low.number)
                return (low.lat + t * (high.lat - low.lat), low.lon + t * (high.lon - low.lon),
                        "interpolated")
        # Outside the known range: extrapolate from the two nearest known numbers.
        if number < ordered[0].number:
            a, b = ordered[0], ordered[1]
            gap = ordered[0].number - number
        else:
            a, b = ordered[-1], ordered[-2]
            gap = number - ordered[-1].number
        if gap > MAX_EXTRAPOLATION:
            return None
        t = (number - a.number) / (b.number - a.number)
        return a.lat + t * (b.lat - a.lat), a.lon + t * (b.lon - a.lon), "interpolated"

    def _by_street(self, folded: str) -> Optional[Geocoded]:
        """A known street alone (or with an unplaceable number): its middle, approximately."""
        match = _NUMBER.match(folded)
        street_text = match.group("street") if match else folded
        if _CORNER.search(street_text):
            return None
        keys = self.match_streets(street_text)
        if not keys:
            return None
        points = self.on_street.get(keys[0], [])
        if not points:
            return None
        lat = sum(p.lat for p in points) / len(points)
        lon = sum(p.lon for p in points) / len(points)
        name = self.street_names.get(keys[0]) or street_es(street_text)
        if match:
            name = f"{name} {int(match.group('number'))}"
        return Geocoded(lat, lon, name, self.nearest_barrio(lat, lon), "street")

    def _line(self, keys: Sequence[Tuple[str, ...]]) -> Optional[Tuple[float, float, float, float]]:
        """Least-squares line through a street's known points in local metres: (x0, y0, dx, dy)."""
        points = {(p.lat, p.lon) for p in self._points_on(keys)}
        if len(points) < 2:
            return None
        xy = [_to_metres(lat, lon) for lat, lon in points]
        n = len(xy)
        mx = sum(x for x, _ in xy) / n
        my = sum(y for _, y in xy) / n
        sxx = sum((x - mx) ** 2 for x, _ in xy)
        syy = sum((y - my) ** 2 for _, y in xy)
        sxy = sum((x - mx) * (y - my) for x, y in xy)
        if math.sqrt(sxx + syy) < MIN_LINE_SPAN_M:
            return None
        # Principal direction of the scatter (total least squares): no
        # preference for north-south or east-west streets.
        angle = 0.5 * math.atan2(2 * sxy, sxx - syy)
        return mx, my, math.cos(angle), math.sin(angle)

    def _intersection(self, left: Sequence[Tuple[str, ...]], right: Sequence[Tuple[str, ...]]
                      ) -> Optional[Tuple[float, float]]:
        a, b = self._line(left), self._line(right)
        if a is None or b is None:
            return None
        (ax, ay, adx, ady), (bx, by, bdx, bdy) = a, b
        det = adx * (-bdy) - ady * (-bdx)
        if abs(det) < 0.26:  # nearly parallel (< 15°): no reliable crossing
            return None
        t = ((bx - ax) * (-bdy) - (by - ay) * (-bdx)) / det
        x, y = ax + t * adx, ay + t * ady
        lat, lon = _to_degrees(x, y)
        for keys in (left, right):
            reach = min(haversine_m(lat, lon, p.lat, p.lon) for p in self._points_on(keys))
            if reach > MAX_CORNER_REACH_M:
                return None
        return lat, lon

    def _by_corner(self, folded: str) -> Optional[Geocoded]:
        separators = list(_CORNER.finditer(folded))
        for separator in separators:
            left, right = folded[: separator.start()], folded[separator.end():]
            left_keys, right_keys = self.match_streets(left), self.match_streets(right)
            if not left_keys or not right_keys:
                continue
            label = (
                f"{self.street_names.get(left_keys[0]) or street_es(left)} y "
                f"{self.street_names.get(right_keys[0]) or street_es(right)}"
            )
            for point in self.points:
                if (point.key in left_keys and point.corner_key in right_keys) or (
                    point.key in right_keys and point.corner_key in left_keys
                ):
                    return Geocoded(point.lat, point.lon, label, point.barrio, "corner")
            crossing = self._intersection(left_keys[:1], right_keys[:1])
            if crossing is not None:
                lat, lon = crossing
                return Geocoded(lat, lon, label, self.nearest_barrio(lat, lon), "corner_approx")
            best: Optional[Tuple[float, Point, Point]] = None
            for a in self._points_on(left_keys):
                for b in self._points_on(right_keys):
                    gap = haversine_m(a.lat, a.lon, b.lat, b.lon)
                    if best is None or gap < best[0]:
                        best = (gap, a, b)
            if best is not None and best[0] <= MAX_CORNER_GAP_M:
                lat = (best[1].lat + best[2].lat) / 2
                lon = (best[1].lon + best[2].lon) / 2
                return Geocoded(lat, lon, label, self.nearest_barrio(lat, lon), "corner_approx")
        return None
