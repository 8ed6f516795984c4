"""What each role does on a working day, in a real browser, in order: the worker's case is the one
the supervisor then sees, reassigns and closes, and the one the analyst cannot open."""

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Locator, expect

from tests.e2e.conftest import Journey

pytestmark = pytest.mark.e2e

# What the worker's journey leaves for the next ones.
shared: dict[str, Any] = {}


def choose(select: Locator, containing: str) -> None:
    """Pick the option whose text contains ``containing``."""
    labels = select.locator("option").all_inner_texts()
    select.select_option(label=next(label for label in labels if containing in label))


def set_step(trip: Journey, label: str, status: str) -> None:
    step = trip.page.locator(".checklist li").filter(has_text=label).first
    step.get_by_role("combobox").select_option(label=status)
    step.get_by_role("button", name="Set").click()
    expect(trip.page.locator(".checklist li").filter(has_text=label).first).to_have_class(
        re.compile(f"step-{status.lower().replace(' ', '_')}")
    )


def new_referral(trip: Journey, kind: str, agency: str) -> str:
    page = trip.page
    page.get_by_role("link", name="New referral").click()
    page.get_by_label("Kind").select_option(label=kind)
    page.get_by_label("Agency").select_option(label=agency)
    page.get_by_label("Consent", exact=True).select_option(value="victim")
    trip.look(f"new {kind}")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(kind)
    return page.url


def send(trip: Journey) -> None:
    page = trip.page
    page.get_by_label("New status").select_option(label="Sent")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("main")).to_contain_text("Sent")


def test_worker(journey: Journey) -> None:
    trip, page = journey, journey.page
    trip.login("demo-worker")
    trip.look("home")
    # Log out and in again: the second time the authenticator code is asked for, not enrolled.
    trip.logout()
    trip.login("demo-worker")
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    # A call comes in: open a case while the victim is on the line.
    page.get_by_role("link", name="New case").first.click()
    trip.look("new case")
    page.get_by_label("Channel").select_option(index=1)
    page.get_by_label("Who is contacting").select_option(index=1)
    page.get_by_label("Risk").select_option(label="High")
    page.get_by_label("Age (years)").fill("15")
    page.get_by_label("Gender").select_option(index=1)
    page.get_by_label("Sextortion type").select_option(index=1)
    page.get_by_role("button", name="Open case").click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("High risk")
    reference = heading.inner_text().split()[0]
    shared["reference"], shared["case_url"] = reference, page.url
    trip.look("case opened")

    # Tick steps of the checklist.
    labels = page.locator(".checklist li .step-label").all_inner_texts()
    assert len(labels) >= 2, labels
    set_step(trip, labels[0], "Done")
    set_step(trip, labels[1], "Done")
    trip.look("steps ticked")

    # A note with the offender's phone number: the form finds it and redacts it.
    page.get_by_label("New note").fill("Offender wrote from +39 347 123 4567 asking for money.")
    page.get_by_role("button", name="Add note").click()
    alert = page.locator("#notes .error")
    expect(alert).to_contain_text("347")
    trip.look("identifier found in note")
    page.get_by_role("button", name="Remove them and save").first.click()
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("asking for money")
    expect(timeline).not_to_contain_text("347 123 4567")
    trip.look("note redacted")

    # A police referral, sent.
    new_referral(trip, "Police report", "Polizia Postale e delle Comunicazioni")
    send(trip)
    trip.look("police referral sent")
    page.get_by_role("link", name=f"Back to {reference}").click()

    # A takedown request to the regulator: the content, sent, then the removal recorded.
    new_referral(trip, "Takedown request to a regulator", "eSafety Commissioner")
    page.get_by_label("Platform").select_option(index=1)
    page.get_by_label("Link").fill("https://example.com/post/123")
    page.get_by_label("Content", exact=True).select_option(label="Image")
    page.get_by_role("button", name="Add content").click()
    expect(page.locator("code")).to_contain_text("https://example.com/post/123")
    send(trip)
    item = page.locator("li").filter(has_text="example.com/post/123")
    item.get_by_role("combobox").select_option(label="Removed")
    item.get_by_role("button", name="Set").click()
    expect(page.locator("li").filter(has_text="example.com/post/123").get_by_role("combobox")).to_have_value("removed")
    trip.look("removal recorded")
    page.get_by_role("link", name=f"Back to {reference}").click()

    # Closing a high-risk case is a supervisor's call: ask for it.
    page.locator("#closure").get_by_label("Reason").select_option(index=1)
    page.locator("#closure").get_by_role("button", name=re.compile("Request closure")).click()
    expect(page.locator("#closure")).to_contain_text("Closure requested")
    trip.look("closure requested")


def test_supervisor(journey: Journey) -> None:
    trip, page = journey, journey.page
    reference = shared.get("reference")
    assert reference, "the worker's journey did not open a case"
    trip.login("demo-supervisor")
    page.get_by_role("link", name="Workload").click()
    trip.look("board")
    page.get_by_role("row").filter(has_text="demo-worker").get_by_role("link").first.click()
    expect(page.get_by_role("link", name=reference)).to_be_visible()
    trip.look("worker's cases")

    # Give the new case to the supervisor.
    page.get_by_label(f"Select {reference}").check()
    choose(page.get_by_label("Give the ticked cases to"), "demo-supervisor")
    page.get_by_role("button", name="Assign").click()
    expect(page.locator(".messages, [role=status]").first).to_be_visible()
    trip.look("reassigned")

    # Approve the closure the worker asked for.
    trip.go(shared["case_url"].removeprefix(trip.app.url))
    expect(page.locator("#closure")).to_contain_text("Closure requested")
    trip.look("case with closure request")
    page.get_by_role("button", name="Approve and close the case").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Closed")
    trip.look("closed")

    # Who has seen the case.
    page.get_by_role("link", name="Access log").click()
    log = page.locator("main table")
    expect(log).to_contain_text("demo-worker")
    expect(log).to_contain_text("demo-supervisor")
    trip.look("access log")


