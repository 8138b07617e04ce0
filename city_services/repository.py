"""The repository: every read and write of the reference service.

Functions take a :class:`~city_services.db.Database`, open exactly one
transaction each and return JSON-ready dicts; they raise
:class:`~city_services.validation.ApiError` for 404/409 outcomes.
They are blocking (DB-API) and are called off the event loop.
"""
import difflib
import json
import logging
from datetime import date
from decimal import Decimal
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from city_services import certificates, seed
from city_services.clock import now
from city_services.db import Database, UniqueViolation
from city_services.geo import haversine_m
from city_services.text import fold
from city_services.validation import ApiError

logger = logging.getLogger(__name__)

INCIDENT_KINDS = (
    "inundacion", "arbol_caido", "incendio", "escape_gas", "cables_caidos",
    "tormenta", "derrumbe", "otro",
)
# Priority without people at risk; anyone at risk makes it "alta".
_KIND_PRIORITY = {
    "incendio": "alta",
    "escape_gas": "alta",
    "derrumbe": "alta",
    "cables_caidos": "media",
    "inundacion": "media",
    "arbol_caido": "media",
    "tormenta": "baja",
    "otro": "baja",
}
REQUEST_CATEGORIES = ("alumbrado", "bache", "residuos", "arbolado", "veredas", "ruido", "otro")
REQUEST_STATUSES = ("received", "in_progress", "resolved", "rejected")


def not_found(what: str, code: str = "not_found") -> ApiError:
    return ApiError(404, code, f"{what} not found")


def incident_priority(kind: str, people_at_risk: bool) -> str:
    return "alta" if people_at_risk else _KIND_PRIORITY[kind]


# ------------------------------------------------------------ infractions


def _infraction(row: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "id": row["id"],
        "plate": row["plate"],
        "date": row["occurred_at"],
        "place": row["place"],
        "reason": row["reason"],
        "amount": str((Decimal(row["amount_cents"]) / 100).quantize(Decimal("0.01"))),
        "currency": "ARS",
        "status": row["status"],
        "due_date": row["due_date"],
    }


def _subject_clause(plate: Optional[str], dni: Optional[str]):
    clauses, params = [], []
    if plate:
        clauses.append("plate = ?")
        params.append(plate)
    if dni:
        clauses.append("dni = ?")
        params.append(dni)
    return " AND ".join(clauses), params


def find_infractions(db: Database, plate: Optional[str], dni: Optional[str]) -> Dict[str, Any]:
    where, params = _subject_clause(plate, dni)
    with db.transaction() as cursor:
        rows = cursor.execute(
            f"SELECT * FROM infractions WHERE {where} ORDER BY occurred_at DESC, id", params
        ).fetchall()
    items = [_infraction(row) for row in rows]
    pending = sum((Decimal(i["amount"]) for i in items if i["status"] == "pending"), Decimal("0"))
    return {
        "infractions": items,
        "total_pending": str(pending.quantize(Decimal("0.01"))),
        "currency": "ARS",
    }


def _certificate(row: Dict[str, Any], base_url: str) -> Dict[str, Any]:
    return {
        "code": row["code"],
        "issued_at": row["issued_at"],
        "plate": row["plate"],
        "dni": row["dni"],
        "valid": True,
        "pdf_url": f"{base_url}/certificates/{row['code']}.pdf",
    }


def issue_certificate(
    db: Database, plate: Optional[str], dni: Optional[str], base_url: str
) -> Dict[str, Any]:
    where, params = _subject_clause(plate, dni)
    with db.transaction(write=True) as cursor:
        pending = cursor.execute(
            f"SELECT COUNT(*) FROM infractions WHERE {where} AND status = 'pending'", params
        ).scalar()
        if pending:
            raise ApiError(
                409, "pending_debt", "there are pending fines", {"pending_count": int(pending)}
            )
        row = {"code": certificates.new_code(), "plate": plate, "dni": dni,
               "issued_at": now().isoformat()}
        cursor.execute(
            "INSERT INTO certificates (code, plate, dni, issued_at) VALUES (?, ?, ?, ?)",
            (row["code"], plate, dni, row["issued_at"]),
        )
    return _certificate(row, base_url)


def get_certificate(db: Database, code: str, base_url: str) -> Dict[str, Any]:
    with db.transaction() as cursor:
        row = cursor.execute("SELECT * FROM certificates WHERE code = ?", (code,)).fetchone()
    if row is None:
        raise not_found("certificate")
    return _certificate(row, base_url)


