"""What the staff pages of several apps share: how form widgets and Jinja2 templates are drawn, the labels of a list's
choices, and a service's refusal shown on a posted form."""

import datetime
from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import jinja2
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import models
from django.forms import renderers
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.defaultfilters import date as date_filter
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.dateformat import re_formatchars
from django.utils.dates import MONTHS_3
from django.utils.formats import localize
from django.utils.functional import cached_property
from django.utils.hashable import make_hashable
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.timezone import get_current_timezone, is_naive, template_localtime  # type: ignore[attr-defined]
from django.utils.translation import get_language, gettext

from cases.services import IdentifiersFound


class FormRenderer(renderers.BaseRenderer):
    """Widgets drawn from Django's Jinja2 copies of its widget templates: the same HTML but for line breaks between
    tags, about a third faster than through the Django template engine (the new-case form's hundred choices took
    38 ms). A template without a Jinja2 copy (the admin's widgets, django-filter's) comes from the Django engine.
    """

    def __init__(self) -> None:
        self.jinja2 = _WidgetTemplates()
        self.django = renderers.DjangoTemplates()

    def get_template(self, template_name: str) -> Any:
        try:
            return self.jinja2.get_template(template_name)
        except TemplateDoesNotExist:
            return self.django.get_template(template_name)


class _WidgetTemplates(renderers.Jinja2):
    """Django's Jinja2 widget templates, but for those ``templates/jinja2/django/forms/`` replaces (the select)."""

    @cached_property
    def engine(self) -> Any:
        own = settings.BASE_DIR / "templates" / "jinja2"
        return self.backend(
            {
                "APP_DIRS": True,
                "DIRS": [own, Path(renderers.__file__).parent / "jinja2"],
                "NAME": "djangoforms",
                "OPTIONS": {},
            }
        )


def jinja2_environment(**options: Any) -> jinja2.Environment:
    """Jinja2 for the templates it draws (``templates/jinja2/``, the case page's), with Django's ways: a value is
    printed as a Django template prints it (local time, local format, Django's escaping), ``_`` translates from the
    same catalogue, ``url`` reverses a URL name, ``display(row, "field")`` is ``row.get_field_display()``, the ``date``
    filter is Django's, and ``django_include`` draws a Django template that pages drawn by Django share. A list
    takes ``links(name)`` and ``dates(format)`` once, then draws each row's link and date with them.

    makemessages reads these templates as Django templates: a message is written ``{{ _("...") }}`` or
    ``{% set name = _("...") %}``, which it finds; a message with a count is declared in Python (``ngettext_lazy``)
    and formatted in the template.
    """
    options.pop("autoescape", None)
    environment = jinja2.Environment(autoescape=True, finalize=_as_django_prints, **options)
    environment.globals.update(
        _=gettext, url=url_for, links=links, dates=dates, display=_display, django_include=_django_include
    )
    environment.filters["date"] = _date
    return environment


