"""The HTTP layer of the reference service (Sanic 21.12, as in Rasa 3.6).

Why Sanic with a thread pool rather than a threaded WSGI server: it is
already installed with Rasa, gives routing, JSON and error handlers, and one
process serves many slow clients. Handlers stay ``async`` and never touch the
database on the event loop: every repository call (blocking DB-API) runs in
a bounded ``ThreadPoolExecutor`` through :func:`_db`.

Contract: ``city_services/openapi.yaml`` (served at ``GET /openapi.yaml``);
a test keeps routes and documented paths identical.
"""
import asyncio
import functools
import hmac
import json as stdlib_json
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Dict, Optional
from urllib.parse import unquote

from sanic import Sanic
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse, json as _json, raw, text

from city_services import repository, retention, validation as v
from city_services.barrios import canonical_barrio
from city_services.clock import now
from city_services.config import Settings
from city_services.db import Database
from city_services.geo import Geocoder, NotFound as GeoNotFound
from city_services.loaders import MATERIALS
from city_services.seed import initialise
from city_services.validation import ApiError

logger = logging.getLogger(__name__)

_dumps = functools.partial(stdlib_json.dumps, ensure_ascii=False, separators=(",", ":"))


def json(body: Any, status: int = 200, **kwargs: Any) -> HTTPResponse:
    """JSON in UTF-8 (accents readable), not ujson's escaped output."""
    return _json(body, status=status, dumps=_dumps, **kwargs)


OPENAPI = Path(__file__).resolve().parent / "openapi.yaml"
GBFS_TTL = 60


