from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = _("Audit")

    def ready(self) -> None:
        from audit import database_roles

        post_migrate.connect(database_roles.grant_after_migrate, sender=self)
        connection_created.connect(database_roles.check_runtime_connection)
