"""Dashboard pages for signing in and out, passwords, API keys, members and workspace settings."""

from django.urls import path

from accounts import account_views, views, workspace_views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password/forgot/", views.forgot_password, name="password-forgot"),
    path("password/forgot/sent/", views.forgot_password_sent, name="password-forgot-sent"),
    path(
        "password/set/<uidb64>/<token>/",
        views.PasswordSetView.as_view(),
        name="password-set",
    ),
    path("settings/account/", account_views.account, name="account-page"),
    path("settings/api-keys/", workspace_views.api_keys, name="api-keys-page"),
    path(
        "settings/api-keys/<int:pk>/revoke/",
        workspace_views.revoke_key,
        name="api-key-revoke-page",
    ),
    path("settings/members/", workspace_views.members, name="members-page"),
    path("settings/members/<int:pk>/role/", workspace_views.member_role, name="member-role-page"),
    path(
        "settings/members/<int:pk>/deactivate/",
        workspace_views.member_deactivate,
        name="member-deactivate-page",
    ),
    path(
        "settings/members/<int:pk>/invite-link/",
        workspace_views.member_invite_link,
        name="member-invite-link-page",
    ),
    path(
        "settings/members/<int:pk>/reactivate/",
        workspace_views.member_reactivate,
        name="member-reactivate-page",
    ),
    path(
        "settings/workspace/time-zone/",
        workspace_views.workspace_time_zone,
        name="workspace-time-zone-page",
    ),
    path("", views.home, name="home"),
]
