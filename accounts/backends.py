from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AnonymousUser, Permission
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import CharField, Model, OuterRef, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import ExternalIdentity, User
from accounts.roles import ROLE_PERMISSIONS
from helpline import rows
from notifications.models import unread_count_of


def _confirmed_devices(model: type[TOTPDevice] | type[StaticDevice]) -> ArraySubquery:
    """The persistent ids (django-otp's ``Device.persistent_id``) of the user's confirmed devices of one kind."""
    persistent_id = Concat(Value(f"{model.model_label()}/"), Cast("pk", CharField()))
    devices = model.objects.filter(user=OuterRef("pk"), confirmed=True).values(persistent_id=persistent_id)
    return ArraySubquery(devices)


def _users_as_pages_read_them() -> QuerySet[User]:
    """Users with what every page asks of the signed-in one: their confirmed authenticator and backup devices
    (``accounts.middleware.OTPMiddleware``), the count of their unread notifications and their identity providers.
    """
    return User._default_manager.annotate(
        totp_devices=_confirmed_devices(TOTPDevice),
        static_devices=_confirmed_devices(StaticDevice),
        unread_notifications=unread_count_of(OuterRef("pk")),
        sso_providers=ArraySubquery(
            ExternalIdentity.objects.filter(user=OuterRef("pk"), provider__enabled=True).values("provider_id")
        ),
    )


# Compiled once: building and compiling these subqueries took twice as long as running the query.
_user_as_pages_read_them = rows.compiled_once(lambda pk: _users_as_pages_read_them().filter(pk=pk))


class RoleBackend(ModelBackend):
    """Permissions come from the user's one role, as ``accounts.roles`` declares them; an account has none of its own.

    The role's group holds the same permissions (``accounts.apps`` applies them after every migration), so they
    are read from the declaration, without a query on every request.
    """

    def get_user(self, user_id: Any) -> User | None:
        """The signed-in user, read with what every page asks of them (``_users_as_pages_read_them``)."""
        try:
            found = _user_as_pages_read_them(int(user_id))
        except (ValueError, TypeError):
            return None
        user = found[0] if found else None
        return user if user is not None and self.user_can_authenticate(user) else None

    def get_user_permissions(self, user_obj: User | AnonymousUser, obj: Model | None = None) -> set[str]:
        # As in ModelBackend, the deployment operator (a superuser) holds every permission both ways.
        return self.get_group_permissions(user_obj, obj) if user_obj.is_superuser else set()

    def get_group_permissions(self, user_obj: User | AnonymousUser, obj: Model | None = None) -> set[str]:
        if user_obj.is_anonymous or not user_obj.is_active or obj is not None:
            return set()
        if not user_obj.is_superuser:
            return set(ROLE_PERMISSIONS.get(user_obj.role, ()))
        names = Permission.objects.values_list("content_type__app_label", "codename").order_by()
        return {f"{app}.{codename}" for app, codename in names}

    async def aget_user_permissions(self, user_obj: User | AnonymousUser, obj: Model | None = None) -> set[str]:
        return await sync_to_async(self.get_user_permissions)(user_obj, obj)

    async def aget_group_permissions(self, user_obj: User | AnonymousUser, obj: Model | None = None) -> set[str]:
        return await sync_to_async(self.get_group_permissions)(user_obj, obj)
