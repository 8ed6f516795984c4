"""A call in progress, in a real browser: the worker opens the case with the keyboard alone, then ticks steps,
writes notes and changes the status while the page stays where it is (htmx swaps the parts that change), and
the same forms work with JavaScript off."""

import base64
import re

import psycopg
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import SCREENSHOTS, Journey

pytestmark = pytest.mark.e2e

KEYBOARD_ORDER = """form => {
  const focusable = "input:not([type=hidden]), select, textarea, button, summary, a[href]";
  return Array.from(form.querySelectorAll(focusable))
    .filter(el => !el.disabled && el.getClientRects().length > 0)
    .filter(el => { const shut = el.closest("details:not([open])"); return !shut || el.parentElement === shut; })
    .map((el, i) => { el.dataset.order = String(i); return i; }).length;
}"""


def sign_in(trip: Journey, username: str) -> None:
    """Log in with the authenticator another journey of this run may have enrolled, read from the app's database."""
    with psycopg.connect(trip.app.database_url) as conn:
        row = conn.execute(
            "SELECT d.key, d.last_t FROM otp_totp_totpdevice d JOIN accounts_user u ON u.id = d.user_id"
            " WHERE u.username = %s AND d.confirmed",
            [username],
        ).fetchone()
    if row:
        secret = base64.b32encode(bytes.fromhex(row[0])).decode()
        trip.secrets[username] = secret
        trip.used_steps[secret] = row[1]
    trip.login(username)


def focused(page: Page) -> str:
    """The label of the element that has the focus, as a screen reader would name it, or its text."""
    return str(
        page.evaluate(
            """() => {
              const el = document.activeElement;
              const label = el.labels && el.labels[0];
              return (label ? label.innerText : el.innerText || el.getAttribute("aria-label") || el.tagName).trim();
            }"""
        )
    )


def test_a_call_with_the_keyboard_alone(journey: Journey) -> None:
    trip, page = journey, journey.page
    sign_in(trip, "demo-worker")
    trip.go("/cases/new/")
    expect(page.locator(".shortcuts")).to_be_visible()
    trip.look("new case with shortcuts")

    # Tab goes through the form in the order it reads: no positive tabindex anywhere.
    assert page.evaluate("() => [...document.querySelectorAll('[tabindex]')].every(el => el.tabIndex <= 0)")
    form = page.locator("form.case-form")
    count = form.evaluate(KEYBOARD_ORDER)
    page.get_by_label("First contact").focus()
    order: list[str] = []
    for _ in range(count * 6):  # Tab also steps through the parts of the date and time
        at = page.evaluate("() => document.activeElement.dataset.order")
        if not order or order[-1] != at:
            order.append(at)
        if at == str(count - 1):
            break
        page.keyboard.press("Tab")
    assert order == [str(i) for i in range(count)], order

    # The fields of a call, reached by their shortcuts.
    page.keyboard.press("Alt+Shift+C")
    assert focused(page) == "Channel"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    assert focused(page) == "Who is contacting"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Alt+Shift+R")
    assert focused(page) == "Risk"
    page.keyboard.type("Medium")
    page.keyboard.press("Alt+Shift+A")
    assert focused(page) == "Age (years)"
    page.keyboard.type("14")
    page.keyboard.press("Alt+Shift+W")
    assert focused(page) == "Incident description"
    page.keyboard.type("Threatened to share pictures unless paid.")
    # The focus ring is visible: the page's own outline, not the browser's default.
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    trip.look("new case typed")
    page.keyboard.press("Control+Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Medium risk")
    case_url = page.url
    trip.look("case opened from the keyboard")

    # From here on the page is never loaded again: a mark left on the window stays.
    page.evaluate("() => { window.liveCallMark = 'still here'; }")
    page.get_by_label("Handle, link or number").fill("typed but not sent")

    # A note: its shortcut, typing, Ctrl+Enter; the timeline shows it and the field is ready for the next.
    page.keyboard.press("Alt+Shift+N")
    assert focused(page) == "New note"
    page.keyboard.type("Calmer now; mother is with her.")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#timeline")).to_contain_text("Calmer now; mother is with her.")
    expect(page.locator("#live-status")).to_have_text("Note added.")
    expect(page.get_by_label("New note")).to_be_focused()
    expect(page.get_by_label("New note")).to_have_value("")

    # The next step done, from the keyboard, while writing the next note: the note keeps the focus.
    first = page.locator(".checklist li .step-label").first.inner_text()
    page.keyboard.type("She has blocked the account")
    page.keyboard.press("Alt+Shift+D")
    expect(page.locator(".checklist li").first).to_have_class(re.compile("step-done"))
    expect(page.locator("#live-status")).to_contain_text(f"{first}: Done.")
    expect(page.get_by_label("New note")).to_be_focused()
    expect(page.get_by_label("New note")).to_have_value("She has blocked the account")
    expect(page.locator("#timeline")).to_contain_text(first)

    # A step ticked with the mouse, as before.
    second = page.locator(".checklist li").nth(1)
    label = second.locator(".step-label").inner_text()
    second.get_by_role("combobox").select_option(label="Done")
    second.get_by_role("button", name="Set").click()
    expect(page.locator(".checklist li").filter(has_text=label).first).to_have_class(re.compile("step-done"))
    trip.look("note added and steps ticked")

    # The status, from its shortcut; the heading follows.
    page.keyboard.press("Alt+Shift+S")
    assert focused(page) == "New status"
    page.get_by_label("New status").select_option(value="waiting")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert focused(page) == "Change status"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Waiting")
    expect(page.locator("#live-status")).to_have_text("Status changed.")

    # The server's refusal stays in its form, with what was typed, and the field to put right has the focus.
    when = page.get_by_label("When", exact=True)
    typed = when.input_value()
    when.fill("2099-01-01T10:00")
    page.get_by_label("Minutes").fill("20")
    page.get_by_role("button", name="Record contact").click()
    expect(page.locator("#contact-part .error").first).to_contain_text("cannot be in the future")
    expect(page.get_by_label("Minutes")).to_have_value("20")
    expect(when).to_be_focused()
    trip.look("contact refused in place")
    when.fill(typed)
    page.get_by_role("button", name="Record contact").click()
    expect(page.locator("#timeline")).to_contain_text("20 min")

    # Someone else changes the case meanwhile (here: the same worker in another tab).
    other = page.context.new_page()
    other.goto(case_url)
    other.get_by_label("New note").fill("Note from the other tab.")
    other.get_by_role("button", name="Add note").click()
    expect(other.locator("#timeline")).to_contain_text("Note from the other tab.")
    other.close()
    page.get_by_label("New status").select_option(value="open")
    page.get_by_role("button", name="Change status").click()
    conflict = page.locator("#status-part .error")
    expect(conflict).to_contain_text("changed by someone else")
    expect(page.locator("#timeline")).to_contain_text("Note from the other tab.")  # the case as it is now
    expect(page.get_by_label("New status")).to_have_value("open")  # the choice is kept
    expect(conflict).to_be_focused()
    trip.look("conflict shown in place")
    page.get_by_role("button", name="Change status").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Open")

    # Nothing was reloaded: the mark and what was typed elsewhere are still there.
    assert page.evaluate("() => window.liveCallMark") == "still here"
    expect(page.get_by_label("Handle, link or number")).to_have_value("typed but not sent")
    expect(page.get_by_label("New note")).to_have_value("She has blocked the account")
    trip.look("after the swaps")


