from django.urls import path

from meadow.privacy import views

web_patterns = [
    path("settings/data/", views.data_page, name="privacy_data"),
    path("settings/data/export/", views.export_request, name="privacy_export"),
    path(
        "settings/data/exports/<int:export_id>/download/",
        views.export_download,
        name="privacy_export_download",
    ),
    path("settings/data/delete/", views.deletion_request, name="privacy_deletion"),
    path("settings/data/delete/code/", views.deletion_code, name="privacy_deletion_code"),
    path("settings/data/delete/cancel/", views.deletion_cancel, name="privacy_deletion_cancel"),
]
