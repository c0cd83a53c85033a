from django.apps import AppConfig


class FraudConfig(AppConfig):
    name = "fraud"
    verbose_name = "Fraud and threat detection"

    def ready(self) -> None:
        from axes.signals import user_locked_out
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_in, user_login_failed
        from django.db.models.signals import m2m_changed

        from fraud.receivers import account_locked_out, groups_changed, login_failed, signed_in

        user_login_failed.connect(login_failed, dispatch_uid="fraud.login_failed")
        user_locked_out.connect(account_locked_out, dispatch_uid="fraud.account_locked_out")
        user_logged_in.connect(signed_in, dispatch_uid="fraud.signed_in")
        m2m_changed.connect(
            groups_changed,
            sender=get_user_model().groups.through,
            dispatch_uid="fraud.groups_changed",
        )