def test_the_same_forms_without_javascript(journey: Journey) -> None:
    trip = journey
    sign_in(trip, "demo-worker")
    browser = trip.page.context.browser
    assert browser is not None
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        java_script_enabled=False,
        storage_state=trip.page.context.storage_state(),
    )
    plain = Journey(name=f"{trip.name}-no-script", page=context.new_page(), app=trip.app)
    plain.page.on("response", plain.on_response)
    page = plain.page
    try:
        plain.go("/cases/new/")
        expect(page.locator(".shortcuts")).to_be_hidden()  # shortcuts need the script
        page.get_by_label("Channel").select_option(index=1)
        page.get_by_label("Risk").select_option(label="Low")
        page.get_by_label("Age (years)").fill("16")
        page.get_by_role("button", name="Open case").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Low risk")
        case_url = page.url

        step = page.locator(".checklist li").first
        label = step.locator(".step-label").inner_text()
        step.get_by_role("combobox").select_option(label="Done")
        with page.expect_navigation():
            step.get_by_role("button", name="Set").click()
        assert page.url == case_url
        expect(page.locator(".checklist li").filter(has_text=label).first).to_have_class(re.compile("step-done"))

        page.get_by_label("New note").fill("Written without JavaScript.")
        with page.expect_navigation():
            page.get_by_role("button", name="Add note").click()
        assert page.url == case_url
        expect(page.locator(".messages")).to_contain_text("Note added.")
        expect(page.locator("#timeline")).to_contain_text("Written without JavaScript.")
        page.screenshot(path=_shot(plain, "note added without javascript"), full_page=True)

        page.get_by_label("When", exact=True).fill("2099-01-01T10:00")
        page.get_by_label("Minutes").fill("20")
        page.get_by_role("button", name="Record contact").click()
        expect(page.locator("#contact-part .error").first).to_contain_text("cannot be in the future")
        expect(page.get_by_label("Minutes")).to_have_value("20")
        page.screenshot(path=_shot(plain, "contact refused without javascript"), full_page=True)
    finally:
        context.close()
    assert not plain.console_errors, plain.console_errors


def _shot(trip: Journey, what: str) -> str:
    """A screenshot's path, beside the journey's others (axe-core needs the page's scripts, off here)."""
    folder = SCREENSHOTS / trip.name
    folder.mkdir(parents=True, exist_ok=True)
    trip.shots += 1
    return str(folder / f"{trip.shots:02d}-{re.sub(r'[^a-z0-9]+', '-', what)}.png")
