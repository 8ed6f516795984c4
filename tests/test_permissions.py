"""The permission table: every URL pattern x every persona x whose record.

The URL patterns are read from the URL conf, so a new page or endpoint fails
this test until its row is written here.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django import DjangoDbBlocker

from accounts.models import IdentityProvider, Organisation, User
from accounts.roles import Role
from accounts.services import user_invite
from audit.models import AccessLog, Action
from cases.models import ChiCategory, StepType, Term
from cases.services import case_open
from guidance.models import HandoutWording
from imports.models import ImportJob
from referrals.models import Agency
from referrals.services import referral_create, takedown_item_add
from reports.engine import Params
from reports.models import Export, ExportStatus, Snapshot
from retention.models import LegalHold, RetentionPolicy
from tests.conftest import login_verified
from tests.factories import TOTPDeviceFactory
from tests.helpers import invitation_token

STAFF = ["worker", "supervisor", "analyst", "administrator", "other_worker", "other_administrator"]
PERSONAS = ["anonymous", *STAFF]
LOGIN = "login"  # a redirect to the login page


def everyone(answer: int | str, **overrides: int | str) -> dict[str, int | str]:
    return {"anonymous": LOGIN, **dict.fromkeys(STAFF, answer), **overrides}


def admins_only(answer: int | str = 200, **overrides: int | str) -> dict[str, int | str]:
    """Administrators of their own organisation; a 404 for every other role."""
    return everyone(404, administrator=answer, other_administrator=answer, **overrides)


@dataclass
class Row:
    expect: dict[str, int | str]
    url: Callable[[dict[str, Any]], str] | None = None  # builds the URL from the records
    whose: dict[str, dict[str, int | str]] = field(default_factory=dict)  # record -> overrides
    reads: bool = True  # an allowed GET reads records, so it leaves one view row in the access log


def admin_object_row(view: str, record: str, answer: int = 200) -> Row:
    """An admin page about one record, of the home organisation ("own") or the other one ("foreign").

    Out of scope is a 404; a page that refuses everyone (403) refuses before looking the record up.
    """
    out_of_scope = 404 if answer == 200 else answer
    return Row(
        expect=admins_only(),
        url=lambda r: reverse(f"admin:{view}", args=[r[record].pk]),
        whose={
            "own": {"administrator": answer, "other_administrator": out_of_scope},
            "foreign": {"administrator": out_of_scope, "other_administrator": answer},
        },
    )


CASE_ROLES = ["worker", "supervisor", "other_worker"]


def casework(answer: int | str = 200, **overrides: int | str) -> dict[str, int | str]:
    """Workers and supervisors; a 404 for roles that never open a case."""
    return everyone(404, **{**dict.fromkeys(CASE_ROLES, answer), **overrides})


def api_casework(answer: int | str = 200) -> dict[str, int | str]:
    """The case API: 401 without credentials, 403 for roles that never open a case."""
    return {**everyone(403, **dict.fromkeys(CASE_ROLES, answer)), "anonymous": 401}


def case_row(name: str, expect: dict[str, int | str] | None = None, answer: int = 200, **kwargs: str) -> Row:
    """A page or endpoint about one case: the home organisation's ("own") or the other one's ("foreign")."""
    return Row(
        expect=expect or casework(answer),
        url=lambda r: reverse(name, kwargs={"pk": r["case"].pk, **{k: r[v].pk for k, v in kwargs.items()}}),
        whose={
            "own": {"other_worker": 404},
            "foreign": {"worker": 404, "supervisor": 404, "other_worker": answer},
        },
    )


def own_or_foreign(url: Callable[[dict[str, Any]], str], expect: dict[str, int | str], answer: int = 200) -> Row:
    """Any page about a record of the home organisation ("own") or of the other one ("foreign")."""
    return Row(
        expect=expect,
        url=url,
        whose={"own": {"other_worker": 404}, "foreign": {"worker": 404, "supervisor": 404, "other_worker": answer}},
    )


READERS = ["analyst", "supervisor", "administrator", "other_administrator"]


def reporting(answer: int | str = 200) -> dict[str, int | str]:
    """Roles that read statistics; a 404 for workers, as for anything out of scope."""
    return everyone(404, **dict.fromkeys(READERS, answer))


def api_reporting(answer: int | str = 200) -> dict[str, int | str]:
    """The report API: 401 without credentials, 403 for roles that do not read statistics."""
    return {**everyone(403, **dict.fromkeys(READERS, answer)), "anonymous": 401}


def export_row(name: str) -> Row:
    """A report export belongs to the person who asked: the analyst's ("own") or the other administrator's."""
    return Row(
        expect=reporting(404),
        url=lambda r: reverse(name, args=[r["export"].pk]),
        whose={"own": {"analyst": 200}, "foreign": {"other_administrator": 200}},
    )


def snapshot_row(name: str, query: str = "", expect: dict[str, int | str] | None = None) -> Row:
    """A snapshot of the home organisation ("own") or of the other one ("foreign")."""
    return Row(
        expect=expect or reporting(),
        url=lambda r: reverse(name, args=[r["snapshot"].pk]) + query,
        whose={
            "own": {"other_administrator": 404},
            "foreign": {"analyst": 404, "supervisor": 404, "administrator": 404},
        },
    )


def shared_admin_row(view: str, record: str, answer: int = 200) -> Row:
    """The step catalogue is shared by all organisations: administrators read it, only the operator changes it."""
    return Row(admins_only(answer), url=lambda r: reverse(f"admin:{view}", args=[r[record].pk]))


def import_job_row(name: str) -> Row:
    """An import of the home organisation ("own") or of the other one ("foreign"): for its supervisors only."""
    return Row(
        expect=everyone(404, supervisor=200),
        url=lambda r: reverse(name, args=[r["import_job"].pk]),
        whose={"own": {}, "foreign": {"supervisor": 404}},
    )


def invitation_url(records: dict[str, Any]) -> str:
    """The link as its owner reads it, in the e-mail: nobody is shown it."""
    user_invite(
        organisation=records["organisation"],
        username="invited@table",
        role=Role.WORKER,
        email="invited@example.org",
        actor=None,
    )
    return reverse("invitation_accept", args=[invitation_token("invited@example.org")])


TABLE: dict[str, Row] = {
    "home": Row(everyone(200), reads=False),
    "login": Row(everyone(302, anonymous=200), reads=False),  # signed-in users go straight on
    "logout": Row(everyone(405, anonymous=405)),  # POST only
    "account": Row(everyone(200), reads=False),
    "password_change": Row(everyone(200), reads=False),
    # Sign-in with an organisation's provider: anonymous people go there (here: back to the login page, as it does
    # not answer); signed-in people go straight on.
    "sso_start": Row(
        everyone(302), url=lambda r: reverse("sso_start", args=[r["identity_provider"].slug]), reads=False
    ),
    "sso_callback": Row(
        everyone(302), url=lambda r: reverse("sso_callback", args=[r["identity_provider"].slug]), reads=False
    ),
    "two_factor_setup": Row(everyone(302)),  # already enrolled: on to the account page
    "two_factor_verify": Row(everyone(302)),  # already verified: on to where they were going
    "backup_codes_regenerate": Row(everyone(405)),  # POST only
    # Public, for the holder of a fresh link; signed-in people are asked to log out first.
    "invitation_accept": Row(everyone(200, anonymous=200), url=invitation_url, reads=False),
    "admin:index": Row(admins_only(), reads=False),
    "admin:login": Row(admins_only(302, anonymous=302)),
    "admin:logout": Row(admins_only(405)),
    "admin:password_change": Row(admins_only(302)),  # to the one password page of the site
    "admin:password_change_done": Row(admins_only(), reads=False),
    "admin:autocomplete": Row(admins_only(403)),  # needs its query parameters
    "admin:jsi18n": Row(admins_only(), reads=False),
    "admin:view_on_site": Row(
        admins_only(404),  # none of these models has a public page
        url=lambda r: reverse("admin:view_on_site", args=[r["content_type"].pk, r["own_user"].pk]),
    ),
    "admin:app_list": Row(admins_only(), url=lambda r: reverse("admin:app_list", args=["accounts"]), reads=False),
    "admin:accounts_organisation_changelist": Row(admins_only()),
    "admin:accounts_organisation_add": Row(admins_only(403)),  # superusers only
    "admin:accounts_organisation_change": admin_object_row("accounts_organisation_change", "organisation"),
    "admin:accounts_organisation_history": admin_object_row("accounts_organisation_history", "organisation"),
    "admin:accounts_organisation_delete": admin_object_row("accounts_organisation_delete", "organisation", 403),
    "admin:accounts_user_changelist": Row(admins_only()),
    "admin:accounts_user_add": Row(admins_only(), reads=False),
    "admin:accounts_user_change": admin_object_row("accounts_user_change", "own_user"),
    "admin:accounts_user_history": admin_object_row("accounts_user_history", "own_user"),
    "admin:accounts_user_delete": admin_object_row("accounts_user_delete", "own_user", 403),
    # Identity providers: the deployment operator's (superusers) only.
    "admin:accounts_identityprovider_changelist": Row(admins_only(403)),
    "admin:accounts_identityprovider_add": Row(admins_only(403)),
    "admin:accounts_identityprovider_change": admin_object_row(
        "accounts_identityprovider_change", "identity_provider", 403
    ),
    "admin:accounts_identityprovider_history": admin_object_row(
        "accounts_identityprovider_history", "identity_provider", 403
    ),
    "admin:accounts_identityprovider_delete": admin_object_row(
        "accounts_identityprovider_delete", "identity_provider", 403
    ),
    "admin:auth_user_password_change": admin_object_row("auth_user_password_change", "own_user"),
    "admin:audit_accesslog_changelist": Row(admins_only()),
    "admin:audit_accesslog_add": Row(admins_only(403)),
    "admin:audit_accesslog_change": admin_object_row("audit_accesslog_change", "own_log"),
    "admin:audit_accesslog_history": admin_object_row("audit_accesslog_history", "own_log"),
    "admin:audit_accesslog_delete": admin_object_row("audit_accesslog_delete", "own_log", 403),
    "admin:retention_retentionpolicy_changelist": Row(admins_only()),
    "admin:retention_retentionpolicy_add": Row(admins_only(403)),  # each organisation has its one policy already
    "admin:retention_retentionpolicy_change": admin_object_row("retention_retentionpolicy_change", "retention_policy"),
    "admin:retention_retentionpolicy_history": admin_object_row(
        "retention_retentionpolicy_history", "retention_policy"
    ),
    "admin:retention_retentionpolicy_delete": admin_object_row(
        "retention_retentionpolicy_delete", "retention_policy", 403
    ),
    "admin:retention_legalhold_changelist": Row(admins_only()),
    "admin:retention_legalhold_add": Row(admins_only(), reads=False),
    "admin:retention_legalhold_change": admin_object_row("retention_legalhold_change", "legal_hold"),
    "admin:retention_legalhold_history": admin_object_row("retention_legalhold_history", "legal_hold"),
    "admin:retention_legalhold_delete": admin_object_row("retention_legalhold_delete", "legal_hold"),  # releases
    "case_list": Row(casework()),
    "case_new": Row(casework(), reads=False),
    "case_detail": case_row("case_detail"),
    "case_edit": case_row("case_edit"),
    "case_handout": case_row("case_handout"),
    "case_history": Row(
        casework(404, supervisor=200),  # supervisors read the change history of their organisation's cases
        url=lambda r: reverse("case_history", args=[r["case"].pk]),
        whose={"own": {}, "foreign": {"supervisor": 404}},
    ),
    "case_access_log": Row(
        casework(404, supervisor=200),  # supervisors read who opened their organisation's cases
        url=lambda r: reverse("case_access_log", args=[r["case"].pk]),
        whose={"own": {}, "foreign": {"supervisor": 404}},
    ),
    "closure_request_list": Row(casework(404, supervisor=200)),  # the organisation's requests waiting for approval
    # POST only: a GET is refused before the case is looked up.
    "case_note_add": Row(casework(405), url=lambda r: reverse("case_note_add", args=[r["case"].pk])),
    "case_contact_add": Row(casework(405), url=lambda r: reverse("case_contact_add", args=[r["case"].pk])),
    "case_identifier_add": Row(casework(405), url=lambda r: reverse("case_identifier_add", args=[r["case"].pk])),
    "case_status": Row(casework(405), url=lambda r: reverse("case_status", args=[r["case"].pk])),
    "case_assign": Row(casework(405), url=lambda r: reverse("case_assign", args=[r["case"].pk])),
    "case_closure_request": Row(casework(405), url=lambda r: reverse("case_closure_request", args=[r["case"].pk])),
    "case_closure_decide": Row(casework(405), url=lambda r: reverse("case_closure_decide", args=[r["case"].pk])),
    "case_step_update": Row(
        casework(405), url=lambda r: reverse("case_step_update", args=[r["case"].pk, r["step"].pk])
    ),
    "referral_list": Row(casework()),
    "referral_new": Row(
        casework(),
        url=lambda r: reverse("referral_new", args=[r["case"].pk]),
        whose={"own": {"other_worker": 404}, "foreign": {"worker": 404, "supervisor": 404, "other_worker": 200}},
        reads=False,  # an empty form
    ),
    "referral_detail": own_or_foreign(lambda r: reverse("referral_detail", args=[r["referral"].pk]), casework()),
    "referral_summary": own_or_foreign(lambda r: reverse("referral_summary", args=[r["referral"].pk]), casework()),
    "referral_transition": Row(casework(405), url=lambda r: reverse("referral_transition", args=[r["referral"].pk])),
    "referral_consent": Row(casework(405), url=lambda r: reverse("referral_consent", args=[r["referral"].pk])),
    "referral_item_add": Row(casework(405), url=lambda r: reverse("referral_item_add", args=[r["referral"].pk])),
    "referral_item_update": Row(
        casework(405), url=lambda r: reverse("referral_item_update", args=[r["referral"].pk, r["item"].pk])
    ),
    "admin:cases_term_changelist": Row(admins_only()),
    "admin:cases_term_add": Row(admins_only(), reads=False),
    # Each organisation's own terms and agencies; the shared ones (read-only to administrators) in their tests.
    "admin:cases_term_change": admin_object_row("cases_term_change", "term"),
    "admin:cases_term_history": admin_object_row("cases_term_history", "term"),
    "admin:cases_term_delete": admin_object_row("cases_term_delete", "term", 403),
    "admin:cases_steptype_changelist": Row(admins_only()),
    "admin:cases_steptype_add": Row(admins_only(403)),  # the operator's
    "admin:cases_steptype_change": shared_admin_row("cases_steptype_change", "steptype"),
    "admin:cases_steptype_history": shared_admin_row("cases_steptype_history", "steptype"),
    "admin:cases_steptype_delete": shared_admin_row("cases_steptype_delete", "steptype", 403),
    # Child Helpline International's reasons for contact and their mapping: the operator's, like the step catalogue.
    "admin:cases_chicategory_changelist": Row(admins_only()),
    "admin:cases_chicategory_add": Row(admins_only(403)),
    "admin:cases_chicategory_change": shared_admin_row("cases_chicategory_change", "chicategory"),
    "admin:cases_chicategory_history": shared_admin_row("cases_chicategory_history", "chicategory"),
    "admin:cases_chicategory_delete": shared_admin_row("cases_chicategory_delete", "chicategory", 403),
    "admin:guidance_handoutwording_changelist": Row(admins_only()),
    "admin:guidance_handoutwording_add": Row(admins_only(), reads=False),
    "admin:guidance_handoutwording_change": admin_object_row("guidance_handoutwording_change", "handout_wording"),
    "admin:guidance_handoutwording_history": admin_object_row("guidance_handoutwording_history", "handout_wording"),
    "admin:guidance_handoutwording_delete": admin_object_row("guidance_handoutwording_delete", "handout_wording"),
    "admin:referrals_agency_changelist": Row(admins_only()),
    "admin:referrals_agency_add": Row(admins_only(), reads=False),
    "admin:referrals_agency_change": admin_object_row("referrals_agency_change", "agency"),
    "admin:referrals_agency_history": admin_object_row("referrals_agency_history", "agency"),
    "admin:referrals_agency_delete": admin_object_row("referrals_agency_delete", "agency", 403),
    "api-case-list": Row(api_casework()),
    "api-case-detail": case_row("api-case-detail", api_casework()),
    "api-case-contacts": case_row("api-case-contacts", api_casework()),
    "api-case-steps": case_row("api-case-steps", api_casework()),
    "api-case-notes": case_row("api-case-notes", api_casework()),
    "api-case-step": Row(api_casework(405), url=lambda r: reverse("api-case-step", args=[r["case"].pk, r["step"].pk])),
    "api-case-closure-requests": case_row("api-case-closure-requests", api_casework()),
    "api-case-closure-decision": Row(
        api_casework(405), url=lambda r: reverse("api-case-closure-decision", args=[r["case"].pk])
    ),  # POST only
    "api-taxonomies": Row(everyone(200, anonymous=401), reads=False),
    "api-agencies": Row(everyone(200, anonymous=401), reads=False),
    "api-referral-list": Row(api_casework()),
    "api-referral-detail": own_or_foreign(
        lambda r: reverse("api-referral-detail", args=[r["referral"].pk]), api_casework()
    ),
    "api-referral-items": own_or_foreign(
        lambda r: reverse("api-referral-items", args=[r["referral"].pk]), api_casework()
    ),
    "api-referral-transition": Row(
        api_casework(405), url=lambda r: reverse("api-referral-transition", args=[r["referral"].pk])
    ),
    "reports:report": Row(reporting()),
    "reports:export": Row(reporting(), url=lambda r: reverse("reports:export") + "?format=json"),
    "reports:chi": Row(reporting()),
    "reports:chi_export": Row(reporting(), url=lambda r: reverse("reports:chi_export") + "?format=json"),
    "reports:export_detail": export_row("reports:export_detail"),
    "reports:export_download": export_row("reports:export_download"),
    "reports:printed": Row(reporting(405)),  # POST only
    "reports:snapshot_list": Row(reporting()),
    "reports:snapshot_detail": snapshot_row("reports:snapshot_detail"),
    "reports:snapshot_download": snapshot_row("reports:snapshot_download", "?format=csv"),
    # Supervisors import their organisation's historical cases; nobody else may, nor see the import log.
    "imports:list": Row(everyone(404, supervisor=200)),
    "imports:new": Row(everyone(404, supervisor=200), reads=False),
    "imports:template": Row(
        everyone(404, supervisor=200), url=lambda r: reverse("imports:template", args=["xlsx"]), reads=False
    ),
    "imports:detail": import_job_row("imports:detail"),
    "imports:report": import_job_row("imports:report"),
    "api-report": Row(api_reporting()),
    # The workload board: supervisors of the organisation; the figures alone also to administrators.
    "supervision:board": Row(casework(404, supervisor=200)),
    "supervision:worker_cases": Row(
        casework(404, supervisor=200),
        url=lambda r: reverse("supervision:worker_cases", args=[r["own_user"].pk]),
        whose={"own": {}, "foreign": {"supervisor": 404}},
    ),
    "supervision:reassign": Row(casework(404, supervisor=405)),  # POST only, refused to others before that
    # How many hard contacts each person had: supervisors of the organisation only, never administrators or analysts
    # (tests/supervision/test_exposure.py: another organisation's supervisor sees none of them).
    "supervision:exposure": Row(casework(404, supervisor=200)),
    # The prompt to take a break, answered by whoever records contacts: POST only.
    "supervision:exposure_put_away": Row(casework(405)),
    "supervision:debrief_request": Row(casework(405)),
    "api-workload": Row(
        {**everyone(403, supervisor=200, administrator=200, other_administrator=200), "anonymous": 401}
    ),
    "api-snapshot-list": Row(api_reporting()),
    "api-snapshot-detail": snapshot_row("api-snapshot-detail", expect=api_reporting()),
    "notification_list": Row(everyone(200), reads=False),  # each person's own notifications, whatever the role
    "notification_read": Row(everyone(405), url=lambda r: reverse("notification_read", args=[1])),  # POST only
    "notification_read_all": Row(everyone(405)),  # POST only
    "drafts:save": Row(everyone(405)),  # POST only
    "drafts:discard": Row(everyone(405), url=lambda r: reverse("drafts:discard", args=[1])),  # POST only
    "api-me": Row(everyone(200, anonymous=401), reads=False),
    "api-schema": Row(everyone(200, anonymous=401), reads=False),
    "api-docs": Row(everyone(200), reads=False),
    "healthz": Row(everyone(200, anonymous=200), reads=False),
    # For the monitoring system, with its token or from its network (tests/test_metrics.py); no page of anyone's.
    "metrics": Row(everyone(404, anonymous=404), reads=False),
}

# Patterns without a name: the admin's redirects from an object's bare URL to its
# change page, and its catch-all that answers 404 for unknown admin URLs.
UNNAMED = {
    "admin/accounts/organisation/<path:object_id>/": Row(
        admins_only(302), url=lambda r: f"/admin/accounts/organisation/{r['organisation'].pk}/"
    ),
    "admin/accounts/user/<path:object_id>/": Row(
        admins_only(302), url=lambda r: f"/admin/accounts/user/{r['own_user'].pk}/"
    ),
    "admin/accounts/identityprovider/<path:object_id>/": Row(
        admins_only(302), url=lambda r: f"/admin/accounts/identityprovider/{r['identity_provider'].pk}/"
    ),
    "admin/audit/accesslog/<path:object_id>/": Row(
        admins_only(302), url=lambda r: f"/admin/audit/accesslog/{r['own_log'].pk}/"
    ),
    "admin/retention/retentionpolicy/<path:object_id>/": Row(
        admins_only(302), url=lambda r: f"/admin/retention/retentionpolicy/{r['retention_policy'].pk}/"
    ),
    "admin/retention/legalhold/<path:object_id>/": Row(
        admins_only(302), url=lambda r: f"/admin/retention/legalhold/{r['legal_hold'].pk}/"
    ),
    "admin/cases/term/<path:object_id>/": Row(admins_only(302), url=lambda r: f"/admin/cases/term/{r['term'].pk}/"),
    "admin/cases/steptype/<path:object_id>/": Row(
        admins_only(302), url=lambda r: f"/admin/cases/steptype/{r['steptype'].pk}/"
    ),
    "admin/cases/chicategory/<path:object_id>/": Row(
        admins_only(302), url=lambda r: f"/admin/cases/chicategory/{r['chicategory'].pk}/"
    ),
    "admin/guidance/handoutwording/<path:object_id>/": Row(
        admins_only(302), url=lambda r: f"/admin/guidance/handoutwording/{r['handout_wording'].pk}/"
    ),
    "admin/referrals/agency/<path:object_id>/": Row(
        admins_only(302), url=lambda r: f"/admin/referrals/agency/{r['agency'].pk}/"
    ),
    "admin/(?P<url>.*)$": Row(admins_only(404), url=lambda r: "/admin/no-such-page/"),
}


def url_patterns() -> list[tuple[str, str]]:
    """(name or pattern, full pattern) for every route in the URL conf."""
    found: list[tuple[str, str]] = []

    def walk(patterns: list[Any], prefix: str, namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                full = prefix + str(pattern.pattern)
                found.append((f"{namespace}{pattern.name}" if pattern.name else full, full))

    walk(get_resolver().url_patterns, "", "")
    return found


def test_every_url_pattern_has_a_row() -> None:
    missing = [key for key, _ in url_patterns() if key not in TABLE and key not in UNNAMED]
    assert not missing, f"URL patterns with no row in the permission table: {missing}"
    stale = set(TABLE) | set(UNNAMED)
    stale -= {key for key, _ in url_patterns()}
    assert not stale, f"Rows for URL patterns that no longer exist: {stale}"


def cases() -> list[Any]:
    params = []
    for key, row in {**TABLE, **UNNAMED}.items():
        for whose, overrides in (row.whose or {"-": {}}).items():
            for persona in PERSONAS:
                expected = overrides.get(persona, row.expect[persona])
                params.append(pytest.param(key, whose, persona, expected, id=f"{key}|{whose}|{persona}"))
    return params


@dataclass
class World:
    """The personas, an authenticator for each, and the records of each organisation ("own" and "foreign")."""

    personas: dict[str, User]
    devices: dict[str, TOTPDevice]
    records: dict[str, dict[str, Any]]

    def client(self, persona: str) -> Client:
        if persona == "anonymous":
            return Client()
        return login_verified(Client(), self.personas[persona], self.devices[persona])


@pytest.fixture(scope="module")
def world(module_personas: dict[str, User], django_db_blocker: DjangoDbBlocker) -> World:
    """Made once for the module: each row reads them in a transaction of its own, rolled back after it."""
    personas = module_personas
    with django_db_blocker.unblock():
        devices = {key: TOTPDeviceFactory.create(user=user) for key, user in personas.items()}
        home_org, other_org = personas["worker"].organisation, personas["other_worker"].organisation
        return World(personas, devices, records(personas, home_org, other_org))


def records(personas: dict[str, User], home_org: Organisation, other_org: Organisation) -> dict[str, dict[str, Any]]:
    from django.contrib.contenttypes.models import ContentType

    from audit.services import access_log_record

    own_log = access_log_record(action=Action.VIEW, actor=personas["worker"], object_type="test", object_id="1")
    foreign_log = access_log_record(
        action=Action.VIEW, actor=personas["other_worker"], object_type="test", object_id="2"
    )
    content_type = ContentType.objects.get_for_model(User)
    own_case = case_open(actor=personas["worker"], facts={"risk_level": "low"})
    foreign_case = case_open(actor=personas["other_worker"], facts={"risk_level": "low"})
    steptype = StepType.objects.get(code="follow_up")
    agency = Agency.objects.get(code="esafety")
    instagram = Term.objects.get(vocabulary="platform", code="instagram")

    def referral_of(case: Any, actor: User) -> tuple[Any, Any]:
        referral = referral_create(actor=actor, case=case, kind="takedown", agency=agency, consent="victim")
        item = takedown_item_add(
            actor=actor, referral=referral, platform=instagram, link="https://instagram.com/p/x", content_type="image"
        )
        return referral, item

    def export_of(user: User) -> Export:
        month = timezone.localdate().replace(day=1)
        params = Params(organisations=(user.organisation_id,), start=month, end=month)
        return Export.objects.create(
            user=user, parameters=params.as_json(), format="csv", status=ExportStatus.DONE, progress=100, content=b""
        )

    def snapshot_of(organisation: Any) -> Snapshot:
        return Snapshot.objects.create(
            organisation=organisation,
            title="Monthly report",
            parameters={},
            threshold=5,
            tables=[],
            tables_suppressed=[],
        )

    def import_job_of(user: User) -> ImportJob:
        return ImportJob.objects.create(
            organisation_id=user.organisation_id, user=user, file_name="old.csv", format="csv", file_hash=user.username
        )

    def retention_of(case: Any, administrator: User) -> dict[str, Any]:
        return {
            "retention_policy": RetentionPolicy.objects.create(organisation_id=administrator.organisation_id),
            "legal_hold": LegalHold.objects.create(case=case, reason="Court order", set_by=administrator),
        }

    own_referral, own_item = referral_of(own_case, personas["worker"])
    foreign_referral, foreign_item = referral_of(foreign_case, personas["other_worker"])

    def own_entries(organisation: Any) -> dict[str, Any]:
        """A term and an agency of the organisation's own, which no other organisation sees."""
        code = f"own_{organisation.pk}"
        return {
            "term": Term.objects.create(organisation=organisation, vocabulary="platform", code=code, label="Own"),
            "agency": Agency.objects.create(organisation=organisation, code=code, name="Own agency", kind="police"),
        }

    def provider_of(organisation: Any) -> IdentityProvider:
        """An identity provider that does not answer: the sign-in goes back to the login page."""
        return IdentityProvider.objects.create(
            organisation=organisation,
            slug=f"sso-{organisation.pk}",
            label="Sign in",
            issuer="http://localhost:9",
            client_id=f"helpline-{organisation.pk}",
            client_secret="secret",
        )

    def wording_of(organisation: Any) -> HandoutWording:
        return HandoutWording.objects.create(
            organisation=organisation, section="contact", audience="parent", language="en", text="Call us."
        )

    shared = {
        "steptype": steptype,
        "content_type": content_type,
        "chicategory": ChiCategory.objects.get(code="violence_ocsea"),
    }
    return {
        "own": {
            "organisation": home_org,
            "own_user": personas["worker"],
            "own_log": own_log,
            "case": own_case,
            "referral": own_referral,
            "item": own_item,
            "step": own_case.steps.first(),
            "export": export_of(personas["analyst"]),
            "snapshot": snapshot_of(home_org),
            **retention_of(own_case, personas["administrator"]),
            "import_job": import_job_of(personas["supervisor"]),
            **own_entries(home_org),
            "identity_provider": provider_of(home_org),
            "handout_wording": wording_of(home_org),
            **shared,
        },
        "foreign": {
            "organisation": other_org,
            "own_user": personas["other_worker"],
            "own_log": foreign_log,
            "case": foreign_case,
            "referral": foreign_referral,
            "item": foreign_item,
            "step": foreign_case.steps.first(),
            "export": export_of(personas["other_administrator"]),
            "snapshot": snapshot_of(other_org),
            **retention_of(foreign_case, personas["other_administrator"]),
            "import_job": import_job_of(personas["other_administrator"]),
            **own_entries(other_org),
            "identity_provider": provider_of(other_org),
            "handout_wording": wording_of(other_org),
            **shared,
        },
    }


