from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "meadow.web"
    label = "web"
    verbose_name = "Meadow web"
