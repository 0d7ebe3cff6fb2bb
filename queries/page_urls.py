"""Dashboard pages for questions (the API's routes are in queries/urls.py)."""

from django.urls import path

from queries import views

urlpatterns = [
    path("ask/", views.ask_page, name="ask"),
]
