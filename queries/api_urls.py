from django.urls import path

from queries import api

urlpatterns = [
    path("search/", api.SearchView.as_view(), name="search"),
    path("ask/", api.AskView.as_view(), name="ask"),
    path("queries/", api.QueryHistoryView.as_view(), name="query-list"),
    path("queries/<int:pk>/feedback/", api.QueryFeedbackView.as_view(), name="query-feedback"),
]
