from django.apps import AppConfig


class ReferenceConfig(AppConfig):
    name = "creditguard.reference"
    label = "reference"
    verbose_name = "Reference data"
