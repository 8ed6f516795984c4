from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from helpline import gate
from notifications import services
from notifications.models import Kind
from notifications.selectors import notifications_for

SHOWN = 200


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    notifications = list(notifications_for(gate.signed_in_user(request)).order_by("-created_at", "-id")[:SHOWN])
    for notification in notifications:
        if notification.kind == Kind.SUPERVISOR_DIGEST:
            notification.links = services.digest_links(notification.detail)  # type: ignore[attr-defined]
    return render(request, "notifications/notification_list.html", {"notifications": notifications})


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    if not services.notification_mark_read(user=gate.signed_in_user(request), notification_id=pk):
        raise Http404
    return redirect("notification_list")


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    services.notifications_mark_all_read(user=gate.signed_in_user(request))
    return redirect("notification_list")
