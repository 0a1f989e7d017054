from django.urls import path

from meadow.business import views

web_patterns = [
    path("business/", views.verification, name="business_verification"),
    path("business/licence/<int:application_id>/", views.licence_file, name="business_licence"),
]
