from django.apps import AppConfig


class FraudConfig(AppConfig):
    name = "fraud"
    verbose_name = "Fraud and threat detection"

    def ready(self) -> None:
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_login_failed

        from fraud.receivers import account_locked_out, login_failed

        user_login_failed.connect(login_failed, dispatch_uid="fraud.login_failed")
        user_locked_out.connect(account_locked_out, dispatch_uid="fraud.account_locked_out")