def jinja2_page(
    request: HttpRequest, layout: str, content: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """A page whose content Jinja2 draws (``content``, in ``templates/jinja2/``) in its Django layout (``layout``,
    which prints ``{{ content }}`` in the shared one): Jinja2 draws a long list, or forms of many choices, several
    times faster than Django's engine. The layout has the same context, for its title."""
    drawn = render_to_string(content, context, request, using="jinja2")
    return render(request, layout, {**context, "content": mark_safe(drawn)}, status=status)  # noqa: S308 (escaped as drawn)


def _as_django_prints(value: Any) -> Any:
    if type(value) is int and not settings.USE_THOUSAND_SEPARATOR:
        return str(value)  # as localize prints it, without its lookups
    if type(value) is not str:
        if hasattr(value, "__html__"):
            return value
        value = str(localize(template_localtime(value)))
    # Jinja2 escapes the rest as Django does, but for quotes, which Django writes &#x27; and &quot;.
    return escape(value) if "'" in value or '"' in value else value


def _display(row: models.Model, name: str) -> Any:
    """What ``row.get_<name>_display()`` gives, from the field's labels translated once for the language (Django's
    translates every choice on every call)."""
    value = getattr(row, name)
    return _labels(type(row), name, get_language()).get(make_hashable(value), value)


@cache
def _labels(model: type[models.Model], name: str, language: str | None) -> dict[Any, str]:
    field = model._meta.get_field(name)
    return {make_hashable(code): str(label) for code, label in field.flatchoices}  # type: ignore[union-attr]


def url_for(name: str, *args: Any) -> str:
    """``reverse(name, args=args)``; with no arguments or only ids, from the URL reversed once (with stand-ins for
    the ids), since a list reverses one link a row and Django's reverse took a millisecond for fifty."""
    return _link(_url_drawing(name, len(args), get_script_prefix(), get_urlconf()), name, args)


def links(name: str) -> Callable[[Any], str]:
    """``url_for(name, id)`` for each row of a list: where the id goes is found once, with the script prefix and the
    URLconf of the request, which take longer to look up than to draw the link."""
    drawing = _url_drawing(name, 1, get_script_prefix(), get_urlconf())
    return lambda id: _link(drawing, name, (id,))


def _link(drawing: str | None, name: str, args: Sequence[Any]) -> str:
    for arg in args:
        if type(arg) is not int or arg < 0:
            return reverse(name, args=args)
    return reverse(name, args=args) if drawing is None else drawing.format(*args)


def dates(format: str) -> Callable[[Any], str]:
    """Django's ``date`` filter with this format, for each row of a list: the time zone and the month names are
    looked up once, as they take longer to look up than to draw the date. The formats of day, month, year, hour and
    minute are drawn without Django's DateFormat, which took a millisecond and a half for the fifty dates of a
    list."""
    drawing, zone, months = _date_drawing(format), get_current_timezone(), _months(get_language())
    whole_days = drawing is not None and "hour" not in drawing and "minute" not in drawing

    def draw(value: Any) -> str:
        if drawing is not None and isinstance(value, datetime.datetime) and not is_naive(value):
            value = value.astimezone(zone)
        elif not (whole_days and type(value) is datetime.date):
            return date_filter(template_localtime(value), format)
        return drawing.format(value, months[value.month])  # type: ignore[union-attr]

    return draw


# Numbers no URL of ours holds, in the place of each id, to find where the ids go.
_URL_STAND_INS = (9_876_543_210, 9_876_543_211, 9_876_543_212, 9_876_543_213)


# Bounded: the script prefix comes from the request (SCRIPT_NAME), so a client could ask for any number of them.
@lru_cache(maxsize=1024)
def _url_drawing(name: str, count: int, script_prefix: str, urlconf: str | None) -> str | None:
    """The URL of ``name`` as a str.format template with a field for each of its ``count`` ids, if each is written as
    its digits, once; else None (Django's reverse then draws each link)."""
    if count > len(_URL_STAND_INS):
        return None
    try:
        url = reverse(name, args=_URL_STAND_INS[:count], urlconf=urlconf)
    except (NoReverseMatch, TypeError, ValueError):  # a pattern or converter that takes no such number
        return None
    url = url.replace("{", "{{").replace("}", "}}")
    for place, stand_in in enumerate(_URL_STAND_INS[:count]):
        if url.count(str(stand_in)) != 1:
            return None
        url = url.replace(str(stand_in), f"{{{place}}}")
    return url


def _date(value: Any, format: str) -> str:
    """Django's date filter (``dates``)."""
    return dates(format)(value)


# What Django's DateFormat prints for these characters, as fields of str.format (the date, then its month's name).
_QUICK_DATE = {
    "j": "{0.day}",
    "d": "{0.day:02d}",
    "M": "{1}",
    "Y": "{0.year:04d}",
    "H": "{0.hour:02d}",
    "i": "{0.minute:02d}",
}


@cache
def _date_drawing(format: str) -> str | None:
    """The format as a str.format template, split as Django splits it (a format character at each odd place); None
    if it holds another character or an escape."""
    pieces = re_formatchars.split(format)
    if "\\" in format or any(piece not in _QUICK_DATE for piece in pieces[1::2]):
        return None
    pieces[0::2] = [piece.replace("{", "{{").replace("}", "}}") for piece in pieces[0::2]]
    pieces[1::2] = [_QUICK_DATE[piece] for piece in pieces[1::2]]
    return "".join(pieces)


@cache
def _months(language: str | None) -> dict[int, str]:
    return {number: str(name).title() for number, name in MONTHS_3.items()}


@jinja2.pass_context
def _django_include(context: jinja2.runtime.Context, template_name: str, **values: Any) -> str:
    return render_to_string(template_name, {**context.get_all(), **values})


def label_choices(rows: Sequence[models.Model], *fields: str) -> None:
    """Set ``<field>_label`` on each row of a list: what ``get_<field>_display()`` gives, with each label translated
    once for the list rather than once a row (``get_<field>_display()`` translates every choice to find one)."""
    if not rows:
        return
    language, model = get_language(), type(rows[0])
    labels = [(name, f"{name}_label", _labels(model, name, language)) for name in fields]
    for row in rows:
        for name, label, label_of in labels:
            value = getattr(row, name)
            setattr(row, label, label_of.get(make_hashable(value), value))


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
