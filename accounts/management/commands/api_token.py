from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from accounts.services import api_token_issue, api_tokens_revoke


class Command(BaseCommand):
    help = (
        "Issue an API token for a user (a service account) and print it; only its hash is stored. "
        "With --revoke, withdraw every token of that user instead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--days", type=int, default=90, help="days until the token expires (default 90)")
        parser.add_argument("--revoke", action="store_true", help="withdraw all tokens of this user")

    def handle(self, *args: Any, username: str, days: int, revoke: bool, **options: Any) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user called {username!r}.")
        if revoke:
            count = api_tokens_revoke(user=user)
            self.stdout.write(f"Revoked {count} token(s) of {username}.")
            return
        if not user.is_active:
            raise CommandError(f"{username!r} is deactivated.")
        if user.is_superuser:
            raise CommandError("Superusers get no API token: make a service account with the role it needs.")
        if not 1 <= days <= 366:
            raise CommandError("--days must be between 1 and 366.")
        self.stdout.write(api_token_issue(user=user, lifetime=timedelta(days=days)))
