"""Acceptance, in real headless Chromium: a citizen reports an emergency with a photo over the
WhatsApp webhook; it appears in the console at once with its photo; an operator takes it and
replies, and the reply reaches the citizen through the (fake) Graph API; the citizen's next
messages reach the console and get no bot answer; handing it back resumes the bot. A second
operator cannot take a held conversation, and a browser without a session sees nothing."""
import time
from typing import Any, Text

import pytest
import requests
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from tests.console.browser.conftest import ADMIN_PASSWORD, Stack, png, screenshot

pytestmark = pytest.mark.model

OPERATOR_PASSWORD = "operadora-ana-2026"
SECOND_PASSWORD = "operador-beto-2026"


def citizen() -> Text:
    return f"54911{time.time_ns() % 10**8:08d}"


def log_in(driver: Any, stack: Stack, username: Text, password: Text) -> None:
    driver.get(f"{stack.console}/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]").click()
    WebDriverWait(driver, 10).until(ready.presence_of_element_located((By.ID, "live")))


def wait_css(driver: Any, selector: Text, timeout: float = 10) -> Any:
    return WebDriverWait(driver, timeout).until(ready.presence_of_element_located((By.CSS_SELECTOR, selector)))


# the live feed swaps whole fragments in: elements are looked up again on every use
LIVE = dict(ignored_exceptions=(StaleElementReferenceException,))


def attribute(driver: Any, selector: Text, name: Text, timeout: float = 5) -> Text:
    return WebDriverWait(driver, timeout, **LIVE).until(
        lambda d: d.find_element(By.CSS_SELECTOR, selector).get_attribute(name))


def click(driver: Any, selector: Text, timeout: float = 5) -> None:
    def clicked(d: Any) -> bool:
        d.find_element(By.CSS_SELECTOR, selector).click()
        return True
    WebDriverWait(driver, timeout, **LIVE).until(clicked)


def text_of(driver: Any, selector: Text, timeout: float = 5) -> Text:
    return WebDriverWait(driver, timeout, **LIVE).until(lambda d: d.find_element(By.CSS_SELECTOR, selector).text)