def certificate_pdf(db: Database, code: str) -> bytes:
    with db.transaction() as cursor:
        row = cursor.execute("SELECT * FROM certificates WHERE code = ?", (code,)).fetchone()
    if row is None:
        raise not_found("certificate")
    return certificates.render_pdf(row["code"], row["issued_at"], row["plate"], row["dni"])


# ---------------------------------------------------------- health centres


def _centre(row: Dict[str, Any], specialties: Sequence[str], distance: Optional[float]) -> Dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "kind": row["kind"],
        "address": row["address"],
        "barrio": row["barrio"],
        "lat": row["lat"],
        "lon": row["lon"],
        "phones": [p for p in row["phones"].split(", ") if p],
        "specialties": list(specialties),
        "distance_m": None if distance is None else round(distance, 1),
    }


_NAME_NOISE = {"HOSPITAL", "HOSP", "EL", "LA", "DE", "DEL", "GENERAL", "CENTRO", "SALUD", "DR",
               "DRA", "N", "NRO", "NUMERO"}


def _name_matches(query: str, name_key: str) -> bool:
    """Every significant query word is a name word or the start of one; numbers exact."""
    words = name_key.split()
    for token in fold(query).split():
        if token in _NAME_NOISE:
            continue
        if token.isdigit():
            if token.lstrip("0") not in (w.lstrip("0") for w in words if w.isdigit()):
                return False
        elif not any(w.startswith(token) or (len(token) >= 5 and _close(token, w)) for w in words):
            return False
    return True


def _close(a: str, b: str) -> bool:
    return difflib.SequenceMatcher(None, a, b).ratio() >= 0.8


def find_centres(
    db: Database,
    name: Optional[str],
    barrio: Optional[str],
    near: Optional[tuple],
    specialty: Optional[str],
    limit: int,
) -> List[Dict[str, Any]]:
    with db.transaction() as cursor:
        rows = cursor.execute("SELECT * FROM health_centres ORDER BY kind DESC, name").fetchall()
        pairs = cursor.execute("SELECT centre_id, specialty FROM centre_specialties").fetchall()
    by_centre: Dict[str, List[str]] = {}
    for pair in pairs:
        by_centre.setdefault(pair["centre_id"], []).append(pair["specialty"])
    wanted_specialty = fold(specialty) if specialty else None
    results = []
    for row in rows:
        specialties = sorted(by_centre.get(row["id"], []))
        if name and not _name_matches(name, row["name_key"]):
            continue
        if barrio and row["barrio"] != barrio:
            continue
        if wanted_specialty and wanted_specialty not in {fold(s) for s in specialties}:
            continue
        distance = haversine_m(near[0], near[1], row["lat"], row["lon"]) if near else None
        results.append(_centre(row, specialties, distance))
    if near:
        results.sort(key=lambda item: item["distance_m"])
    return results[:limit]


def specialties(db: Database) -> List[str]:
    with db.transaction() as cursor:
        rows = cursor.execute(
            "SELECT DISTINCT specialty FROM centre_specialties ORDER BY specialty"
        ).fetchall()
    return [row["specialty"] for row in rows]


def _canonical_specialty(cursor, value: str) -> Optional[str]:
    for row in cursor.execute("SELECT DISTINCT specialty FROM centre_specialties").fetchall():
        if fold(row["specialty"]) == fold(value):
            return row["specialty"]
    return None


def _slot(row: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "id": str(row["id"]),
        "centre_id": row["centre_id"],
        "centre_name": row["centre_name"],
        "specialty": row["specialty"],
        "starts_at": row["starts_at"],
        "part_of_day": row["part_of_day"],
    }


def free_slots(
    db: Database,
    centre_id: str,
    specialty: str,
    date_from: date,
    date_to: date,
    part_of_day: Optional[str],
    limit: int,
) -> List[Dict[str, Any]]:
    with db.transaction() as cursor:
        centre = cursor.execute("SELECT id FROM health_centres WHERE id = ?", (centre_id,)).fetchone()
        if centre is None:
            raise not_found("health centre")
        canonical = _canonical_specialty(cursor, specialty)
        if canonical is None:
            raise ApiError(422, "invalid_specialty", "unknown specialty", {"field": "specialty"})
        sql = (
            "SELECT s.id, s.centre_id, c.name AS centre_name, s.specialty, s.starts_at,"
            " s.part_of_day FROM slots s JOIN health_centres c ON c.id = s.centre_id"
            " WHERE s.centre_id = ? AND s.specialty = ? AND s.day >= ? AND s.day <= ?"
            " AND s.booked = 0 AND s.starts_at > ?"
        )
        params: List[Any] = [centre_id, canonical, date_from.isoformat(), date_to.isoformat(),
                             now().isoformat()]
        if part_of_day:
            sql += " AND s.part_of_day = ?"
            params.append(part_of_day)
        sql += " ORDER BY s.starts_at LIMIT ?"
        params.append(limit)
        rows = cursor.execute(sql, params).fetchall()
    return [_slot(row) for row in rows]


