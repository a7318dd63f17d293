from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "creditguard.accounts"
    label = "accounts"
    verbose_name = "Accounts"
