"""Settings of the reference service, from the environment (with local defaults)."""
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

from city_services.db import default_sqlite_url

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OPERATOR_TOKEN = "dev-operator-token"  # local runs only; set the env in deployments


def production_problem(env: Mapping[str, str]) -> Optional[str]:
    """Why these settings must not serve production (PROFILE=prod), or None.

    The default operator token is in this repository: anyone could read every request."""
    if env.get("PROFILE") != "prod":
        return None
    token = env.get("CITY_SERVICES_OPERATOR_TOKEN") or ""
    if not token or token == DEFAULT_OPERATOR_TOKEN:
        return "PROFILE=prod needs CITY_SERVICES_OPERATOR_TOKEN, an operator token other than the default one"
    return None


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 5056
    database_url: str = default_sqlite_url(REPO_ROOT)
    operator_token: str = DEFAULT_OPERATOR_TOKEN
    public_url: Optional[str] = None
    calendar_days: int = 21
    db_threads: int = 8

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "Settings":
        env = os.environ if env is None else env
        return cls(
            host=env.get("CITY_SERVICES_HOST", "127.0.0.1"),
            port=int(env.get("CITY_SERVICES_PORT", "5056")),
            database_url=env.get("CITY_SERVICES_DATABASE_URL") or default_sqlite_url(REPO_ROOT),
            operator_token=env.get("CITY_SERVICES_OPERATOR_TOKEN") or DEFAULT_OPERATOR_TOKEN,
            public_url=(env.get("CITY_SERVICES_PUBLIC_URL") or "").rstrip("/") or None,
            calendar_days=int(env.get("CITY_SERVICES_CALENDAR_DAYS", "21")),
            db_threads=int(env.get("CITY_SERVICES_DB_THREADS", "8")),
        )
