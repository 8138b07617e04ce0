"""Client of Ecobici's GBFS feeds (station_information + station_status).

The reference service serves the feeds under ``/ecobici/gbfs/``; the City's
real feed is a configuration switch: ``ECOBICI_GBFS_URL`` plus
``ECOBICI_CLIENT_ID`` / ``ECOBICI_CLIENT_SECRET`` (sent as query parameters)
and, if its feed names differ, ``ECOBICI_INFORMATION_FEED`` /
``ECOBICI_STATUS_FEED``.
"""
import logging
import math
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import requests

from actions.clients._http import (
    DEFAULT_TIMEOUT,
    HttpClient,
    Timeout,
    base_url_from_env,
    parsing,
)

logger = logging.getLogger(__name__)

# Plausible box around the City: the real station file has broken
# coordinates (0;0, flipped signs); stations outside after a sign fix are skipped.
_LAT_RANGE = (-34.75, -34.50)
_LON_RANGE = (-58.56, -58.31)


@dataclass(frozen=True)
class StationAvailability:
    station_id: str
    name: str
    address: str
    bikes: int
    docks: int
    distance_m: float


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    radius = 6_371_000.0
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * radius * math.asin(math.sqrt(a))


def plausible_coordinates(lat: Any, lon: Any) -> Optional[Tuple[float, float]]:
    """Coordinates inside the City, with a flipped sign fixed; None otherwise."""
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        return None
    lat, lon = -abs(lat), -abs(lon)
    if _LAT_RANGE[0] <= lat <= _LAT_RANGE[1] and _LON_RANGE[0] <= lon <= _LON_RANGE[1]:
        return lat, lon
    return None


class EcobiciClient(HttpClient):
    def __init__(
        self,
        base_url: str,
        session: Optional[requests.Session] = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
        information_feed: str = "station_information.json",
        status_feed: str = "station_status.json",
    ) -> None:
        super().__init__(base_url, session=session, timeout=timeout)
        self._credentials = (
            {"client_id": client_id, "client_secret": client_secret}
            if client_id and client_secret
            else {}
        )
        self._information_feed = information_feed
        self._status_feed = status_feed
        self._lock = threading.Lock()
        self._information: Optional[Tuple[float, Dict[str, Dict[str, Any]]]] = None

    @classmethod
    def from_env(cls) -> "EcobiciClient":
        base = os.environ.get("ECOBICI_GBFS_URL") or base_url_from_env() + "/ecobici/gbfs"
        return cls(
            base,
            client_id=os.environ.get("ECOBICI_CLIENT_ID") or None,
            client_secret=os.environ.get("ECOBICI_CLIENT_SECRET") or None,
            information_feed=os.environ.get(
                "ECOBICI_INFORMATION_FEED", "station_information.json"
            ),
            status_feed=os.environ.get("ECOBICI_STATUS_FEED", "station_status.json"),
        )

    def _stations(self) -> Dict[str, Dict[str, Any]]:
        """station_information, cached for the feed's own ``ttl``."""
        with self._lock:
            cached = self._information
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        feed = self._get(self._information_feed, params=dict(self._credentials))
        with parsing("ecobici station_information"):
            stations, ttl = self._parse_information(feed)
        with self._lock:
            self._information = (time.monotonic() + ttl, stations)
        return stations

    @staticmethod
    def _parse_information(feed: Dict[str, Any]) -> Tuple[Dict[str, Dict[str, Any]], int]:
        stations: Dict[str, Dict[str, Any]] = {}
        for station in feed["data"]["stations"]:
            coordinates = plausible_coordinates(station.get("lat"), station.get("lon"))
            if coordinates is None:
                logger.info("skipping station %s: unusable coordinates", station.get("station_id"))
                continue
            stations[str(station["station_id"])] = {
                **station,
                "lat": coordinates[0],
                "lon": coordinates[1],
            }
        return stations, max(0, int(feed.get("ttl") or 0))

    def nearest(self, lat: float, lon: float, limit: int = 3) -> List[StationAvailability]:
        stations = self._stations()
        status_feed = self._get(self._status_feed, params=dict(self._credentials))
        with parsing("ecobici station_status"):
            results = self._availability(stations, status_feed, lat, lon)
        results.sort(key=lambda station: station.distance_m)
        return results[: max(0, int(limit))]

    @staticmethod
    def _availability(
        stations: Dict[str, Dict[str, Any]], status_feed: Dict[str, Any], lat: float, lon: float
    ) -> List[StationAvailability]:
        results = []
        for status in status_feed["data"]["stations"]:
            info = stations.get(str(status["station_id"]))
            if info is None or not status.get("is_installed", 1):
                continue
            results.append(
                StationAvailability(
                    station_id=str(status["station_id"]),
                    name=info["name"],
                    address=info.get("address") or "",
                    bikes=int(status["num_bikes_available"]),
                    docks=int(status["num_docks_available"]),
                    distance_m=round(haversine_m(lat, lon, info["lat"], info["lon"]), 1),
                )
            )
        return results
