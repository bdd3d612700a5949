"""`python manage.py create_api_token USERNAME [--expires-days N] [--rotate]`: a new API token.

The token is printed once: only its SHA-512 digest is stored, so it cannot be shown again.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from knox.models import AuthToken

from dashboard import tokens


class Command(BaseCommand):
    help = "Create and print an API token for USERNAME (use with Authorization: Bearer <token>)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--expires-days",
            type=int,
            default=settings.FLEET_API_TOKEN_DAYS,
            help=f"days until it expires (default {settings.FLEET_API_TOKEN_DAYS}, "
            f"at most FLEET_API_TOKEN_MAX_DAYS={settings.FLEET_API_TOKEN_MAX_DAYS})",
        )
        parser.add_argument("--rotate", action="store_true", help="revoke the user's other tokens")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user named {options['username']!r}")
        days = options["expires_days"]
        if not 1 <= days <= settings.FLEET_API_TOKEN_MAX_DAYS:
            raise CommandError(f"--expires-days must be 1 to {settings.FLEET_API_TOKEN_MAX_DAYS}")
        if options["rotate"]:
            AuthToken.objects.filter(user=user).delete()
        row, token = tokens.issue(user, days)
        self.stderr.write(
            f"token {row.token_key}… for {user.get_username()}, expires {row.expiry:%Y-%m-%d %H:%M} UTC"
        )
        self.stdout.write(token)
