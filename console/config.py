"""Settings of the console, from the environment (with local defaults)."""
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional

REPO_ROOT = Path(__file__).resolve().parent.parent
_TRUE = {"1", "true", "yes", "on"}


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def production_problem(env: Mapping[str, str]) -> Optional[str]:
    """Why these settings must not serve production (PROFILE=prod), or None.

    Production runs several console processes on one PostgreSQL database (scripts/run.sh's
    prod profile), and operators reach the console over TLS."""
    if env.get("PROFILE") != "prod":
        return None
    url = env.get("CONSOLE_DATABASE_URL") or ""
    if not url.startswith(("postgresql://", "postgres://")):
        return "PROFILE=prod needs CONSOLE_DATABASE_URL, a postgresql:// URL"
    if (env.get("CONSOLE_COOKIE_SECURE") or "").strip().lower() not in _TRUE:
        return "PROFILE=prod needs CONSOLE_COOKIE_SECURE=true (session cookies only over HTTPS)"
    return None


@dataclass(frozen=True)
class ConsoleSettings:
    port: int = 5060
    interface: str = "127.0.0.1"
    database_url: str = _sqlite_url(REPO_ROOT / "var" / "console.sqlite3")
    api_token: Optional[str] = field(default=None, repr=False)
    admin_password: Optional[str] = field(default=None, repr=False)
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    cookie_secure: bool = False
    handoff_wait_minutes: int = 10
    check_seconds: float = 15.0
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_api_token: Optional[str] = field(default=None, repr=False)
    # where the WhatsApp connector writes citizens' photos: the only folder media_ref may point into
    media_dir: Path = REPO_ROOT / "var" / "media"
    upload_dir: Path = REPO_ROOT / "var" / "console_media"
    areas_file: Path = Path(__file__).resolve().parent / "areas.yml"
    reply_template: Optional[str] = None
    reply_template_language: str = "es_AR"
    # how often the live feed looks at the changes table
    poll_seconds: float = 0.3
    heartbeat_seconds: float = 15.0
    db_threads: int = 8

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "ConsoleSettings":
        env = os.environ if env is None else env
        media_dir = env.get("WHATSAPP_MEDIA_DIR") or "var/media"
        return cls(
            port=int(env.get("CONSOLE_PORT") or 5060),
            interface=env.get("CONSOLE_INTERFACE") or "127.0.0.1",
            database_url=env.get("CONSOLE_DATABASE_URL")
            or _sqlite_url(REPO_ROOT / "var" / "console.sqlite3"),
            api_token=env.get("CONSOLE_API_TOKEN") or None,
            admin_password=env.get("CONSOLE_ADMIN_PASSWORD") or None,
            session_idle_minutes=int(env.get("CONSOLE_SESSION_IDLE_MINUTES") or 30),
            cookie_secure=(env.get("CONSOLE_COOKIE_SECURE") or "").strip().lower() in _TRUE,
            handoff_wait_minutes=int(env.get("HANDOFF_WAIT_MINUTES") or 10),
            check_seconds=float(env.get("CONSOLE_CHECK_SECONDS") or 15),
            rasa_url=(env.get("RASA_URL") or "http://127.0.0.1:5005").rstrip("/"),
            rasa_api_token=env.get("RASA_API_TOKEN") or None,
            # relative to the repository root, as the connector (run from there) resolves it
            media_dir=(REPO_ROOT / media_dir) if not os.path.isabs(media_dir) else Path(media_dir),
            reply_template=env.get("CONSOLE_REPLY_TEMPLATE") or None,
            reply_template_language=env.get("CONSOLE_REPLY_TEMPLATE_LANGUAGE") or "es_AR",
        )
