"""The forms whose typing is kept. The app that owns a form registers it (``cases/apps.py``), saying which of its
fields are kept and who may fill it in, so that this app needs none of the apps above it.

A draft is named by its key: the form's kind alone ("case_new"), or with the id of the record the form belongs
to ("case_note:12").
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest, QueryDict


@dataclass(frozen=True)
class DraftedForm:
    kind: str
    view_name: str  # the view the form posts to
    fields: frozenset[str]  # the fields kept: never a CSRF token, a password or a decision taken on saving
    page: Callable[[str], str]  # the URL of the page holding the form, from the record's id ("" for none)
    check: Callable[[HttpRequest, str], None]  # refuses (a 404) unless the signed-in user may fill in the form
    record_kwarg: str = ""  # the view's URL argument naming the record, for a form that belongs to one

    def key(self, record_id: object = "") -> str:
        return f"{self.kind}:{record_id}" if self.record_kwarg else self.kind

    def kept(self, posted: QueryDict) -> dict[str, list[str]]:
        """The form's own fields of what was posted, each with its list of values."""
        return {name: posted.getlist(name) for name in sorted(self.fields) if name in posted}


_FORMS: dict[str, DraftedForm] = {}


def register(form: DraftedForm) -> None:
    _FORMS[form.kind] = form


def drafted_form(key: str) -> tuple[DraftedForm, str] | None:
    """The form a key names and the id of its record ("" for none); None for a key of no registered form."""
    kind, colon, record_id = key.partition(":")
    form = _FORMS.get(kind)
    if form is None:
        return None
    if form.record_kwarg:
        if not (record_id.isascii() and record_id.isdigit() and len(record_id) <= 18):
            return None
    elif colon:
        return None
    return form, record_id


def drafted_form_posted_to(view_name: str, kwargs: dict[str, object]) -> tuple[DraftedForm, str] | None:
    """The form this view takes, and the id of its record, if it is a drafted one."""
    for form in _FORMS.values():
        if form.view_name == view_name:
            return form, str(kwargs.get(form.record_kwarg, "")) if form.record_kwarg else ""
    return None
