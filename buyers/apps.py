from django.apps import AppConfig


class BuyersConfig(AppConfig):
    name = "buyers"
    verbose_name = "Buyers"

    def ready(self) -> None:
        from . import activity

        activity.register()  # the activity feed's words for this app's audited actions
