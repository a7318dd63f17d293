from django.contrib.auth import views as auth_views
from django.urls import include, path

from creditguard.web import two_factor, views
from creditguard.web.forms import EmailAuthenticationForm, InvitationPasswordResetForm

handler404 = "creditguard.web.views.error_404"
handler500 = "creditguard.web.views.error_500"

urlpatterns = [
    path("", include("portfolio.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("creditguard.api.urls")),
    path(
        "login/",
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True, authentication_form=EmailAuthenticationForm
        ),
        name="login",
    ),
    path("login/code/", two_factor.two_factor_verify, name="two-factor-verify"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(form_class=InvitationPasswordResetForm),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("tenant/switch/", views.tenant_switch, name="tenant-switch"),
    path("settings/users/", views.members, name="members"),
    path("settings/users/<int:membership_id>/", views.member_edit, name="member-edit"),
    path(
        "settings/users/<int:membership_id>/unlock/",
        views.member_unlock_view,
        name="member-unlock",
    ),
    path("settings/two-factor/", two_factor.two_factor, name="two-factor"),
    path("settings/two-factor/tenant/", two_factor.tenant_two_factor, name="tenant-two-factor"),
    path("settings/api-keys/", views.api_keys, name="api-keys"),
    path(
        "settings/api-keys/<int:api_key_id>/revoke/",
        views.api_key_revoke_view,
        name="api-key-revoke",
    ),
    path("settings/audit/", views.audit_log, name="audit-log"),
    path("settings/audit/export.csv", views.audit_export, name="audit-export"),
    path("buyers/", include("buyers.urls")),
    path("imports/", include("buyers.import_urls")),
    path("limits/", include("policies.urls")),
    path("policies/", include("policies.insurance_web.urls")),
    path("monitoring/", include("monitoring.urls")),
    path("claims/", include("claims.urls")),
]
