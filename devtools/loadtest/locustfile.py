"""A working day in miniature: workers browse and open cases, record new ones, tick steps, move referrals;
a supervisor reads the report. Pages use a session past both factors, the API a token; both come from
the JSON file that prepare.py writes (LOADTEST_DATA). Run by devtools/loadtest/run.sh, which prints the verdict.

Requests go to plain HTTP on 127.0.0.1 but say ``X-Forwarded-Proto: https``, as the TLS proxy in front
of a production deployment would, so production settings (secure cookies, HTTPS redirect) apply unchanged.
"""

import itertools
import json
import os
import random
import uuid
from pathlib import Path
from typing import Any

from locust import HttpUser, between, task

DATA: dict[str, Any] = json.loads(Path(os.environ.get("LOADTEST_DATA", "devtools/loadtest/data.json")).read_text())
# Which case to open or step to tick needs no secure randomness.
choice, chance = random.choice, random.random
ACCOUNTS = itertools.cycle(DATA["accounts"])
SUPERVISOR = next(a for a in DATA["accounts"] if a["username"] == DATA["supervisor"])
CASES: list[int] = DATA["cases"]
STEPS: list[list[int]] = DATA["steps"]
# Each referral moves once: sent -> acknowledged, and acknowledged -> in progress.
REFERRALS: list[tuple[int, str]] = [(pk, "acknowledged") for pk in DATA["referrals"]["sent"]] + [
    (pk, "in_progress") for pk in DATA["referrals"]["acknowledged"]
]
random.shuffle(REFERRALS)

LIST_FILTERS = ["status=open", "risk_level=high", "mine=true", "overdue=true", "platform={}", "status=waiting"]
NEW_CASE = {
    "risk_level": "medium",
    "channel": "chat",
    "reporter_type": "victim",
    "victim_age": 15,
    "victim_gender": "female",
    "victim_country": "IT",
    "sextortion_type": "financial",
    "demands": ["money"],
    "threats": ["friends"],
    "platforms": [{"platform": "instagram", "role": "first_contact"}],
    "incident_description": "Contacted on a game, asked for images, then money. Load test.",
    "text_decision": "redact",
}
FORWARDED = {"X-Forwarded-Proto": "https"}


class Worker(HttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        account = next(ACCOUNTS)
        self.page_headers = {**FORWARDED, "Cookie": f"{DATA['session_cookie']}={account['session']}"}
        self.api_headers = {**FORWARDED, "Authorization": f"Token {account['token']}"}
        self.report_headers = {**FORWARDED, "Authorization": f"Token {SUPERVISOR['token']}"}

    def page(self, path: str, name: str) -> None:
        headers = self.page_headers
        with self.client.get(path, headers=headers, name=name, allow_redirects=False, catch_response=True) as response:
            if response.status_code != 200:  # a redirect to the login page is a failure too
                response.failure(f"{response.status_code} {response.headers.get('Location', '')}")

    @task(30)
    def case_list(self) -> None:
        if chance() < 0.4:
            query = choice(LIST_FILTERS).format(choice(["instagram", "snapchat", "tiktok"]))
            self.page(f"/cases/?{query}", "page: case list (filtered)")
        else:
            self.page("/cases/", "page: case list")

    @task(30)
    def case_page(self) -> None:
        self.page(f"/cases/{choice(CASES)}/", "page: case")

    @task(5)
    def case_create(self) -> None:
        self.client.post(
            "/api/v1/cases/",
            json=NEW_CASE,
            headers={**self.api_headers, "Idempotency-Key": str(uuid.uuid4())},
            name="api: case create",
        )

    @task(15)
    def step_update(self) -> None:
        step, case = choice(STEPS)
        status = choice(["done", "todo", "not_applicable"])
        self.client.patch(
            f"/api/v1/cases/{case}/steps/{step}/",
            json={"status": status},
            headers=self.api_headers,
            name="api: step update",
        )

    @task(10)
    def referral_transition(self) -> None:
        if not REFERRALS:
            return
        pk, to = REFERRALS.pop()
        self.client.post(
            f"/api/v1/referrals/{pk}/transition/",
            json={"to": to, "note": "Load test."},
            headers=self.api_headers,
            name="api: referral transition",
        )

    @task(10)
    def report(self) -> None:
        self.client.get("/api/v1/reports/", headers=self.report_headers, name="api: report")