def create_app(settings: Settings, name: str = "city_services") -> Sanic:
    # configure_logging=False: Sanic's loggers propagate to the root logger
    # configured by __main__ instead of printing every line twice.
    app = Sanic(name, configure_logging=False)
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.ctx.settings = settings
    app.ctx.executor = ThreadPoolExecutor(max_workers=settings.db_threads,
                                          thread_name_prefix="city-db")
    app.ctx.database = None
    app.ctx.geocoder = None
    app.ctx.serving = False

    @app.before_server_start
    async def start(app_: Sanic, _loop) -> None:
        database = Database(settings.database_url)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(app_.ctx.executor, initialise, database, settings.calendar_days)
        rows = await loop.run_in_executor(app_.ctx.executor, repository.address_points, database)
        app_.ctx.geocoder = Geocoder(rows)
        app_.ctx.database = database
        logger.info("city_services ready on %s database", database.dialect)

    @app.after_server_start
    async def serving(app_: Sanic, _loop) -> None:
        app_.ctx.serving = True

    @app.after_server_stop
    async def stop(app_: Sanic, _loop) -> None:
        if app_.ctx.database is not None:
            app_.ctx.database.close()
        app_.ctx.executor.shutdown(wait=False)

    @app.on_request
    async def refuse_nul(request: Request) -> Optional[HTTPResponse]:
        # No route takes a NUL character, and PostgreSQL cannot even compare text with one
        # (psycopg2 raises ValueError, a 500); bodies are covered by the validators.
        if "\x00" in unquote(request.path) or "\x00" in unquote(request.query_string):
            return json({"error": {"code": "invalid_request", "message": "NUL characters are not allowed"}},
                        status=400)
        return None

    async def _db(request: Request, func: Callable, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        call = functools.partial(func, request.app.ctx.database, *args)
        return await loop.run_in_executor(request.app.ctx.executor, call)

    def _base_url(request: Request) -> str:
        return settings.public_url or f"{request.scheme}://{request.host}"

    def _body(request: Request) -> Dict[str, Any]:
        try:
            body = request.json
        except Exception:  # Sanic raises InvalidUsage on malformed JSON
            raise ApiError(400, "invalid_json", "the body is not valid JSON") from None
        return v.json_object(body)

    def _operator(request: Request) -> None:
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        if not token or not hmac.compare_digest(token.encode(), settings.operator_token.encode()):
            raise ApiError(401, "operator_token_required",
                           "a valid operator token is required (Authorization: Bearer ...)")

    async def _created(request: Request, func: Callable, *args: Any) -> HTTPResponse:
        """201 with the new record; with an ``Idempotency-Key`` header, a repeat of the
        key answers the first response instead of creating a second record (a client
        that timed out may retry safely). Keys are scoped by route."""
        header = request.headers.get("idempotency-key")
        if header is None:
            return json(await _db(request, func, *args), status=201)
        key = v.text(header, "idempotency_key", 200)
        route = f"{request.method} {request.path}"
        status, body, replayed = await _db(
            request, repository.idempotent_create, f"{route}|{key}", route, func, *args
        )
        return json(body, status=status, headers={"Idempotent-Replayed": "true"} if replayed else None)

    def _citizen(request: Request, required: bool = True) -> Optional[str]:
        """The chat identity asking (``citizen_id`` query parameter)."""
        return v.text(request.args.get("citizen_id"), "citizen_id", 200, required=required)

    def _subject(source: Dict[str, Any]) -> Dict[str, Optional[str]]:
        plate = source.get("plate")
        dni = source.get("dni")
        if not plate and not dni:
            raise ApiError(400, "missing_subject", "plate or dni is required")
        return {
            "plate": v.plate(plate) if plate else None,
            "dni": v.dni(dni) if dni else None,
        }

    # ------------------------------------------------------------ errors

    @app.exception(ApiError)
    async def api_error(_request: Request, error: ApiError) -> HTTPResponse:
        return json(error.body(), status=error.status)

    @app.exception(SanicException)
    async def sanic_error(_request: Request, error: SanicException) -> HTTPResponse:
        status = getattr(error, "status_code", 500) or 500
        # "route_not_found" (no such path) differs from "not_found" (no such record).
        code = {404: "route_not_found", 405: "method_not_allowed"}.get(status, "bad_request")
        if status >= 500:
            code = "internal_error"
        return json({"error": {"code": code, "message": str(error) or code}}, status=status)

    @app.exception(Exception)
    async def unexpected(request: Request, error: Exception) -> HTTPResponse:
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return json({"error": {"code": "internal_error", "message": "internal error"}},
                    status=500)

    # --------------------------------------------------------------- meta

    @app.get("/health")
    async def health(request: Request) -> HTTPResponse:
        return json(await _db(request, repository.health))

    @app.get("/openapi.yaml")
    async def openapi(_request: Request) -> HTTPResponse:
        return text(OPENAPI.read_text(encoding="utf-8"), content_type="application/yaml")

    # -------------------------------------------------------- infractions

    @app.get("/infractions")
    async def infractions(request: Request) -> HTTPResponse:
        subject = _subject({"plate": request.args.get("plate"), "dni": request.args.get("dni")})
        return json(await _db(request, repository.find_infractions, subject["plate"],
                              subject["dni"]))

    @app.post("/certificates")
    async def issue_certificate(request: Request) -> HTTPResponse:
        subject = _subject(_body(request))
        return await _created(request, repository.issue_certificate, subject["plate"],
                              subject["dni"], _base_url(request))

    @app.get("/certificates/<code:str>")
    async def certificate(request: Request, code: str) -> HTTPResponse:
        # One route serves both: sanic-routing 0.7 cannot tell "{code}" from "{code}.pdf".
        code = unquote(code).strip()
        if code.endswith(".pdf"):
            pdf = await _db(request, repository.certificate_pdf, code[:-4].upper())
            return raw(pdf, content_type="application/pdf", headers={
                "Content-Disposition": f'inline; filename="libre-deuda-{code[:-4].upper()}.pdf"'})
        return json(await _db(request, repository.get_certificate, code.upper(),
                              _base_url(request)))

    # ------------------------------------------------------ health centres

    @app.get("/health-centres")
    async def health_centres(request: Request) -> HTTPResponse:
        args = request.args
        name = v.text(args.get("name"), "name", 120, required=False)
        barrio = None
        if args.get("barrio"):
            barrio = canonical_barrio(args.get("barrio"))
            if barrio is None:
                raise v.invalid("barrio", "unknown barrio")
        near = v.lat_lon(args, required=False)
        specialty = v.text(args.get("specialty"), "specialty", 80, required=False)
        limit = v.integer(args.get("limit"), "limit", 1, 100, 3)
        centres = await _db(request, repository.find_centres, name, barrio, near, specialty, limit)
        return json({"centres": centres})

    @app.get("/specialties")
    async def specialties(request: Request) -> HTTPResponse:
        return json({"specialties": await _db(request, repository.specialties)})

    @app.get("/health-centres/<centre_id:str>/slots")
    async def slots(request: Request, centre_id: str) -> HTTPResponse:
        args = request.args
        specialty = v.text(args.get("specialty"), "specialty", 80)
        date_from = v.iso_date(args.get("from") or now().date().isoformat(), "from")
        date_to = v.iso_date(args.get("to") or date_from.isoformat(), "to")
        if date_to < date_from:
            raise v.invalid("to", "to must not be before from")
        if (date_to - date_from).days > 92:
            raise v.invalid("to", "the range may not exceed 92 days")
        part = v.choice(args.get("part_of_day"), "part_of_day", ("morning", "afternoon"),
                        required=False)
        limit = v.integer(args.get("limit"), "limit", 1, 100, 5)
        result = await _db(request, repository.free_slots, unquote(centre_id), specialty, date_from,
                           date_to, part, limit)
        return json({"slots": result})

    @app.post("/appointments")
    async def book(request: Request) -> HTTPResponse:
        body = _body(request)
        slot_id = v.integer(body.get("slot_id"), "slot_id", 1, 2**31 - 1, 0)
        if not slot_id:
            raise v.invalid("slot_id", "slot_id is required")
        dni = v.dni(body.get("dni"))
        citizen_id = v.text(body.get("citizen_id"), "citizen_id", 200)
        return await _created(request, repository.book, slot_id, dni, citizen_id)

    @app.get("/appointments")
    async def appointments(request: Request) -> HTTPResponse:
        citizen_id = _citizen(request)
        return json({"appointments": await _db(request, repository.list_appointments, citizen_id)})

    @app.post("/appointments/<code:str>/cancel")
    async def cancel(request: Request, code: str) -> HTTPResponse:
        code = v.reference(code, "TUR")
        citizen_id = v.text(_body(request).get("citizen_id"), "citizen_id", 200)
        return json(await _db(request, repository.cancel_appointment, code, citizen_id))

    # ---------------------------------------------------- service requests

    def _location(body: Dict[str, Any]) -> Dict[str, Any]:
        fields = {
            "address": v.text(body.get("address"), "address", 300, required=False),
            "lat": v.number(body.get("lat"), "lat", -90, 90, required=False),
            "lon": v.number(body.get("lon"), "lon", -180, 180, required=False),
            "photo": v.text(body.get("photo"), "photo", 500, required=False),
        }
        if (fields["lat"] is None) != (fields["lon"] is None):
            raise v.invalid("lat", "lat and lon go together")
        return fields

    @app.post("/service-requests")
    async def create_request(request: Request) -> HTTPResponse:
        body = _body(request)
        fields = {
            "category": v.choice(body.get("category"), "category", repository.REQUEST_CATEGORIES),
            "description": v.text(body.get("description"), "description", 2000),
            "citizen_id": v.text(body.get("citizen_id"), "citizen_id", 200),
            **_location(body),
        }
        if fields["address"] is None and fields["lat"] is None:
            raise v.invalid("address", "address or lat/lon is required")
        return await _created(request, repository.create_service_request, fields)

    @app.get("/service-requests/<ticket:str>")
    async def get_request(request: Request, ticket: str) -> HTTPResponse:
        ticket = v.reference(ticket, "SOL")
        citizen_id = _citizen(request, required=False)
        return json(await _db(request, repository.get_service_request, ticket, citizen_id))

    @app.post("/service-requests/<ticket:str>/status")
    async def set_request_status(request: Request, ticket: str) -> HTTPResponse:
        _operator(request)
        ticket = v.reference(ticket, "SOL")
        status = v.choice(_body(request).get("status"), "status", repository.REQUEST_STATUSES)
        return json(await _db(request, repository.set_service_request_status, ticket, status))

    # ----------------------------------------------------------- incidents

    @app.post("/incidents")
    async def create_incident(request: Request) -> HTTPResponse:
        body = _body(request)
        fields = {
            "kind": v.choice(body.get("kind"), "kind", repository.INCIDENT_KINDS),
            "description": v.text(body.get("description"), "description", 2000),
            "citizen_id": v.text(body.get("citizen_id"), "citizen_id", 200),
            "people_at_risk": v.boolean(body.get("people_at_risk"), "people_at_risk"),
            **_location(body),
        }
        return await _created(request, repository.create_incident, fields)

    @app.get("/incidents/<number:str>")
    async def get_incident(request: Request, number: str) -> HTTPResponse:
        number = v.reference(number, "DC")
        citizen_id = _citizen(request, required=False)
        return json(await _db(request, repository.get_incident, number, citizen_id))

    # -------------------------------------------------------- green points

    @app.get("/green-points")
    async def green_points(request: Request) -> HTTPResponse:
        lat, lon = v.lat_lon(request.args, required=True)
        material = v.choice(request.args.get("material"), "material", MATERIALS, required=False)
        limit = v.integer(request.args.get("limit"), "limit", 1, 100, 3)
        points = await _db(request, repository.nearest_green_points, lat, lon, material, limit)
        return json({"green_points": points})

    # ----------------------------------------------------------- geocoding

    @app.get("/geocode")
    async def geocode(request: Request) -> HTTPResponse:
        address = v.text(request.args.get("address"), "address", 300)
        try:
            return json(request.app.ctx.geocoder.locate(address).to_json())
        except GeoNotFound:
            raise ApiError(404, "address_not_found", "address not found") from None

    @app.get("/barrios")
    async def barrios(request: Request) -> HTTPResponse:
        centroids = request.app.ctx.geocoder.centroids
        return json({"barrios": [
            {"name": name, "lat": round(lat, 7), "lon": round(lon, 7)}
            for name, (lat, lon) in sorted(centroids.items())
        ]})

    @app.get("/barrios/<name:str>")
    async def barrio(request: Request, name: str) -> HTTPResponse:
        try:
            return json(request.app.ctx.geocoder.barrio_centre(unquote(name)).to_json())
        except GeoNotFound:
            raise ApiError(404, "barrio_not_found", "barrio not found") from None

    # ------------------------------------------------------------- ecobici

    async def _feed(request: Request, stations: Any, last_updated: Optional[int] = None):
        return json({
            "last_updated": last_updated or int(now().timestamp()),
            "ttl": GBFS_TTL,
            "version": "2.3",
            "data": {"stations": stations},
        })

    @app.get("/ecobici/gbfs/gbfs.json")
    async def gbfs(request: Request) -> HTTPResponse:
        base = f"{_base_url(request)}/ecobici/gbfs"
        return json({
            "last_updated": int(now().timestamp()),
            "ttl": GBFS_TTL,
            "version": "2.3",
            "data": {"es": {"feeds": [
                {"name": "station_information", "url": f"{base}/station_information.json"},
                {"name": "station_status", "url": f"{base}/station_status.json"},
            ]}},
        })

    @app.get("/ecobici/gbfs/station_information.json")
    async def station_information(request: Request) -> HTTPResponse:
        return await _feed(request, await _db(request, repository.ecobici_information))

    @app.get("/ecobici/gbfs/station_status.json")
    async def station_status(request: Request) -> HTTPResponse:
        stations = await _db(request, repository.ecobici_status)
        last = max((s["last_reported"] for s in stations), default=None)
        return await _feed(request, stations, last)

    @app.put("/ecobici/stations/<station_id:str>/status")
    async def put_station_status(request: Request, station_id: str) -> HTTPResponse:
        _operator(request)
        body = _body(request)
        bikes = v.integer(body.get("bikes"), "bikes", 0, 500, -1)
        if bikes < 0:
            raise v.invalid("bikes", "bikes is required")
        docks = None if body.get("docks") is None else v.integer(body.get("docks"), "docks",
                                                                 0, 500, 0)
        renting = None if body.get("is_renting") is None else v.boolean(body["is_renting"],
                                                                         "is_renting")
        return json(await _db(request, repository.set_station_status, unquote(station_id), bikes, docks,
                              renting))

    @app.post("/ecobici/simulation/step")
    async def step(request: Request) -> HTTPResponse:
        _operator(request)
        return json({"step": await _db(request, repository.step_ecobici)})

    # ------------------------------------------------------ weather alerts

    @app.get("/weather-alerts")
    async def alerts(request: Request) -> HTTPResponse:
        return json({"alerts": await _db(request, repository.active_alerts)})

    @app.post("/weather-alerts")
    async def publish(request: Request) -> HTTPResponse:
        _operator(request)
        body = _body(request)
        starts_at = v.aware_datetime(body.get("starts_at"), "starts_at", required=False) or now()
        ends_at = v.aware_datetime(body.get("ends_at"), "ends_at", required=False)
        if ends_at is not None and ends_at <= starts_at:
            raise v.invalid("ends_at", "ends_at must be after starts_at")
        fields = {
            "level": v.choice(body.get("level"), "level", ("amarilla", "naranja", "roja")),
            "title": v.text(body.get("title"), "title", 200),
            "description": v.text(body.get("description"), "description", 2000),
            "area": v.text(body.get("area"), "area", 200),
            "starts_at": v.as_ba(starts_at),
            "ends_at": v.as_ba(ends_at) if ends_at else None,
        }
        return json(await _db(request, repository.publish_alert, fields), status=201)

    @app.post("/weather-alerts/<alert_id:int>/expire")
    async def expire(request: Request, alert_id: int) -> HTTPResponse:
        _operator(request)
        return json(await _db(request, repository.expire_alert, alert_id))

    # ----------------------------------------------------------- retention

    @app.post("/citizens/erase")
    async def erase_citizen(request: Request) -> HTTPResponse:
        # The id travels in the body: sender ids may hold ':' or '/', awkward in a path.
        _operator(request)
        citizen_id = v.text(_body(request).get("citizen_id"), "citizen_id", 200)
        return json(await _db(request, retention.forget_citizen, citizen_id))

    @app.post("/retention/purge")
    async def purge(request: Request) -> HTTPResponse:
        _operator(request)
        days = _body(request).get("older_than_days")
        if days is None:
            raise v.invalid("older_than_days", "older_than_days is required")
        days = v.integer(days, "older_than_days", 0, 36500, 0)
        return json(await _db(request, retention.anonymise_older_than, days))

    return app
