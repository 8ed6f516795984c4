from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from drafts import services
from drafts.models import Draft
from drafts.registry import drafted_form
from drafts.selectors import draft_of, drafts_of
from helpline import gate


@login_required
@require_POST
def draft_save(request: HttpRequest) -> HttpResponse:
    """What a form holds now, posted by static/js/drafts.js as its author types and when the page is left."""
    user = gate.signed_in_user(request)
    key = request.POST.get("draft_key", "")
    found = drafted_form(key)
    if found is None:
        gate.refuse(request, object_type="drafts.draft", object_id=key[:64])
    form, record_id = found
    form.check(request, record_id)
    try:
        draft = services.draft_save(user=user, key=key, data=form.kept(request.POST))
    except ValidationError as error:
        return JsonResponse({"message": " ".join(error.messages)}, status=413)
    at = formats.time_format(timezone.localtime(draft.updated_at), "TIME_FORMAT")
    return JsonResponse({"message": _("Draft kept at %(time)s, not saved yet.") % {"time": at}})


@login_required
@require_POST
def draft_discard(request: HttpRequest, pk: int) -> HttpResponse:
    draft = gate.get_or_refuse(request, drafts_of(gate.signed_in_user(request)), pk)
    services.draft_discard(draft=draft)
    messages.success(request, _("Draft discarded."))
    found = drafted_form(draft.key)
    return redirect(found[0].page(found[1]) if found else "home")


def draft_restore(request: HttpRequest, form: forms.BaseForm, key: str) -> Draft | None:
    """The signed-in user's draft of this form, its values put into the form; for a form shown, not one posted.

    The page shows it with templates/drafts/_notice.html, which offers to discard it.
    """
    found = drafted_form(key)
    if form.is_bound or found is None:
        return None
    draft = draft_of(gate.signed_in_user(request), key)
    if draft is None:
        return None
    for name in sorted(found[0].fields & set(form.fields)):
        values = draft.data.get(name, [])
        if getattr(form.fields[name].widget, "allow_multiple_selected", False):
            form.initial[name] = values
        else:
            form.initial[name] = values[-1] if values else None
    return draft
