from django.apps import AppConfig


class AccountDataConfig(AppConfig):
    name = "account_data"
    verbose_name = "Your data"
