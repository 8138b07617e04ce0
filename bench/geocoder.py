"""Resolution rate and latency of the reference geocoder on typed addresses.

Runs the test set ``tests/city_services/data/addresses.yml`` (addresses and
corners as citizens type them, with expectations taken from the shipped
datasets) through :class:`city_services.geo.Geocoder` built from the real
datasets, as the city services build it at start, and prints:

- the resolution rate on streets the shipped data knows (target ≥ 90 %);
- how the unknown ones ended (not found, or placed at a barrio);
- per-call latency, p50 and p95, and the index build time.

Run: ``.venv/bin/python -m bench.geocoder``.
"""
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import yaml

from city_services import loaders
from city_services.barrios import canonical_barrio
from city_services.geo import Geocoded, Geocoder, NotFound, haversine_m, street_key
from city_services.seed import _address_points

CASES = Path(__file__).resolve().parents[1] / "tests" / "city_services" / "data" / "addresses.yml"
COLUMNS = ("source", "street", "number", "corner_street", "barrio", "lat", "lon")
TARGET = 0.90


def dataset_rows() -> List[Dict[str, object]]:
    return [dict(zip(COLUMNS, row)) for row in _address_points(loaders.load_all())]


def load_cases(path: Path = CASES) -> List[Dict[str, object]]:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@dataclass(frozen=True)
class Outcome:
    case: Dict[str, object]
    result: Optional[Geocoded]
    ok: bool
    why: str


def _reference_points(rows: Sequence[Dict[str, object]], near: Dict[str, object]) -> List[Dict[str, object]]:
    key = street_key(str(near["street"]))
    if "corner" in near:
        corner = street_key(str(near["corner"]))
        return [r for r in rows if street_key(str(r["street"])) == key
                and street_key(str(r.get("corner_street") or "")) == corner]
    return [r for r in rows if street_key(str(r["street"])) == key and r["number"] == near["number"]]


def _street_points(rows: Sequence[Dict[str, object]], word: str) -> List[Dict[str, object]]:
    wanted = set(street_key(word))
    return [r for r in rows if wanted <= set(street_key(str(r["street"])))
            or wanted <= set(street_key(str(r.get("corner_street") or "")))]


def judge(rows: Sequence[Dict[str, object]], case: Dict[str, object], result: Optional[Geocoded]) -> Outcome:
    """Whether the answer for one case meets its expectation (see the YAML's header)."""
    if case.get("known") is False:
        ok = result is None or result.precision == "barrio"
        return Outcome(case, result, ok, "accepted as written" if ok else "placed an unknown street")
    if result is None:
        return Outcome(case, result, False, "not found")
    if "barrio" in case:
        ok = result.barrio == canonical_barrio(str(case["barrio"]))
        return Outcome(case, result, ok, f"barrio {result.barrio}")
    within = float(case["within_m"])
    if "near" in case:
        refs = _reference_points(rows, case["near"])
        if not refs:
            raise ValueError(f"no dataset record for {case['near']!r}")
        gap = min(haversine_m(result.lat, result.lon, float(r["lat"]), float(r["lon"])) for r in refs)
        return Outcome(case, result, gap <= within, f"{gap:.0f} m from the record")
    gaps = []
    for word in case["near_streets"]:
        points = _street_points(rows, str(word))
        if not points:
            raise ValueError(f"no dataset record on {word!r}")
        gaps.append(min(haversine_m(result.lat, result.lon, float(r["lat"]), float(r["lon"])) for r in points))
    return Outcome(case, result, max(gaps) <= within, f"{max(gaps):.0f} m from the streets' records")


def run(geocoder: Geocoder, rows: Sequence[Dict[str, object]], cases: Sequence[Dict[str, object]]):
    outcomes, latencies = [], []
    for case in cases:
        start = time.perf_counter()
        try:
            result: Optional[Geocoded] = geocoder.locate(str(case["text"]))
        except NotFound:
            result = None
        latencies.append(time.perf_counter() - start)
        outcomes.append(judge(rows, case, result))
    return outcomes, latencies


def resolution_rate(outcomes: Sequence[Outcome]) -> float:
    known = [o for o in outcomes if o.case.get("known") is not False]
    return sum(o.ok for o in known) / len(known)


def main() -> None:
    rows = dataset_rows()
    start = time.perf_counter()
    geocoder = Geocoder(rows)
    build_s = time.perf_counter() - start
    cases = load_cases()
    outcomes, latencies = run(geocoder, rows, cases)
    # Warm repeat for steadier latency figures.
    for _ in range(4):
        latencies += run(geocoder, rows, cases)[1]
    known = [o for o in outcomes if o.case.get("known") is not False]
    unknown = [o for o in outcomes if o.case.get("known") is False]
    rate = resolution_rate(outcomes)
    ms = sorted(x * 1000 for x in latencies)
    print(f"cases: {len(cases)} ({len(known)} on streets the data knows, {len(unknown)} unknown)")
    print(f"index: {len(rows)} dataset points, {len(geocoder.by_key)} streets, built in {build_s * 1000:.0f} ms")
    print(f"resolution rate on known streets: {rate:.1%} (target ≥ {TARGET:.0%})")
    print(f"unknown streets accepted as written / placed at a barrio: "
          f"{sum(o.ok for o in unknown)}/{len(unknown)}")
    print(f"latency per call: p50 {statistics.median(ms):.2f} ms, "
          f"p95 {ms[int(0.95 * (len(ms) - 1))]:.2f} ms, max {ms[-1]:.2f} ms ({len(ms)} calls)")
    for outcome in outcomes:
        if not outcome.ok:
            print(f"  MISS {outcome.case['text']!r}: {outcome.why} -> {outcome.result}")


if __name__ == "__main__":
    main()
