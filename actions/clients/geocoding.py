"""Client of the city's geocoder (addresses, corners and barrios → coordinates)."""
from dataclasses import dataclass
from typing import Any, Dict, Optional

from actions.clients._http import HttpClient, segment, parsing


@dataclass(frozen=True)
class Location:
    lat: float
    lon: float
    address: str
    barrio: Optional[str]
    # "exact", "interpolated", "corner", "corner_approx", "street" or "barrio"; None from
    # a geocoder that does not say (the field came later than the others).
    precision: Optional[str] = None

    @property
    def approximate(self) -> bool:
        """Placed from nearby known points, not at a known address or corner."""
        return self.precision not in (None, "exact", "corner")

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Location":
        return cls(
            lat=float(data["lat"]),
            lon=float(data["lon"]),
            address=data["address"],
            barrio=data.get("barrio"),
            precision=data.get("precision"),
        )


class GeocodingClient(HttpClient):
    def locate(self, address: str) -> Location:
        """NotFound when the address cannot be placed."""
        with parsing("geocoding"):
            return Location.from_json(self._get("/geocode", params={"address": address}))

    def barrio_centre(self, barrio: str) -> Location:
        with parsing("geocoding"):
            return Location.from_json(self._get(f"/barrios/{segment(barrio)}"))
