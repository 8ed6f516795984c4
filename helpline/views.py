"""Pages that gather what several apps hold: the home page."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cases.selectors import my_open_cases
from helpline import gate
from supervision.prompt import prompt_refresh


@login_required
def home(request: HttpRequest) -> HttpResponse:
    prompt_refresh(request)
    return render(request, "home.html", {"my_cases": my_open_cases(gate.signed_in_user(request))})
