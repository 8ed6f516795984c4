from django.urls import path

from supervision import views

app_name = "supervision"

urlpatterns = [
    path("", views.board, name="board"),
    path("workers/<int:pk>/", views.worker_cases, name="worker_cases"),
    path("reassign/", views.reassign, name="reassign"),
]
