from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from . import api, views

urlpatterns = [
    path("", views.index, name="index"),
    path("healthz", views.healthz, name="healthz"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/servers/", api.ServerList.as_view(), name="api-servers"),
    path("api/servers/<int:pk>/models/", api.ServerModels.as_view(), name="api-server-models"),
    path("api/servers/<int:pk>/series/", api.ServerSeries.as_view(), name="api-server-series"),
]