def create_operator(driver: Any, stack: Stack, username: Text, password: Text, area: Text) -> None:
    driver.get(f"{stack.console}/operators")
    driver.find_element(By.ID, "new-username").send_keys(username)
    driver.find_element(By.ID, "new-password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, f"input[name=areas][value='{area}']").click()
    driver.find_element(By.CSS_SELECTOR, "form[action='/operators'] button[type=submit]").click()
    wait_css(driver, f"tr[data-operator='{username}']")


def report_emergency_with_photo(stack: Stack, sender: Text) -> None:
    """The Civil Defense protocol over WhatsApp, answered as a citizen would."""
    answers = {
        "emergency_type": lambda: stack.text(sender, "inundación"),
        "location": lambda: stack.location(sender, -34.6037, -58.3816),
        "people_at_risk": lambda: stack.text(sender, "sí, hay una señora mayor que no puede salir"),
        "emergency_description": lambda: stack.text(sender, "el agua ya entra en las casas de la cuadra"),
    }
    tracker = stack.wait_turn(sender, stack.photo(sender, "se inundó mi calle", png()))
    for _ in range(8):
        if tracker.get("paused") or (tracker.get("active_loop") or {}).get("name") != "emergency_form":
            break
        requested = tracker["slots"].get("requested_slot")
        assert requested in answers, f"unexpected question {requested!r}"
        tracker = stack.wait_turn(sender, answers[requested]())
    assert tracker.get("paused"), "the report ends with the conversation in an operator's hands"


def test_an_emergency_is_taken_answered_and_handed_back_in_the_console(stack: Stack, new_browser) -> None:
    supervisor = new_browser()
    log_in(supervisor, stack, "admin", ADMIN_PASSWORD)
    create_operator(supervisor, stack, "ana", OPERATOR_PASSWORD, "defensa_civil")
    create_operator(supervisor, stack, "beto", SECOND_PASSWORD, "defensa_civil")
    screenshot(supervisor, "operadores")

    ana = new_browser()
    log_in(ana, stack, "ana", OPERATOR_PASSWORD)
    ana.execute_script("window.sinRecargar = true;")  # gone if the page reloads
    sender = citizen()
    report_emergency_with_photo(stack, sender)

    # within a second of the bot's last answer, without a reload, first in the queue
    stack.wait_for_text(sender, lambda text: "operador de Defensa Civil" in text)
    row = f"li.handoff[data-citizen='{sender}']"
    wait_css(ana, row, timeout=1.0)
    assert ana.execute_script("return window.sinRecargar === true;"), "the queue updated without a reload"
    assert attribute(ana, row, "data-priority") == "0", "people in danger come first"
    assert attribute(ana, "li.handoff", "data-citizen") == sender, "first in the queue"
    assert int(attribute(ana, "li.area-card[data-area='defensa_civil']", "data-waiting")) >= 1
    screenshot(ana, "cola")

    # the conversation: history with the photo drawn, what the bot collected, a map link
    click(ana, f"{row} a")
    wait_css(ana, "li.msg.citizen[data-kind='image'] img")
    width = WebDriverWait(ana, 10).until(lambda d: d.execute_script(
        "const img = document.querySelector(\"li.msg.citizen[data-kind='image'] img\");"
        "return img && img.complete && img.naturalWidth;"))
    assert width == 64, "the citizen's own photo, drawn by the browser"
    collected = ana.execute_script(
        "const out = {}; document.querySelectorAll('dl.collected dd[data-field]')"
        ".forEach(dd => { out[dd.dataset.field] = dd.textContent.trim(); }); return out;")
    assert collected["incident_number"].startswith("DC-") and collected["people_in_danger"] == "Sí"
    assert ana.find_elements(By.CSS_SELECTOR, "a[href^='https://www.openstreetmap.org/?mlat=-34.6037']")
    handoff_url = ana.current_url

    # take it, and answer: the reply goes out on WhatsApp to that citizen
    click(ana, "#take")
    WebDriverWait(ana, 10, **LIVE).until(
        lambda d: d.find_element(By.CSS_SELECTOR, "section.state").get_attribute("data-holder") == "ana")
    reply = "Hola, soy Ana de Defensa Civil. ¿La señora sigue adentro de la casa?"
    ana.find_element(By.ID, "reply-text").send_keys(reply)
    ana.find_element(By.CSS_SELECTOR, "#reply-form button[type=submit]").click()
    stack.wait_for_text(sender, lambda text: text == reply)

    # a second operator of the same area cannot take it
    beto = new_browser()
    log_in(beto, stack, "beto", SECOND_PASSWORD)
    beto.get(handoff_url)
    wait_css(beto, "section.state")
    assert not beto.find_elements(By.ID, "take"), "no Tomar button on a conversation someone holds"
    assert not beto.find_elements(By.ID, "reply-form")
    taken = beto.execute_script("""
        const token = document.querySelector("input[name=csrf_token]").value;
        return fetch(location.pathname + "/take", {method: "POST", credentials: "same-origin",
            headers: {"Content-Type": "application/x-www-form-urlencoded"},
            body: "csrf_token=" + encodeURIComponent(token)}).then(r => r.status);""")
    assert taken == 409
    assert attribute(ana, "section.state", "data-holder") == "ana"

    # the citizen writes again: it reaches Ana's open page live, and the bot says nothing
    read_before = len(stack.texts_to(sender))
    answer = "sí, está en el primer piso, el agua llega a la rodilla"
    stack.wait_turn(sender, stack.text(sender, answer))
    wait_css(ana, "li.msg.citizen[data-kind='text']", timeout=5)
    WebDriverWait(ana, 5, **LIVE).until(lambda d: answer in d.find_element(By.CSS_SELECTOR, "ol.history").text)
    stack.location(sender, -34.6040, -58.3820)
    wait_css(ana, "a[href^='https://www.openstreetmap.org/?mlat=-34.604&']", timeout=5)
    time.sleep(1.0)  # the bot would have answered by now
    assert len(stack.texts_to(sender)) == read_before, "while an operator has it, the bot answers nothing"

    screenshot(ana, "conversacion")

    # handed back: the bot resumes and asks if there is anything else
    click(ana, "#hand-back")
    stack.wait_for_text(sender, lambda text: "¿Te puedo ayudar con algo más?" in text)
    tracker = stack.wait_turn(sender, stack.text(sender, "hola"))
    assert not tracker.get("paused")
    assert len(stack.texts_to(sender)) > read_before + 1, "the bot answers again"

    # everything was audited, with the operator and the time
    supervisor.get(f"{stack.console}/audit")
    rows = supervisor.execute_script(
        "return Array.from(document.querySelectorAll('main tbody tr[data-action]'))"
        ".map(r => [r.dataset.action, r.cells[1].innerText, r.querySelector('time').getAttribute('datetime')]);")
    for action in ("login", "take", "reply", "hand_back"):
        assert any(row[0] == action and row[1] == "ana" and row[2] for row in rows), f"{action} by ana: {rows[:10]}"
    assert any(row[0] == "operator_created" and row[1] == "admin" for row in rows)
    screenshot(supervisor, "auditoria")


def test_a_browser_without_a_session_sees_nothing(stack: Stack, new_browser) -> None:
    sender = citizen()
    stack.wait_turn(sender, stack.text(sender, "quiero hablar con una persona"))
    stranger = new_browser()
    for path in ("/", "/conversations/1", "/operators", "/audit", "/fragments/queue", "/media/1"):
        stranger.get(f"{stack.console}{path}")
        page = stranger.page_source
        assert sender not in page and sender[-4:] not in page, f"{path} shows a citizen to a stranger"
        if not path.startswith(("/fragments/", "/media/")):  # pages send to the login form
            assert stranger.find_elements(By.ID, "password"), f"{path} asks to log in"
        else:  # what the pages' scripts fetch answers 401
            assert requests.get(f"{stack.console}{path}", timeout=10).status_code == 401, path
    screenshot(stranger, "ingreso")
    events = requests.get(f"{stack.console}/events", timeout=5, stream=True)
    assert events.status_code in (401, 403)


def test_the_phone_layout_shows_the_queue(stack: Stack, new_browser) -> None:
    phone = new_browser(width=390, height=844)
    log_in(phone, stack, "admin", ADMIN_PASSWORD)
    wait_css(phone, "section.areas")
    overflow = phone.execute_script("return document.documentElement.scrollWidth > window.innerWidth + 1;")
    assert not overflow, "no sideways scrolling on a phone"
    screenshot(phone, "cola-telefono")
