"""The case forms whose typing is kept as a draft until saved (drafts/): the new-case form and the note form."""

from django.http import HttpRequest
from django.urls import reverse

from cases.forms import PLATFORM_FIELDS, CaseForm, NoteForm
from cases.selectors import case_for_user
from drafts.registry import DraftedForm
from helpline import gate

# Chosen when the form is saved, never kept: what to do with identifiers found in the text, and the version edited.
DECIDED_ON_SAVING = {"text_decision", "move", "version"}


def _may_open_cases(request: HttpRequest, record_id: str) -> None:
    gate.require(request, "cases.view_case")


def _may_write_on(request: HttpRequest, record_id: str) -> None:
    gate.require(request, "cases.view_case")
    case_for_user(request, record_id)


CASE_NEW = DraftedForm(
    kind="case_new",
    view_name="case_new",
    fields=frozenset({*CaseForm.base_fields, *PLATFORM_FIELDS} - DECIDED_ON_SAVING),
    page=lambda record_id: reverse("case_new"),
    check=_may_open_cases,
)
CASE_NOTE = DraftedForm(
    kind="case_note",
    view_name="case_note_add",
    fields=frozenset(NoteForm.base_fields.keys() - DECIDED_ON_SAVING),
    page=lambda record_id: reverse("case_detail", args=[record_id]) + "#notes",
    check=_may_write_on,
    record_kwarg="pk",
)