def test_analyst(journey: Journey, tmp_path: Path) -> None:
    trip, page = journey, journey.page
    trip.login("demo-analyst")
    page.get_by_role("link", name="Reports").click()
    expect(page.locator(".disclosure.controlled")).to_be_visible()
    trip.look("report")

    page.get_by_label("Age bands", exact=True).select_option(index=1)
    scheme = page.get_by_label("Age bands", exact=True).locator("option:checked").inner_text()
    page.get_by_role("button", name="Show report").click()
    expect(page.locator(".report-status")).to_contain_text(scheme)
    trip.look("another age scheme")

    # Small counts are never shown: every count is perturbed, and 1 to 4 are published as 0 or 5.
    expect(page.locator(".disclosure.controlled")).to_contain_text("cell-key method")
    cells = page.locator("table.report td").all_inner_texts()
    assert "<5" not in cells and "5" in cells
    assert not [cell for cell in cells if re.fullmatch(r"[1-4]", cell.strip())], "a small count is shown"

    for fmt in ("CSV", "XLSX"):
        with page.expect_download() as info:
            page.locator(".report-actions").get_by_role("link", name=fmt, exact=True).click()
        path = tmp_path / info.value.suggested_filename
        info.value.save_as(path)
        cells = csv_cells(path) if fmt == "CSV" else xlsx_cells(path)
        assert any("cell-key method" in cell for cell in cells), f"{fmt} export does not say what was done"
        # Shares, medians and changes carry a decimal point: a bare 1 to 4 could only be a small count.
        assert not [cell for cell in cells if re.fullmatch(r"[1-4]", cell)], f"{fmt} export shows a small count"

    # A case is none of an analyst's business, even with its address.
    response = page.goto(shared.get("case_url") or trip.app.url + "/cases/1/")
    assert response is not None and response.status in (403, 404)
    expect(page.locator("main")).not_to_contain_text(shared.get("reference", "no reference"))
    trip.look("case refused")


def csv_cells(path: Path) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(path.read_text("utf-8-sig"))) for cell in row]


def xlsx_cells(path: Path) -> list[str]:
    """Text cells and counts; days and shares are numbers too, told apart by their format."""
    book = load_workbook(path)
    return [
        str(cell.value)
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if isinstance(cell.value, str) or cell.number_format == "#,##0"
    ]


def test_administrator(journey: Journey) -> None:
    trip, page = journey, journey.page
    trip.login("demo-admin")
    page.get_by_role("link", name="Administration").click()
    trip.look("admin")

    # A new platform in the taxonomy.
    trip.go("/admin/cases/term/add/")
    choose(page.get_by_label("Vocabulary"), "latform")
    page.get_by_label("Code").fill("e2e_chat")
    page.get_by_label("Label").fill("Journey Chat")
    trip.look("new platform")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("Journey Chat")
    trip.look("platform added")

    # A new worker, invited: the link goes to the worker's mailbox; the administrator sees neither it nor a password.
    trip.go("/admin/accounts/user/add/")
    page.get_by_label("Username").fill("e2e-new-worker")
    page.get_by_label("Role").select_option(label="Helpline worker")
    page.get_by_label("Email address").fill("e2e-new-worker@example.org")
    trip.look("new user")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#content-main")).to_contain_text("e2e-new-worker@demo-helpline")
    expect(page.locator("#content-main")).to_contain_text("Sent to e2e-new-worker@example.org.")
    assert "/account/invitation/" not in page.content()
    trip.look("user invited")

    # The new worker opens the link from their mailbox, in a browser of their own, and sets their password.
    link = trip.app.mailed_link("e2e-new-worker@example.org")
    assert page.context.browser is not None
    invitee_context = page.context.browser.new_context(viewport={"width": 1280, "height": 900})
    invitee = Journey(name=f"{trip.name}-invitee", page=invitee_context.new_page(), app=trip.app)
    invitee.page.on("console", invitee.on_console)
    invitee.page.on("response", invitee.on_response)
    try:
        invitee.page.goto(link)
        expect(invitee.page.locator("main")).to_contain_text("e2e-new-worker@demo-helpline")
        invitee.look("invitation")
        invitee.page.get_by_label("New password", exact=True).fill("a journey's own password 42")
        invitee.page.get_by_label("New password confirmation").fill("a journey's own password 42")
        invitee.page.get_by_role("button", name="Set password").click()
        expect(invitee.page).to_have_url(re.compile("/account/login/"))
        invitee.look("password set")
        invitee.page.get_by_label("Username").fill("e2e-new-worker@demo-helpline")
        invitee.page.get_by_label("Password").fill("a journey's own password 42")
        invitee.page.get_by_role("button", name="Log in").click()
        expect(invitee.page).to_have_url(re.compile("/two-factor/setup/"))
        invitee.look("enrol authenticator")
    finally:
        invitee_context.close()
    assert not invitee.console_errors, invitee.console_errors
