"""Dashboard pages for documents (the API's routes are in documents/urls.py)."""

from django.urls import path

from documents import collection_views, views

urlpatterns = [
    path("documents/", views.document_list, name="documents"),
    path("collections/", collection_views.collections_page, name="collections-page"),
    path(
        "collections/<int:pk>/rename/",
        collection_views.rename_collection,
        name="collection-rename-page",
    ),
    path(
        "collections/<int:pk>/delete/",
        collection_views.delete_collection,
        name="collection-delete-page",
    ),
    path(
        "collections/<int:pk>/members/",
        collection_views.add_member,
        name="collection-member-add-page",
    ),
    path(
        "collections/<int:pk>/members/<int:user_id>/upload/",
        collection_views.set_upload_right,
        name="collection-member-upload-page",
    ),
    path(
        "collections/<int:pk>/members/<int:user_id>/remove/",
        collection_views.remove_member,
        name="collection-member-remove-page",
    ),
]
