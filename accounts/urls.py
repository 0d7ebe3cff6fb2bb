"""Dashboard pages for signing in and out (the dashboard itself grows in later issues)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/set/<uidb64>/<token>/",
        views.PasswordSetView.as_view(),
        name="password-set",
    ),
    path("", views.home, name="home"),
]
