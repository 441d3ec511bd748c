from django.urls import path, re_path

from madoguchi.console import auth_views, faq_views, inbox_views, scenario_views, views

app_name = "console"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", auth_views.login_view, name="login"),
    path("login/totp/", auth_views.login_totp_view, name="login_totp"),
    path("login/totp/setup/", auth_views.totp_setup_view, name="totp_setup"),
    path("logout/", auth_views.logout_view, name="logout"),
    path("residents/", views.residents, name="residents"),
    path("residents/<int:resident_id>/", views.resident_detail, name="resident"),
    re_path(
        r"^residents/(?P<resident_id>[0-9]+)/export\.(?P<fmt>json|csv)$",
        views.resident_export,
        name="resident_export",
    ),
    path("residents/<int:resident_id>/erasure/", views.resident_erasure, name="resident_erasure"),
    path("erasure/<int:request_id>/approve/", views.resident_erasure_approval, name="erasure_approve"),
    path("audit/", views.audit, name="audit"),
    path("audit/export.csv", views.audit_export, name="audit_export"),
    path("faq/", faq_views.faq_list, name="faq"),
    path("faq/new/", faq_views.faq_edit, name="faq_new"),
    path("faq/<int:entry_id>/", faq_views.faq_edit, name="faq_edit"),
    path("faq/import/", faq_views.faq_import_view, name="faq_import"),
    path("faq/export.csv", faq_views.faq_export, name="faq_export"),
    path("faq/questions/", faq_views.faq_questions, name="faq_questions"),
    path("faq/questions/variant/", faq_views.faq_add_variant, name="faq_add_variant"),
    path("inbox/", inbox_views.inbox, name="inbox"),
    path("inbox/<int:conversation_id>/", inbox_views.inquiry, name="inbox_conversation"),
    path("inbox/<int:conversation_id>/messages.json", inbox_views.inquiry_messages, name="inbox_messages"),
    re_path(
        r"^inbox/(?P<conversation_id>[0-9]+)/(?P<action>reply|note|assign|close|reopen|resend)/$",
        inbox_views.inquiry_action,
        name="inbox_action",
    ),
    path(
        "inbox/<int:conversation_id>/attachments/<int:message_id>",
        inbox_views.inquiry_attachment,
        name="inbox_attachment",
    ),
    path("inbox/start/<int:resident_id>/", inbox_views.inquiry_start, name="inbox_start"),
    path("inbox/figures/", inbox_views.figures, name="inbox_figures"),
    path("inbox/canned/", inbox_views.canned_replies, name="canned"),
    path("counseling/", inbox_views.counseling, name="counseling"),
    path(
        "counseling/<int:conversation_id>/",
        inbox_views.counseling_conversation,
        name="counseling_conversation",
    ),
    path(
        "counseling/<int:conversation_id>/messages.json",
        inbox_views.counseling_messages,
        name="counseling_messages",
    ),
    re_path(
        r"^counseling/(?P<conversation_id>[0-9]+)/(?P<action>reply|note|assign|close|reopen|resend)/$",
        inbox_views.counseling_action,
        name="counseling_action",
    ),
    path(
        "counseling/<int:conversation_id>/attachments/<int:message_id>",
        inbox_views.counseling_attachment,
        name="counseling_attachment",
    ),
    path("scenarios/", scenario_views.scenarios, name="scenarios"),
    path("scenarios/new/", scenario_views.scenario_new, name="scenario_new"),
    path("scenarios/import/", scenario_views.scenario_import_view, name="scenario_import"),
    path("scenarios/<int:scenario_id>/", scenario_views.scenario_detail, name="scenario"),
    path("scenarios/<int:scenario_id>/edit/", scenario_views.scenario_edit, name="scenario_edit"),
    path(
        "scenarios/<int:scenario_id>/publish/", scenario_views.scenario_publish_view, name="scenario_publish"
    ),
    path(
        "scenarios/<int:scenario_id>/versions/<int:number>/rollback/",
        scenario_views.scenario_rollback_view,
        name="scenario_rollback",
    ),
    path("scenarios/<int:scenario_id>/toggle/", scenario_views.scenario_toggle, name="scenario_toggle"),
    path(
        "scenarios/<int:scenario_id>/export.yaml", scenario_views.scenario_export_view, name="scenario_export"
    ),
    path(
        "scenarios/<int:scenario_id>/preview/", scenario_views.scenario_preview_view, name="scenario_preview"
    ),
    path("keywords/", views.keywords, name="keywords"),
    path("keywords/new/", views.keyword_edit, name="keyword_new"),
    path("keywords/<int:keyword_id>/", views.keyword_edit, name="keyword_edit"),
    path("events/", views.events, name="events"),
    path("events/replay/", views.events_replay_view, name="events_replay"),
    path("staff/", views.staff, name="staff"),
    re_path(
        r"^staff/(?P<profile_id>[0-9]+)/(?P<action>unlock|reset-totp)/$",
        views.staff_action,
        name="staff_action",
    ),
]
