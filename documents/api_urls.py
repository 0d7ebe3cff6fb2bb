from django.urls import path

from documents import api, api_files, collections_api

urlpatterns = [
    path("documents/", api.DocumentListCreateView.as_view(), name="document-list"),
    path("documents/<int:pk>/", api.DocumentDetailView.as_view(), name="document-detail"),
    path("documents/<int:pk>/reindex/", api.DocumentReindexView.as_view(), name="document-reindex"),
    path("documents/<int:pk>/file/", api_files.DocumentFileView.as_view(), name="document-file"),
    path("chunks/<int:pk>/", api.ChunkDetailView.as_view(), name="chunk-detail"),
    path("collections/", collections_api.CollectionListView.as_view(), name="collection-list"),
    path(
        "collections/<int:pk>/",
        collections_api.CollectionDetailView.as_view(),
        name="collection-detail",
    ),
    path(
        "collections/<int:pk>/members/",
        collections_api.CollectionMemberListView.as_view(),
        name="collection-members",
    ),
    path(
        "collections/<int:pk>/members/<int:user_id>/",
        collections_api.CollectionMemberDetailView.as_view(),
        name="collection-member",
    ),
]
