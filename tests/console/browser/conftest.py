"""The whole of Vecino as `make run` starts it (scripts/run.sh in a copy of the project), with the
WhatsApp channel pointed at the fake Graph API, and real headless Chromium browsers on its console.

Chromium and ChromeDriver are Debian's (``scripts/browser.sh`` installs them for ``make test``); a
machine without them fails these tests rather than skipping them.
"""
import json
import os
import shutil
import struct
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Text

import pytest
import requests

from channels.whatsapp.signature import SIGNATURE_HEADER, compute_signature
from tests.channels.whatsapp.helpers import load_payload, with_message
from tests.fixtures.city_services import free_port
from tests.fixtures.graph_api import FAKE_PHONE_NUMBER_ID, FAKE_TOKEN, FakeGraphApi, run_fake_graph_api
from tests.fixtures.project import ROOT, project_copy, run_script, run_script_env

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
APP_SECRET = "browser-test-app-secret"
ADMIN_PASSWORD = "supervisora-de-prueba-2026"
STARTUP_TIMEOUT_S = 240
# screenshots of every step; CONSOLE_SCREENSHOTS=docs/img refreshes the guide's pictures
SCREENSHOTS = Path(os.environ.get("CONSOLE_SCREENSHOTS") or ROOT / "results" / "console")


