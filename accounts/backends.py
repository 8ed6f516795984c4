from asgiref.sync import sync_to_async
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AnonymousUser, Permission
from django.db.models import Model

from accounts.models import User


class RoleBackend(ModelBackend):
    """Permissions come from the group named after the user's one role; an account has none of its own."""

    def get_user_permissions(self, user_obj: User | AnonymousUser, obj: Model | None = None) -> set[str]:
        # As in ModelBackend, the deployment operator (a superuser) holds every permission both ways.
        return self.get_group_permissions(user_obj, obj) if user_obj.is_superuser else set()

    def get_group_permissions(self, user_obj: User | AnonymousUser, obj: Model | None = None) -> set[str]:
        if user_obj.is_anonymous or not user_obj.is_active or obj is not None:
            return set()
        permissions = (
            Permission.objects.all() if user_obj.is_superuser else Permission.objects.filter(group__name=user_obj.role)
        )
        names = permissions.values_list("content_type__app_label", "codename").order_by()
        return {f"{app}.{codename}" for app, codename in names}

    async def aget_user_permissions(self, user_obj: User | AnonymousUser, obj: Model | None = None) -> set[str]:
        return await sync_to_async(self.get_user_permissions)(user_obj, obj)

    async def aget_group_permissions(self, user_obj: User | AnonymousUser, obj: Model | None = None) -> set[str]:
        return await sync_to_async(self.get_group_permissions)(user_obj, obj)
