from django.urls import path

from drafts import views

app_name = "drafts"
urlpatterns = [
    path("", views.draft_save, name="save"),
    path("<int:pk>/discard/", views.draft_discard, name="discard"),
]
