"""Account routes of the tenant API (under /api/v1/): tokens, profile, members, keys."""

from django.urls import path

from accounts import api as accounts_api
from accounts import apikeys_api, members_api

urlpatterns = [
    path("tenant/", accounts_api.TenantInfoView.as_view(), name="api-tenant"),
    path("auth/token/", accounts_api.TokenObtainView.as_view(), name="api-token"),
    path("auth/token/refresh/", accounts_api.TokenRefreshView.as_view(), name="api-token-refresh"),
    path("auth/logout/", accounts_api.LogoutView.as_view(), name="api-logout"),
    path("auth/me/", accounts_api.MeView.as_view(), name="api-me"),
    path("auth/password/", accounts_api.PasswordChangeView.as_view(), name="api-password"),
    path("members/", members_api.MemberListView.as_view(), name="api-members"),
    path("members/<int:pk>/", members_api.MemberDetailView.as_view(), name="api-member"),
    path(
        "members/<int:pk>/deactivate/",
        members_api.MemberDeactivateView.as_view(),
        name="api-member-deactivate",
    ),
    path(
        "members/<int:pk>/invite-link/",
        members_api.MemberInviteLinkView.as_view(),
        name="api-member-invite-link",
    ),
    path(
        "members/<int:pk>/reactivate/",
        members_api.MemberReactivateView.as_view(),
        name="api-member-reactivate",
    ),
    path("api-keys/", apikeys_api.ApiKeyListView.as_view(), name="api-keys"),
    path("api-keys/<int:pk>/", apikeys_api.ApiKeyDetailView.as_view(), name="api-key"),
]