@pytest.mark.parametrize(("key", "whose", "persona", "expected"), cases())
def test_permission_table(
    key: str,
    whose: str,
    persona: str,
    expected: int | str,
    world: World,
    db: None,
) -> None:
    row = TABLE.get(key) or UNNAMED[key]
    url = row.url(world.records["own" if whose == "-" else whose]) if row.url else reverse(key)
    client = world.client(persona)
    last = AccessLog.objects.order_by("-id").values_list("id", flat=True).first() or 0
    response = client.get(url)
    logged = list(AccessLog.objects.filter(id__gt=last).values_list("action", flat=True))
    if expected == LOGIN:
        response = client.get(url, follow=True)
        assert response.request["PATH_INFO"] == reverse("login"), f"{url} as {persona} ends at {response.request}"
    else:
        assert response.status_code == expected, f"{url} as {persona}: {response.status_code}"
    refusals = logged.count(Action.REFUSED)
    reads = sum(logged.count(action) for action in READS)
    if expected in (403, 404) and persona != "anonymous":
        assert (refusals, reads) == (1, 0), f"{url} as {persona}: {refusals} refusal rows and {reads} read rows"
    else:
        assert refusals == 0, f"{url} as {persona} answered {expected} but logged {refusals} refusals"
    if expected == 200:
        assert reads == int(row.reads), f"{url} as {persona}: {reads} read rows"


READS = (Action.VIEW, Action.EXPORT, Action.PRINT)


OPEN_TO_HALF_SIGNED_IN = {"login", "logout", "two_factor_setup", "two_factor_verify", "healthz"}


@pytest.mark.parametrize("key", [k for k in {**TABLE, **UNNAMED} if k not in OPEN_TO_HALF_SIGNED_IN])
def test_a_password_alone_opens_nothing(key: str, world: World, db: None) -> None:
    """Past the password but not the second factor: pages send to enrolment, the API answers 401."""
    row = TABLE.get(key) or UNNAMED[key]
    url = row.url(world.records["own"]) if row.url else reverse(key)
    TOTPDevice.objects.filter(user=world.personas["administrator"]).delete()
    client = Client()
    client.force_login(world.personas["administrator"])  # the widest role, with no authenticator yet
    if url.startswith("/api/"):
        response = client.get(url)
        assert response.status_code == 401, f"{url}: {response.status_code}"
    else:
        response = client.get(url, follow=True)
        assert response.request["PATH_INFO"] == reverse("two_factor_setup"), f"{url} ends at {response.request}"
