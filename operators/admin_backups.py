"""Django admin: the latest backups and how they ended (registered by operators/admin.py)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat

from operators.models import BackupRecord


@admin.register(BackupRecord)
class BackupRecordAdmin(admin.ModelAdmin):
    """The latest backups and how they ended (`manage.py backup`, the scheduled one)."""

    list_display = ["started_at", "kind", "tenant_schema", "outcome", "size", "seconds", "location"]
    list_filter = ["outcome", "kind"]
    search_fields = ["tenant_schema", "location", "detail"]
    readonly_fields = [field.name for field in BackupRecord._meta.fields]

    @admin.display(description="size", ordering="size_bytes")
    def size(self, obj: BackupRecord) -> str:
        return filesizeformat(obj.size_bytes) if obj.size_bytes is not None else "—"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
