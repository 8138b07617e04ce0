"""HTTP clients of the City of Buenos Aires' systems used by the custom actions.

One module per system; every client takes ``base_url`` (or ``from_env()``),
an optional ``requests.Session`` and a timeout, returns frozen dataclasses and
raises the exceptions in :mod:`actions.clients.errors`. Nothing here does I/O
at import or construction.
"""
from actions.clients.appointments import Appointment, AppointmentsClient, HealthCentre, Slot
from actions.clients.ecobici import EcobiciClient, StationAvailability
from actions.clients.errors import (
    Busy,
    Conflict,
    CredentialsRejected,
    InvalidRequest,
    NotFound,
    ServiceError,
    ServiceUnavailable,
)
from actions.clients.geocoding import GeocodingClient, Location
from actions.clients.green_points import GreenPoint, GreenPointsClient
from actions.clients.handoffs import HandoffRequest, HandoffsClient, QueuedHandoff
from actions.clients.incidents import IncidentsClient, Incident
from actions.clients.infractions import Certificate, Infraction, InfractionsClient
from actions.clients.service_requests import ServiceRequest, ServiceRequestsClient
from actions.clients.weather_alerts import WeatherAlert, WeatherAlertsClient

__all__ = [
    "Appointment",
    "AppointmentsClient",
    "Busy",
    "Certificate",
    "Conflict",
    "CredentialsRejected",
    "EcobiciClient",
    "GeocodingClient",
    "GreenPoint",
    "GreenPointsClient",
    "HandoffRequest",
    "HandoffsClient",
    "HealthCentre",
    "Incident",
    "IncidentsClient",
    "Infraction",
    "InfractionsClient",
    "InvalidRequest",
    "Location",
    "NotFound",
    "QueuedHandoff",
    "ServiceError",
    "ServiceRequest",
    "ServiceRequestsClient",
    "ServiceUnavailable",
    "Slot",
    "StationAvailability",
    "WeatherAlert",
    "WeatherAlertsClient",
]
