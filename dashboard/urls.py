from django.contrib.auth import views as auth_views
from django.urls import path, register_converter
from drf_spectacular.views import SpectacularAPIView

from . import (
    api,
    api_alerts,
    api_autopilot,
    api_control,
    api_deployments,
    api_inside,
    own_metrics,
    pages_alerts,
    pages_deploy,
    tokens,
    views,
)


class ModelName:
    """Any non-empty text: Triton names models after directories, and a name may hold
    spaces, "<", "%" or even a newline (which `<path:>`'s `.+` refuses, so `reverse` raised
    and the page holding a link to such a model answered 500)."""

    regex = r"(?s:.+)"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ModelName, "model")

urlpatterns = [
    path("", views.index, name="index"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", own_metrics.metrics, name="metrics"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
    path("servers/<int:server_id>/", views.server_detail, name="server"),
    path("servers/<int:server_id>/models/<model:name>/", views.model_detail, name="model"),
    path("deployments/", pages_deploy.deployments, name="deployments"),
    path("rollouts/<int:pk>/", pages_deploy.rollout, name="rollout"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/servers/", api.ServerList.as_view(), name="api-servers"),
    path("api/servers/sparklines/", api.FleetSparklines.as_view(), name="api-sparklines"),
    path("api/servers/<int:pk>/models/", api.ServerModels.as_view(), name="api-server-models"),
    path("api/servers/<int:pk>/series/", api.ServerSeries.as_view(), name="api-server-series"),
    path(
        "api/servers/<int:pk>/models/<str:name>/load/", api_control.LoadModel.as_view(), name="api-model-load"
    ),
    path(
        "api/servers/<int:pk>/models/<str:name>/unload/",
        api_control.UnloadModel.as_view(),
        name="api-model-unload",
    ),
    path(
        "api/servers/<int:pk>/models/<str:name>/promote/",
        api_control.PromoteModel.as_view(),
        name="api-model-promote",
    ),
    path(
        "api/servers/<int:pk>/models/<str:name>/rollback/",
        api_control.RollbackModel.as_view(),
        name="api-model-rollback",
    ),
    path("api/servers/<int:pk>/autopilot/", api_autopilot.Autopilot.as_view(), name="api-server-autopilot"),
    path(
        "api/servers/<int:pk>/models/<str:name>/ensure/",
        api_autopilot.EnsureModel.as_view(),
        name="api-model-ensure",
    ),
    path(
        "api/servers/<int:pk>/models/<str:name>/pipeline/",
        api_inside.Pipeline.as_view(),
        name="api-model-pipeline",
    ),
    path(
        "api/servers/<int:pk>/models/<str:name>/batching/",
        api_inside.Batching.as_view(),
        name="api-model-batching",
    ),
    path("api/servers/<int:pk>/internals/", api_inside.Internals.as_view(), name="api-server-internals"),
    path(
        "api/servers/<int:pk>/models/<str:name>/batching/change/",
        api_inside.ChangeBatching.as_view(),
        name="api-model-batching-change",
    ),
    path("api/servers/<int:pk>/models/<str:name>/debug/", api_inside.Debug.as_view(), name="api-model-debug"),
    path(
        "api/servers/<int:pk>/models/<str:name>/debug/sessions/",
        api_inside.DebugSessions.as_view(),
        name="api-model-debug-sessions",
    ),
    path("api/actions/", api_control.ActionList.as_view(), name="api-actions"),
    path("api/actions/<int:pk>/", api_control.ActionDetail.as_view(), name="api-action"),
    path("api/alert-rules/", api_alerts.RuleList.as_view(), name="api-alert-rules"),
    path("api/alert-rules/<int:pk>/", api_alerts.RuleDetail.as_view(), name="api-alert-rule"),
    path("api/alerts/", api_alerts.AlertList.as_view(), name="api-alerts"),
    path("api/servers/<int:pk>/timeline/", api_alerts.Timeline.as_view(), name="api-server-timeline"),
    path("api/alerts/<int:pk>/silence/", api_alerts.SilenceAlert.as_view(), name="api-alert-silence"),
    path(
        "api/alerts/<int:pk>/acknowledge/",
        api_alerts.AcknowledgeAlert.as_view(),
        name="api-alert-acknowledge",
    ),
    path("api/webhooks/", api_alerts.WebhookList.as_view(), name="api-webhooks"),
    path(
        "api/webhooks/<int:pk>/deliveries/",
        api_alerts.WebhookDeliveries.as_view(),
        name="api-webhook-deliveries",
    ),
    path("api/servers/<int:pk>/", api.ServerDetail.as_view(), name="api-server"),
    path("api/deployments/", api_deployments.DeploymentList.as_view(), name="api-deployments"),
    path("api/deployments/<int:pk>/", api_deployments.DeploymentDetail.as_view(), name="api-deployment"),
    path("api/rollouts/<int:pk>/", api_deployments.RolloutDetail.as_view(), name="api-rollout"),
    path("api/rollouts/<int:pk>/pause/", api_deployments.RolloutPause.as_view(), name="api-rollout-pause"),
    path("api/rollouts/<int:pk>/resume/", api_deployments.RolloutResume.as_view(), name="api-rollout-resume"),
    path("api/rollouts/<int:pk>/abort/", api_deployments.RolloutAbort.as_view(), name="api-rollout-abort"),
    path("api/tokens/", tokens.TokenList.as_view(), name="api-tokens"),
    path("api/tokens/<str:prefix>/", tokens.TokenDetail.as_view(), name="api-token"),
    path("audit/", views.audit, name="audit"),
    path("alerts/", pages_alerts.alerts, name="alerts"),
    path("control/<int:pk>/<str:name>/", views.control, name="control"),
]
