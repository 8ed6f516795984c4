from django.urls import path

from guidance import views

urlpatterns = [
    path("<int:pk>/handout/", views.handout, name="case_handout"),
]