_APPOINTMENT_SELECT = (
    "SELECT a.code, a.status, a.dni, a.citizen_id, a.created_at, a.cancelled_at, s.id AS slot_id,"
    " s.starts_at, s.specialty, c.id AS centre_id, c.name AS centre_name, c.address"
    " FROM appointments a JOIN slots s ON s.id = a.slot_id"
    " JOIN health_centres c ON c.id = s.centre_id"
)


def _appointment(row: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "code": row["code"],
        "status": row["status"],
        "slot_id": str(row["slot_id"]),
        "centre_id": row["centre_id"],
        "centre_name": row["centre_name"],
        "centre_address": row["address"],
        "specialty": row["specialty"],
        "starts_at": row["starts_at"],
        "created_at": row["created_at"],
        "cancelled_at": row["cancelled_at"],
    }


def book(db: Database, slot_id: int, dni: str, citizen_id: str) -> Dict[str, Any]:
    """Book in ONE transaction: conditional UPDATE of the slot (0 rows → taken)
    plus an INSERT guarded by the partial unique index on live bookings."""
    slot_taken = ApiError(409, "slot_taken", "the slot is no longer available")
    try:
        with db.transaction(write=True) as cursor:
            slot = cursor.execute(
                "SELECT id, starts_at FROM slots WHERE id = ?", (slot_id,)
            ).fetchone()
            if slot is None:
                raise not_found("slot")
            if slot["starts_at"] <= now().isoformat():
                raise ApiError(409, "slot_past", "the slot is in the past")
            updated = cursor.execute(
                "UPDATE slots SET booked = 1 WHERE id = ? AND booked = 0", (slot_id,)
            ).rowcount
            if updated != 1:
                raise slot_taken
            appointment_id = cursor.execute(
                "INSERT INTO appointments (slot_id, dni, citizen_id, status, created_at)"
                " VALUES (?, ?, ?, 'booked', ?) RETURNING id",
                (slot_id, dni, citizen_id, now().isoformat()),
            ).scalar()
            code = f"TUR-{appointment_id:06d}"
            cursor.execute("UPDATE appointments SET code = ? WHERE id = ?", (code, appointment_id))
            row = cursor.execute(_APPOINTMENT_SELECT + " WHERE a.code = ?", (code,)).fetchone()
    except UniqueViolation:
        raise slot_taken from None
    return _appointment(row)


def list_appointments(db: Database, citizen_id: str) -> List[Dict[str, Any]]:
    """Only the appointments booked by this citizen (the chat identity), never
    what a DNI returns: a DNI is easy to learn, and specialty is health data."""
    with db.transaction() as cursor:
        rows = cursor.execute(
            _APPOINTMENT_SELECT + " WHERE a.citizen_id = ? ORDER BY s.starts_at, a.code",
            (citizen_id,),
        ).fetchall()
    return [_appointment(row) for row in rows]


def cancel_appointment(db: Database, code: str, citizen_id: str) -> Dict[str, Any]:
    """Cancel and free the slot, in one transaction. A code that exists but was
    booked by someone else answers 404 too, so codes cannot be probed."""
    with db.transaction(write=True) as cursor:
        row = cursor.execute(
            _APPOINTMENT_SELECT + " WHERE a.code = ?", (code,)
        ).fetchone()
        if row is None or row["citizen_id"] != citizen_id:
            raise not_found("appointment")
        if row["status"] == "cancelled":
            raise ApiError(409, "already_cancelled", "the appointment is already cancelled")
        cursor.execute(
            "UPDATE appointments SET status = 'cancelled', cancelled_at = ? WHERE code = ?",
            (now().isoformat(), code),
        )
        cursor.execute("UPDATE slots SET booked = 0 WHERE id = ?", (row["slot_id"],))
        row = cursor.execute(_APPOINTMENT_SELECT + " WHERE a.code = ?", (code,)).fetchone()
    return _appointment(row)


# ------------------------------------------------------- service requests


