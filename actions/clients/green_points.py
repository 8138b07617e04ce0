"""Client of the Puntos Verdes (recycling points) directory."""
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from actions.clients._http import HttpClient, parsing


@dataclass(frozen=True)
class GreenPoint:
    name: str
    address: str
    barrio: str
    materials: Tuple[str, ...]
    hours: str
    staffed: bool
    distance_m: float

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "GreenPoint":
        return cls(
            name=data["name"],
            address=data["address"],
            barrio=data["barrio"],
            materials=tuple(data["materials"]),
            hours=data["hours"],
            staffed=bool(data["staffed"]),
            distance_m=float(data["distance_m"]),
        )


class GreenPointsClient(HttpClient):
    def nearest(
        self, lat: float, lon: float, material: Optional[str] = None, limit: int = 3
    ) -> List[GreenPoint]:
        body = self._get(
            "/green-points",
            params={"lat": lat, "lon": lon, "material": material, "limit": limit},
        )
        with parsing("green_points"):
            return [GreenPoint.from_json(item) for item in body["green_points"]]
