from typing import Any

from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def sync_role_groups(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """Make each role's group hold exactly the permissions of ROLE_PERMISSIONS."""
    if sender.name != "accounts":
        return
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    from accounts.roles import ROLE_PERMISSIONS

    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=role)
        permissions = []
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            permissions.append(
                Permission.objects.using(using).get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(permissions)


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from accounts import signals  # noqa: F401

        post_migrate.connect(sync_role_groups, dispatch_uid="accounts.sync_role_groups")
