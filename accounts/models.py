"""Users. The table exists in every schema: operators in public, each tenant's people in theirs."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True, role=Role.OWNER)
        return self._create(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username or "")


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # When access was last turned off: tokens and sessions from before stay refused after a
    # reactivation (accounts.tokens.check_not_revoked, get_session_auth_hash).
    access_revoked_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        # Django logs out sessions whose stored hash no longer matches: a password change
        # already did that; a deactivation does it too, even after a reactivation.
        # (Unchanged for people never deactivated, so their sessions survive this code.)
        if self.access_revoked_at is None:
            return super()._get_session_auth_hash(secret=secret)  # type: ignore[misc]  # not in the stubs
        value = f"{self.password}|{int(self.access_revoked_at.timestamp())}"
        key_salt = "accounts.User.get_session_auth_hash"
        return salted_hmac(key_salt, value, secret=secret, algorithm="sha256").hexdigest()


class ApiKeyScope(models.TextChoices):
    READ = "read", "Read (search, ask, list)"
    WRITE = "write", "Write (also upload and delete)"


class ApiKey(models.Model):
    """A tenant's key for machine clients; only a SHA-256 hash of the secret is stored.

    The key string is `di_<prefix>_<secret>`: the prefix is shown in lists and used to find
    the row, the secret is compared in constant time against `key_hash`.
    """

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The key acts as this person (request.user); it stops working with their account.
    created_by = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    created_at = models.DateTimeField(default=timezone.now)
    # True: the key reads only `collections` (of those its creator may read), none once they
    # are all deleted; False: whatever its creator may read.
    collections_limited = models.BooleanField(default=False)
    collections = models.ManyToManyField("accounts.Collection", blank=True, related_name="api_keys")

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} (di_{self.prefix}_…)"

    @property
    def display_prefix(self) -> str:
        return f"di_{self.prefix}"


# Collections are listed default first, then by name. Queries that aggregate (document counts)
# repeat it with order_by(*COLLECTION_ORDER): Django leaves Meta.ordering out of GROUP BY
# queries, and a paginated list needs a deterministic order.
COLLECTION_ORDER = ("-is_default", "name", "id")


class Collection(models.Model):
    """A named group of a workspace's documents that decides who may read them.

    Every workspace has one default collection (`is_default`) that all its people read;
    owners and admins read every collection, others the default one and those they are a
    member of (accounts/collection_access.py).
    """

    name = models.CharField(max_length=100)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar[list[str]] = list(COLLECTION_ORDER)
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(Lower("name"), name="collection_name_unique"),
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="collection_one_default",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CollectionMember(models.Model):
    """A person who reads a collection, and may upload into it with `can_upload`."""

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="collection_memberships")
    can_upload = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar[list[str]] = ["collection_id", "user__email"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["collection", "user"], name="collection_member_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.collection_id}"
