from django.urls import path

from documents import api, api_files

urlpatterns = [
    path("documents/", api.DocumentListCreateView.as_view(), name="document-list"),
    path("documents/<int:pk>/", api.DocumentDetailView.as_view(), name="document-detail"),
    path("documents/<int:pk>/reindex/", api.DocumentReindexView.as_view(), name="document-reindex"),
    path("documents/<int:pk>/file/", api_files.DocumentFileView.as_view(), name="document-file"),
    path("chunks/<int:pk>/", api.ChunkDetailView.as_view(), name="chunk-detail"),
]
