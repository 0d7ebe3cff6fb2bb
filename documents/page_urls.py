"""Dashboard pages for documents (the API's routes are in documents/urls.py)."""

from django.urls import path

from documents import views

urlpatterns = [
    path("documents/", views.document_list, name="documents"),
]