def _service_request(row: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "ticket": row["ticket"],
        "category": row["category"],
        "description": row["description"],
        "status": row["status"],
        "address": row["address"],
        "lat": row["lat"],
        "lon": row["lon"],
        # An address without coordinates (typed, not found by the geocoder, accepted as
        # written): a person has to locate it before a crew can be sent.
        "needs_location": row["lat"] is None,
        "has_photo": bool(row["photo"]),
        "photo": row["photo"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def create_service_request(db: Database, fields: Dict[str, Any]) -> Dict[str, Any]:
    stamp = now().isoformat()
    with db.transaction(write=True) as cursor:
        new_id = cursor.execute(
            "INSERT INTO service_requests (category, description, citizen_id, address, lat, lon,"
            " photo, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'received', ?, ?)"
            " RETURNING id",
            (fields["category"], fields["description"], fields["citizen_id"], fields["address"],
             fields["lat"], fields["lon"], fields["photo"], stamp, stamp),
        ).scalar()
        ticket = f"SOL-{new_id:06d}"
        cursor.execute("UPDATE service_requests SET ticket = ? WHERE id = ?", (ticket, new_id))
        row = cursor.execute("SELECT * FROM service_requests WHERE id = ?", (new_id,)).fetchone()
    return _service_request(row)


def get_service_request(db: Database, ticket: str, citizen_id: Optional[str]) -> Dict[str, Any]:
    """The details (address, description, photo) only to the author: tickets are
    sequential, so anyone else with a number sees at most its status."""
    with db.transaction() as cursor:
        row = cursor.execute("SELECT * FROM service_requests WHERE ticket = ?", (ticket,)).fetchone()
    if row is None:
        raise not_found("service request")
    if citizen_id is None or row["citizen_id"] != citizen_id:
        return {"ticket": row["ticket"], "category": row["category"],
                "status": row["status"], "owner": False}
    return {**_service_request(row), "owner": True}


def set_service_request_status(db: Database, ticket: str, status: str) -> Dict[str, Any]:
    with db.transaction(write=True) as cursor:
        updated = cursor.execute(
            "UPDATE service_requests SET status = ?, updated_at = ? WHERE ticket = ?",
            (status, now().isoformat(), ticket),
        ).rowcount
        if not updated:
            raise not_found("service request")
        row = cursor.execute("SELECT * FROM service_requests WHERE ticket = ?", (ticket,)).fetchone()
    return _service_request(row)


# ---------------------------------------------------------------- incidents


def _incident(row: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "number": row["number"],
        "kind": row["kind"],
        "description": row["description"],
        "people_at_risk": bool(row["people_at_risk"]),
        "priority": row["priority"],
        "status": row["status"],
        "address": row["address"],
        "lat": row["lat"],
        "lon": row["lon"],
        # An address without coordinates (typed, not found by the geocoder, accepted as
        # written): a person has to locate it before a crew can be sent.
        "needs_location": row["lat"] is None,
        "has_photo": bool(row["photo"]),
        "photo": row["photo"],
        "created_at": row["created_at"],
    }


def create_incident(db: Database, fields: Dict[str, Any]) -> Dict[str, Any]:
    priority = incident_priority(fields["kind"], fields["people_at_risk"])
    with db.transaction(write=True) as cursor:
        new_id = cursor.execute(
            "INSERT INTO incidents (kind, description, citizen_id, people_at_risk, address, lat,"
            " lon, photo, priority, status, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'received', ?) RETURNING id",
            (fields["kind"], fields["description"], fields["citizen_id"],
             int(fields["people_at_risk"]), fields["address"], fields["lat"], fields["lon"],
             fields["photo"], priority, now().isoformat()),
        ).scalar()
        number = f"DC-{new_id:06d}"
        cursor.execute("UPDATE incidents SET number = ? WHERE id = ?", (number, new_id))
        row = cursor.execute("SELECT * FROM incidents WHERE id = ?", (new_id,)).fetchone()
    return _incident(row)


def get_incident(db: Database, number: str, citizen_id: Optional[str]) -> Dict[str, Any]:
    """Like service requests: details only to whoever reported it."""
    with db.transaction() as cursor:
        row = cursor.execute("SELECT * FROM incidents WHERE number = ?", (number,)).fetchone()
    if row is None:
        raise not_found("incident")
    if citizen_id is None or row["citizen_id"] != citizen_id:
        return {"number": row["number"], "kind": row["kind"], "status": row["status"],
                "owner": False}
    return {**_incident(row), "owner": True}


# ------------------------------------------------------------- green points


def nearest_green_points(
    db: Database, lat: float, lon: float, material: Optional[str], limit: int
) -> List[Dict[str, Any]]:
    with db.transaction() as cursor:
        rows = cursor.execute("SELECT * FROM green_points").fetchall()
    items = []
    for row in rows:
        materials = [m for m in row["materials"].split(",") if m]
        if material and material not in materials:
            continue
        items.append(
            {
                "id": row["id"],
                "name": row["name"],
                "address": row["address"],
                "barrio": row["barrio"],
                "lat": row["lat"],
                "lon": row["lon"],
                "materials": materials,
                "hours": row["hours"],
                "staffed": bool(row["staffed"]),
                "distance_m": round(haversine_m(lat, lon, row["lat"], row["lon"]), 1),
            }
        )
    items.sort(key=lambda item: (item["distance_m"], item["id"]))
    return items[:limit]


# ------------------------------------------------------------------ ecobici


def address_points(db: Database) -> List[Dict[str, Any]]:
    with db.transaction() as cursor:
        return cursor.execute("SELECT * FROM address_points ORDER BY id").fetchall()


def ecobici_information(db: Database) -> List[Dict[str, Any]]:
    with db.transaction() as cursor:
        rows = cursor.execute("SELECT * FROM ecobici_stations ORDER BY station_id").fetchall()
    return [
        {
            "station_id": row["station_id"],
            "name": row["name"],
            "physical_configuration": "REGULAR",
            "lat": row["lat"],
            "lon": row["lon"],
            "address": row["address"],
            "capacity": row["capacity"],
            "groups": [row["barrio"]],
            "rental_methods": ["KEY", "TRANSITCARD", "PHONE"],
        }
        for row in rows
    ]


def ecobici_status(db: Database) -> List[Dict[str, Any]]:
    with db.transaction() as cursor:
        rows = cursor.execute("SELECT * FROM ecobici_status ORDER BY station_id").fetchall()
    return [_station_status(row) for row in rows]


def _station_status(row: Dict[str, Any]) -> Dict[str, Any]:
    renting = bool(row["is_renting"])
    return {
        "station_id": row["station_id"],
        "num_bikes_available": row["bikes"],
        "num_bikes_disabled": row["bikes_disabled"],
        "num_docks_available": row["docks"],
        "num_docks_disabled": 0,
        "last_reported": row["last_reported"],
        "is_charging_station": False,
        "status": "IN_SERVICE" if renting else "END_OF_LIFE",
        "is_installed": 1,
        "is_renting": int(renting),
        "is_returning": int(renting),
    }


def set_station_status(db: Database, station_id: str, bikes: int, docks: Optional[int],
                       is_renting: Optional[bool]) -> Dict[str, Any]:
    with db.transaction(write=True) as cursor:
        station = cursor.execute(
            "SELECT capacity FROM ecobici_stations WHERE station_id = ?", (station_id,)
        ).fetchone()
        if station is None:
            raise not_found("station")
        capacity = station["capacity"]
        docks = capacity - bikes if docks is None else docks
        if bikes + docks > capacity:
            raise ApiError(422, "invalid_availability", "bikes + docks exceeds the capacity",
                           {"capacity": capacity})
        current = cursor.execute(
            "SELECT is_renting FROM ecobici_status WHERE station_id = ?", (station_id,)
        ).fetchone()
        renting = int(current["is_renting"] if is_renting is None else is_renting)
        cursor.execute(
            "UPDATE ecobici_status SET bikes = ?, docks = ?, bikes_disabled = ?, is_renting = ?,"
            " last_reported = ? WHERE station_id = ?",
            (bikes, docks, capacity - bikes - docks, renting, int(now().timestamp()), station_id),
        )
        row = cursor.execute("SELECT * FROM ecobici_status WHERE station_id = ?",
                             (station_id,)).fetchone()
    return _station_status(row)


def step_ecobici(db: Database) -> int:
    with db.transaction(write=True) as cursor:
        step = int(cursor.execute("SELECT value FROM meta WHERE key = 'ecobici_step'").scalar() or 0)
        seed.seed_ecobici_status(cursor, step + 1)
    return step + 1


def ecobici_last_updated(db: Database) -> int:
    with db.transaction() as cursor:
        value = cursor.execute("SELECT MAX(last_reported) FROM ecobici_status").scalar()
    return int(value or now().timestamp())


# ----------------------------------------------------------- weather alerts


def _alert(row: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "id": str(row["id"]),
        "level": row["level"],
        "title": row["title"],
        "description": row["description"],
        "area": row["area"],
        "starts_at": row["starts_at"],
        "ends_at": row["ends_at"],
        "expired_at": row["expired_at"],
        "created_at": row["created_at"],
    }


def active_alerts(db: Database) -> List[Dict[str, Any]]:
    """Published, not expired by an operator, started, and not past ``ends_at``.
    ISO strings with one fixed offset compare correctly as text."""
    stamp = now().isoformat()
    with db.transaction() as cursor:
        rows = cursor.execute(
            "SELECT * FROM weather_alerts WHERE expired_at IS NULL AND starts_at <= ?"
            " AND (ends_at IS NULL OR ends_at > ?) ORDER BY starts_at, id",
            (stamp, stamp),
        ).fetchall()
    return [_alert(row) for row in rows]


def publish_alert(db: Database, fields: Dict[str, Any]) -> Dict[str, Any]:
    with db.transaction(write=True) as cursor:
        new_id = cursor.execute(
            "INSERT INTO weather_alerts (level, title, description, area, starts_at, ends_at,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (fields["level"], fields["title"], fields["description"], fields["area"],
             fields["starts_at"], fields["ends_at"], now().isoformat()),
        ).scalar()
        row = cursor.execute("SELECT * FROM weather_alerts WHERE id = ?", (new_id,)).fetchone()
    return _alert(row)


def expire_alert(db: Database, alert_id: int) -> Dict[str, Any]:
    with db.transaction(write=True) as cursor:
        row = cursor.execute("SELECT * FROM weather_alerts WHERE id = ?", (alert_id,)).fetchone()
        if row is None:
            raise not_found("weather alert")
        if row["expired_at"] is None:
            cursor.execute("UPDATE weather_alerts SET expired_at = ? WHERE id = ?",
                           (now().isoformat(), alert_id))
            row = cursor.execute("SELECT * FROM weather_alerts WHERE id = ?", (alert_id,)).fetchone()
    return _alert(row)


# ------------------------------------------------------------- idempotency


def claim_idempotency_key(db: Database, key: str, route: str) -> Optional[Tuple[int, Any]]:
    """None when this key is new (now claimed by the caller, who must store or
    release it); the stored (status, body) when it was already answered."""
    try:
        with db.transaction(write=True) as cursor:
            cursor.execute(
                "INSERT INTO idempotency_keys (key, route, created_at) VALUES (?, ?, ?)",
                (key, route, now().isoformat()),
            )
        return None
    except UniqueViolation:
        pass
    with db.transaction() as cursor:
        row = cursor.execute(
            "SELECT route, status, body FROM idempotency_keys WHERE key = ?", (key,)
        ).fetchone()
    if row is None:  # released meanwhile: the first attempt failed, try again
        return claim_idempotency_key(db, key, route)
    if row["route"] != route:
        raise ApiError(422, "idempotency_key_reused", "this Idempotency-Key was used for another request")
    if row["status"] is None:
        raise ApiError(409, "request_in_progress", "a request with this Idempotency-Key is in progress")
    return int(row["status"]), json.loads(row["body"])


def store_idempotent_response(db: Database, key: str, status: int, body: Any) -> None:
    with db.transaction(write=True) as cursor:
        cursor.execute(
            "UPDATE idempotency_keys SET status = ?, body = ? WHERE key = ?",
            (status, json.dumps(body, ensure_ascii=False), key),
        )


def release_idempotency_key(db: Database, key: str) -> None:
    """The first attempt failed (nothing was created): a retry may run again."""
    with db.transaction(write=True) as cursor:
        cursor.execute("DELETE FROM idempotency_keys WHERE key = ? AND status IS NULL", (key,))


def idempotent_create(
    db: Database, key: str, route: str, create: Callable[..., Any], *args: Any
) -> Tuple[int, Any, bool]:
    """(status, body, replayed): claim the key, create, store the answer. Runs whole in
    one worker thread, so a client that disconnects (and the cancelled handler) cannot
    stop it halfway: what was created is always stored under its key."""
    stored = claim_idempotency_key(db, key, route)
    if stored is not None:
        return stored[0], stored[1], True
    try:
        body = create(db, *args)
    except BaseException:
        release_idempotency_key(db, key)
        raise
    store_idempotent_response(db, key, 201, body)
    return 201, body, False


def health(db: Database) -> Dict[str, Any]:
    return {"status": "ok", "database": db.dialect, "time": now().isoformat()}
