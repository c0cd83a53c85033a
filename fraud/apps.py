from django.apps import AppConfig


class FraudConfig(AppConfig):
    name = "fraud"
    verbose_name = "Fraud and threat detection"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_login_failed

        from fraud.receivers import login_failed

        user_login_failed.connect(login_failed, dispatch_uid="fraud.login_failed")
