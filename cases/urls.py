from django.urls import path

from cases import views

urlpatterns = [
    path("", views.case_list, name="case_list"),
    path("new/", views.case_new, name="case_new"),
    path("closure-requests/", views.closure_request_list, name="closure_request_list"),
    path("<int:pk>/", views.case_detail, name="case_detail"),
    path("<int:pk>/edit/", views.case_edit, name="case_edit"),
    path("<int:pk>/history/", views.case_history, name="case_history"),
    path("<int:pk>/notes/", views.note_add, name="case_note_add"),
    path("<int:pk>/contacts/", views.contact_add, name="case_contact_add"),
    path("<int:pk>/identifiers/", views.identifier_add, name="case_identifier_add"),
    path("<int:pk>/status/", views.status_change, name="case_status"),
    path("<int:pk>/assign/", views.assign, name="case_assign"),
    path("<int:pk>/closure/", views.closure_request, name="case_closure_request"),
    path("<int:pk>/closure/decision/", views.closure_decide, name="case_closure_decide"),
    path("<int:pk>/access-log/", views.case_access_log_view, name="case_access_log"),
    path("<int:pk>/steps/<int:step_id>/", views.step_update, name="case_step_update"),
]
