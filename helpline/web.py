"""What the staff pages of several apps share: how form widgets are drawn, the labels of a list's choices, and a
service's refusal shown on a posted form."""

from collections.abc import Callable, Sequence
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import models
from django.forms import renderers
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template import TemplateDoesNotExist

from cases.services import IdentifiersFound


class FormRenderer(renderers.BaseRenderer):
    """Widgets drawn from Django's Jinja2 copies of its widget templates: the same HTML but for line breaks between
    tags, about a third faster than through the Django template engine (the new-case form's hundred choices took
    38 ms). A template without a Jinja2 copy (the admin's widgets, django-filter's) comes from the Django engine.
    """

    def __init__(self) -> None:
        self.jinja2 = renderers.Jinja2()
        self.django = renderers.DjangoTemplates()

    def get_template(self, template_name: str) -> Any:
        try:
            return self.jinja2.get_template(template_name)
        except TemplateDoesNotExist:
            return self.django.get_template(template_name)


def label_choices(rows: Sequence[models.Model], *fields: str) -> None:
    """Set ``<field>_label`` on each row of a list: what ``get_<field>_display()`` gives, with each label translated
    once for the list rather than once a row (``get_<field>_display()`` translates every choice to find one)."""
    if not rows:
        return
    for name in fields:
        field = rows[0]._meta.get_field(name)
        labels = {code: str(label) for code, label in field.flatchoices}  # type: ignore[union-attr]
        for row in rows:
            value = getattr(row, name)
            setattr(row, f"{name}_label", labels.get(value, value))


def is_htmx(request: HttpRequest) -> bool:
    """A request that htmx made from a page (its HX-Request header): it is answered with the parts that change."""
    return request.headers.get("HX-Request") == "true"


def add_service_error(form: forms.BaseForm, error: ValidationError) -> None:
    """Show a service's validation error on the form: on its field when the form has one, else above it."""
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def identifiers_found(form: Any, error: IdentifiersFound) -> None:
    """Ask the author what to do with what the free-text guard found (templates/cases/_identifiers_found.html)."""
    form.add_error(None, str(error))
    form.identifiers_found = error.findings
    form.identifiers_movable = any(finding.offender_candidate for finding in error.findings)


def form_post(
    request: HttpRequest,
    form: Any,
    save: Callable[[dict[str, Any]], Any],
    success: str,
    done_url: str,
    redisplay: Callable[[], HttpResponse],
) -> HttpResponse:
    """Validate a form, save it through a service, and go on; or show the page again with every error."""
    if form.is_valid():
        try:
            save(form.cleaned_data)
        except IdentifiersFound as error:
            identifiers_found(form, error)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, success)
            return redirect(done_url)
    return redisplay()
