from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "creditguard.web"
    label = "web"
    verbose_name = "Web"
