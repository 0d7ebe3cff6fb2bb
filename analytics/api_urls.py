from django.urls import path

from analytics import api

urlpatterns = [
    path("analytics/queries/", api.QueryAnalyticsView.as_view(), name="api-analytics-queries"),
]
