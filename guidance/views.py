from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from cases.selectors import case_for_user
from cases.services import step_mark_done
from guidance.handout import HANDOUT_STEP, build, default_audience
from guidance.models import Audience
from helpline import gate


@gate.page("cases.view_case", object_type="cases")
@require_http_methods(["GET", "POST"])
def handout(request: HttpRequest, pk: int) -> HttpResponse:
    """The handout for the victim or their parent, to print or copy; a POST records that it was given."""
    case = case_for_user(request, pk)
    source = request.POST if request.method == "POST" else request.GET
    audience = source.get("audience") or default_audience(case)
    language = source.get("language") or request.LANGUAGE_CODE
    if audience not in Audience.values or language not in dict(settings.LANGUAGES):
        audience, language = default_audience(case), request.LANGUAGE_CODE
    if request.method == "POST":
        gate.require(request, "cases.change_case", obj=case)
        reason = _("Handout given: %(audience)s, %(language)s") % {
            "audience": Audience(audience).label,
            "language": dict(settings.LANGUAGES)[language],
        }
        step_mark_done(actor=gate.signed_in_user(request), case=case, code=HANDOUT_STEP, reason=reason, request=request)
        messages.success(request, _("Recorded: the handout was given."))
        return redirect("case_detail", pk=case.pk)
    gate.read(request, case, handout=audience, language=language)
    context = {
        "case": case,
        "handout": build(case, audience=audience, language=language),
        "audience": audience,
        "language": language,
        "audiences": Audience.choices,
        "languages": settings.LANGUAGES,
    }
    return render(request, "guidance/handout.html", context)
