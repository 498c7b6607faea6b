from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from api import services
from api.models import ApiToken


class Command(BaseCommand):
    help = "Create, revoke or list personal API tokens (a new token is printed only once)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create: ArgumentParser = actions.add_parser("create", help="Issue a token for a user.")
        create.add_argument("username")
        create.add_argument("--name", default="API token", help="What the token is for.")
        create.add_argument(
            "--create-user",
            action="store_true",
            help="Make the user first if no user has that name: an account for a program "
            "(no password, so it cannot sign in; not staff).",
        )
        create.add_argument(
            "--expires-in-days",
            type=float,
            default=None,
            help="Days until it stops working (default: never).",
        )
        revoke = actions.add_parser("revoke", help="Revoke tokens by id.")
        revoke.add_argument("ids", nargs="+", type=int)
        listing = actions.add_parser("list", help="List tokens (never their secrets).")
        listing.add_argument("--user", default=None, help="Only this user's tokens.")

    def handle(self, *args: Any, **options: Any) -> None:
        {"create": self._create, "revoke": self._revoke, "list": self._list}[options["action"]](
            options
        )

    def _create(self, options: dict[str, Any]) -> None:
        user = self._user(options["username"], create=options["create_user"])
        days = options["expires_in_days"]
        if days is not None and days <= 0:
            raise CommandError("--expires-in-days must be more than 0.")
        expires_at = None if days is None else timezone.now() + timedelta(days=days)
        token, secret = services.token_create(
            user=user, name=options["name"], expires_at=expires_at
        )
        self.stderr.write(f"Token {token.pk} for {user}: copy it now, it is not shown again.")
        self.stdout.write(secret)

    def _user(self, username: str, *, create: bool) -> Any:
        users = get_user_model().objects
        try:
            return users.get_by_natural_key(username)
        except get_user_model().DoesNotExist:
            if not create:
                raise CommandError(
                    f"No user named “{username}” (--create-user makes one for a program)."
                ) from None
        self.stderr.write(f"Made the user {username} (no password: it cannot sign in).")
        return users.create_user(username=username)

    def _revoke(self, options: dict[str, Any]) -> None:
        tokens = {token.pk: token for token in ApiToken.objects.filter(pk__in=options["ids"])}
        missing = sorted(set(options["ids"]) - set(tokens))
        if missing:
            raise CommandError(f"No token with id {', '.join(map(str, missing))}.")
        for token in tokens.values():
            services.token_revoke(token=token)
            self.stdout.write(f"Revoked token {token.pk} ({token}).")

    def _list(self, options: dict[str, Any]) -> None:
        tokens = ApiToken.objects.select_related("user").order_by("pk")
        if options["user"]:
            tokens = tokens.filter(user__username=options["user"])
        for token in tokens:
            expires = f"{token.expires_at:%Y-%m-%d %H:%M}" if token.expires_at else "never"
            self.stdout.write(
                f"{token.pk}\t{token.user}\t{token.shown}…\t{token.state}\t"
                f"expires {expires}\t{token.name}"
            )
