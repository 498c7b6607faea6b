"""Personal API tokens: who a program acts as, stored as a digest only."""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    """Vocabulary for tokens."""

    def usable(self, *, now: datetime | None = None) -> "ApiTokenQuerySet":
        """Return the tokens that authenticate: not revoked, not expired, of an active user."""
        moment = now or timezone.now()
        return self.filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=moment),
            revoked_at__isnull=True,
            user__is_active=True,
        )


class ApiToken(models.Model):
    """A personal token: requests bearing it act as `user`, under the same rules."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. “CI”.")
    shown = models.CharField(
        "token begins",
        max_length=16,
        editable=False,
        help_text="The token's first characters, to recognise it.",
    )
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Leave empty for a token that does not expire."
    )
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = "API token"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.shown}…)"

    @property
    def state(self) -> str:
        """Return "active", "expired" or "revoked"."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return "expired"
        return "active"

    def refusal(self) -> str:
        """Return why the token does not authenticate now, or "" when it does."""
        state = self.state
        if state == "revoked":
            return "This token was revoked."
        if state == "expired":
            return f"This token expired at {self.expires_at:%Y-%m-%d %H:%M} UTC."
        if not self.user.is_active:
            return "This token's user account is inactive."
        return ""

    def revoke(self) -> None:
        """Stop the token from authenticating, from the next request on."""
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])
