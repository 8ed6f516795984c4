from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("", views.report, name="report"),
    path("export/", views.export, name="export"),
    path("chi/", views.chi, name="chi"),
    path("chi/export/", views.chi_export, name="chi_export"),
    path("exports/<int:pk>/", views.export_detail, name="export_detail"),
    path("exports/<int:pk>/download/", views.export_download, name="export_download"),
    path("printed/", views.printed, name="printed"),
    path("snapshots/", views.snapshot_list, name="snapshot_list"),
    path("snapshots/<int:pk>/", views.snapshot_detail, name="snapshot_detail"),
    path("snapshots/<int:pk>/download/", views.snapshot_download, name="snapshot_download"),
]
