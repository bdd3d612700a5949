from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Action, ModelConfig, ModelEvent, ModelVersion, Server


class ServerForm(forms.ModelForm[Server]):
    """The --http-restricted-api header value is write-only: never rendered back into the page."""

    auth_header_value = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only: leave empty to keep the stored value; tick the box below to clear it.",
    )
    clear_auth_header_value = forms.BooleanField(required=False, label="Clear the stored header value")

    class Meta:
        model = Server
        fields = "__all__"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("clear_auth_header_value"):
            data["auth_header_value"] = ""
        elif not data.get("auth_header_value") and self.instance.pk:
            data["auth_header_value"] = self.instance.auth_header_value
        return data


@admin.register(Server)
class ServerAdmin(admin.ModelAdmin[Server]):
    form = ServerForm
    list_display = ["name", "url", "status", "reload_strategy", "last_scrape_at", "last_error"]
    list_filter = ["status"]
    search_fields = ["name", "url"]
    readonly_fields = ["status", "last_scrape_at", "last_error", "inventory_at"]


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin[ModelVersion]):
    list_display = ["server", "name", "version", "state", "reason", "memory_usage_bytes"]
    list_filter = ["state", "server"]
    search_fields = ["name"]


@admin.register(ModelConfig)
class ModelConfigAdmin(admin.ModelAdmin[ModelConfig]):
    list_display = ["server", "name", "fetched_at"]


@admin.register(ModelEvent)
class ModelEventAdmin(admin.ModelAdmin[ModelEvent]):
    list_display = ["at", "server", "name", "version", "old_state", "new_state", "reason"]
    list_filter = ["server", "new_state"]


@admin.register(Action)
class ActionAdmin(admin.ModelAdmin[Action]):
    """The audit record: read only, since an action's history must not be rewritten."""

    list_display = ["id", "requested_at", "requested_by", "kind", "server", "model", "state"]
    list_filter = ["state", "kind", "server", "requested_by"]
    search_fields = ["model", "error", "result"]
    date_hierarchy = "requested_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Action | None = None) -> bool:
        return False

    # A queued or running action's row is the lock on its model: deleting it would let a
    # second action in while Triton may still be loading. Ended actions may be deleted.
    def has_delete_permission(self, request: HttpRequest, obj: Action | None = None) -> bool:
        if obj is not None and obj.active:
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Action]) -> None:
        # The bulk action already refuses a selection holding an active row (each row goes
        # through has_delete_permission); the query excludes them too, whatever was posted.
        super().delete_queryset(request, queryset.exclude(state__in=Action.ACTIVE_STATES))
