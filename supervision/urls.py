from django.urls import path

from supervision import views

app_name = "supervision"

urlpatterns = [
    path("", views.board, name="board"),
    path("workers/<int:pk>/", views.worker_cases, name="worker_cases"),
    path("reassign/", views.reassign, name="reassign"),
    path("exposure/", views.exposure, name="exposure"),
    path("exposure/put-away/", views.exposure_put_away, name="exposure_put_away"),
    path("exposure/debrief/", views.debrief_request, name="debrief_request"),
]
