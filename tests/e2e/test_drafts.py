"""Nothing typed is lost: the session ends on the server while the new-case form is being filled in on a call,
and after logging in again the worker finds what they typed, kept on the server and never in the browser."""

import re
from typing import Any

import psycopg
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Journey

pytestmark = pytest.mark.e2e

DESCRIPTION = "Met on a game, then moved to a chat app; asked for photos the same night."


def browser_storage(trip: Journey) -> dict[str, Any]:
    return dict(
        trip.page.evaluate(
            """async () => ({
                local: Object.fromEntries(Object.entries(localStorage)),
                session: Object.fromEntries(Object.entries(sessionStorage)),
                databases: (await indexedDB.databases()).length,
            })"""
        )
    )


def nothing_kept_in_the_browser(trip: Journey) -> None:
    assert browser_storage(trip) == {"local": {}, "session": {}, "databases": 0}


def test_what_was_typed_survives_the_end_of_the_session(journey: Journey) -> None:
    trip, page = journey, journey.page
    trip.login("other-worker")
    trip.go("/cases/new/")
    page.get_by_label("Channel").select_option(index=1)
    page.get_by_label("Who is contacting").select_option(index=1)
    page.get_by_label("Risk").select_option(label="High")
    page.get_by_label("Age (years)").fill("14")
    page.get_by_label("Gender").select_option(index=1)
    page.get_by_label("Incident description").fill(DESCRIPTION)
    expect(page.locator(".draft-status")).to_contain_text("Draft kept")  # two seconds after typing stopped
    trip.look("draft kept as typed")
    nothing_kept_in_the_browser(trip)

    # The last words, then the session ends on the server before the form is posted.
    page.get_by_label("Incident description").fill(DESCRIPTION + " Paid once.")
    with psycopg.connect(trip.app.database_url, autocommit=True) as connection:
        connection.execute("DELETE FROM django_session")
    page.get_by_role("button", name="Open case").click()
    expect(page).to_have_url(re.compile(r"/account/login/\?next=/cases/new/$"))
    expect(page.locator("main")).to_contain_text("What you typed is kept")
    nothing_kept_in_the_browser(trip)

    trip.login("other-worker")
    trip.go("/cases/new/")
    expect(page.locator("main")).to_contain_text("We kept what you typed when your session ended")
    expect(page.get_by_label("Incident description")).to_have_value(DESCRIPTION + " Paid once.")
    expect(page.get_by_label("Age (years)")).to_have_value("14")
    expect(page.get_by_label("Risk")).to_have_value("high")
    trip.look("form kept after the session ended")
    nothing_kept_in_the_browser(trip)

    page.get_by_role("button", name="Open case").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("High risk")
    expect(page.locator("main")).to_contain_text("Paid once.")
    nothing_kept_in_the_browser(trip)  # htmx notes the case's path in sessionStorage; the page takes it away
    trip.go("/cases/new/")
    expect(page.get_by_label("Incident description")).to_have_value("")
    expect(page.locator("main")).not_to_contain_text("not saved yet")
    nothing_kept_in_the_browser(trip)
