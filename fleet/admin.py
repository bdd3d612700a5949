from django.contrib import admin
from django.http import HttpRequest

from .models import Action, ModelConfig, ModelEvent, ModelVersion, Server


@admin.register(Server)
class ServerAdmin(admin.ModelAdmin[Server]):
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