def png(width: int = 64, height: int = 48, rgb=(30, 110, 200)) -> bytes:
    """A real, decodable PNG (a browser must be able to draw the citizen's photo)."""
    row = b"\x00" + bytes(rgb) * width
    raw = row * height

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@dataclass
class Stack:
    root: Path
    rasa: str
    webhook: str
    console: str
    rasa_token: str
    graph: FakeGraphApi
    log: Path
    _ids: Iterator[int] = field(default_factory=lambda: iter(range(1, 10**6)))

    # ---- the citizen, over the WhatsApp webhook -------------------------------------------

    def _payload(self, template: Text, sender: Text, **fields: Any) -> Dict[Text, Any]:
        number = next(self._ids)
        payload = with_message(load_payload(template), **{
            "from": sender, "id": f"wamid.BROWSER{number:06d}{sender}", "timestamp": str(int(time.time())), **fields,
        })
        payload["entry"][0]["changes"][0]["value"]["contacts"][0]["wa_id"] = sender
        return payload

    def deliver(self, payload: Dict[Text, Any]) -> Text:
        raw = json.dumps(payload).encode()
        reply = requests.post(self.webhook, data=raw, timeout=30, headers={
            "Content-Type": "application/json", SIGNATURE_HEADER: compute_signature(APP_SECRET, raw)})
        assert reply.status_code == 200, reply.text
        return payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]

    def text(self, sender: Text, body: Text) -> Text:
        return self.deliver(self._payload("text", sender, text={"body": body}))

    def photo(self, sender: Text, caption: Text, data: bytes) -> Text:
        media_id = f"{time.time_ns()}"
        self.graph.add_media(media_id, data, "image/png")
        return self.deliver(self._payload("image", sender, image={"mime_type": "image/png", "id": media_id,
                                                                  "caption": caption}))

    def location(self, sender: Text, latitude: float, longitude: float) -> Text:
        return self.deliver(self._payload("location_pin", sender, location={"latitude": latitude,
                                                                            "longitude": longitude}))

    # ---- what Rasa did with it --------------------------------------------------------------

    def tracker(self, sender: Text) -> Dict[Text, Any]:
        reply = requests.get(f"{self.rasa}/conversations/{sender}/tracker", params={"token": self.rasa_token},
                             timeout=30)
        reply.raise_for_status()
        return reply.json()

    def wait_turn(self, sender: Text, message_id: Text, timeout: float = 60) -> Dict[Text, Any]:
        """The tracker once Rasa finished the turn of ``message_id``: Rasa stores a tracker only
        at the end of a turn, so the message being in it is the sign."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            tracker = self.tracker(sender)
            if any(e.get("event") == "user" and e.get("message_id") == message_id for e in tracker["events"]):
                return tracker
            time.sleep(0.3)
        raise AssertionError(f"no finished turn for {message_id} in {timeout} s:\n{self.log.read_text()[-3000:]}")

    def texts_to(self, sender: Text) -> List[Text]:
        """What the citizen read, in order (texts, and the bodies of buttons and lists)."""
        shown = []
        for message in self.graph.sent_messages(sender):
            if message.get("type") == "text":
                shown.append(message["text"]["body"])
            elif message.get("type") == "interactive":
                shown.append(message["interactive"].get("body", {}).get("text", ""))
            elif message.get("type") == "template":
                shown.append(json.dumps(message["template"], ensure_ascii=False))
        return shown

    def wait_for_text(self, sender: Text, predicate: Callable[[Text], bool], timeout: float = 30) -> Text:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for text in self.texts_to(sender):
                if predicate(text):
                    return text
            time.sleep(0.2)
        raise AssertionError(f"the citizen never read the expected message; read: {self.texts_to(sender)}")


@pytest.fixture(scope="package")
def stack(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = project_copy(tmp_path_factory.mktemp("browser") / "vecino")
    ports = set()
    while len(ports) < 5:
        ports.add(free_port())
    rasa_port, actions_port, city_port, webhook_port, console_port = sorted(ports)
    rasa_token = "browser-test-rasa-api-token-0123456789"
    log = root / "run.log"
    with run_fake_graph_api() as graph:
        env = run_script_env(
            MODEL=str(trained_model), RASA_PORT=str(rasa_port), ACTIONS_PORT=str(actions_port),
            CITY_SERVICES_PORT=str(city_port), CONSOLE_PORT=str(console_port), RASA_API_TOKEN=rasa_token,
            CONSOLE_ADMIN_PASSWORD=ADMIN_PASSWORD,
            WHATSAPP_APP_SECRET=APP_SECRET, WHATSAPP_ACCESS_TOKEN=FAKE_TOKEN, WHATSAPP_VERIFY_TOKEN="verify",
            WHATSAPP_PHONE_NUMBER_ID=FAKE_PHONE_NUMBER_ID, WHATSAPP_GRAPH_URL=graph.base_url,
            WHATSAPP_WEBHOOK_PORT=str(webhook_port),
        )
        up = [f"http://127.0.0.1:{rasa_port}/", f"http://127.0.0.1:{webhook_port}/webhooks/whatsapp/"]
        with run_script(root, env, log, up, timeout_s=STARTUP_TIMEOUT_S):
            yield Stack(root, f"http://127.0.0.1:{rasa_port}",
                        f"http://127.0.0.1:{webhook_port}/webhooks/whatsapp/webhook",
                        f"http://127.0.0.1:{console_port}", rasa_token, graph, log)


@pytest.fixture(scope="package")
def new_browser() -> Iterator[Callable[[], Any]]:
    """Opens real headless Chromium windows (each its own profile: its own cookies)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    assert Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(), (
        "Chromium and ChromeDriver are needed (scripts/browser.sh installs Debian's chromium and chromium-driver)")
    drivers: List[Any] = []

    def open_one(width: int = 1280, height: int = 900) -> Any:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         f"--window-size={width},{height}", "--lang=es-AR"):
            options.add_argument(argument)
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        driver.implicitly_wait(0)
        drivers.append(driver)
        return driver

    yield open_one
    for driver in drivers:
        driver.quit()


def screenshot(driver: Any, name: Text) -> None:
    """The whole page (the window grows to its height for the picture, then is restored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = driver.get_window_size()
    height = driver.execute_script("return document.documentElement.scrollHeight;")
    driver.set_window_size(size["width"], max(size["height"], min(int(height) + 120, 4000)))
    try:
        driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
    finally:
        driver.set_window_size(size["width"], size["height"])
