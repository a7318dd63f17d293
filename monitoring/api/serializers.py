"""API shapes for alerts, alert rules and webhook endpoints. The services validate the values
(the same rules for the UI); these serializers parse types and document the schema."""

from django.contrib.auth.models import AbstractBaseUser
from rest_framework import serializers

from ..alerts import alert_title, is_auto_resolved, lead_time_days
from ..models import Alert, AlertRule, LegalEvent, WebhookDelivery, WebhookEndpoint
from ..rules import RuleSetting, thresholds_as_json
from ..webhooks import EVENT_TYPES


def _user_label(user: AbstractBaseUser | None) -> str | None:
    return user.get_username() if user is not None else None


class AlertBuyerOutput(serializers.Serializer):
    id = serializers.IntegerField()
    erp_reference = serializers.CharField()
    legal_name = serializers.CharField()


class AlertOutput(serializers.ModelSerializer):
    buyer = AlertBuyerOutput()
    title = serializers.SerializerMethodField()
    evidence = serializers.SerializerMethodField()
    lead_time_days = serializers.SerializerMethodField(
        help_text="Days from the risk event to this warning."
    )
    acknowledged_by = serializers.SerializerMethodField()
    resolved_by = serializers.SerializerMethodField()
    resolved_automatically = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = [
            "id",
            "buyer",
            "rule",
            "condition_key",
            "severity",
            "status",
            "title",
            "evidence",
            "risk_event_at",
            "created_at",
            "lead_time_days",
            "acknowledged_at",
            "acknowledged_by",
            "resolved_at",
            "resolved_by",
            "resolved_automatically",
            "resolution_note",
        ]

    def get_title(self, alert: Alert) -> str:
        return alert_title(alert)

    def get_evidence(self, alert: Alert) -> dict:
        return {key: value for key, value in alert.evidence.items() if key != "i18n_title"}

    def get_lead_time_days(self, alert: Alert) -> str:
        return str(lead_time_days(alert))

    def get_acknowledged_by(self, alert: Alert) -> str | None:
        return _user_label(alert.acknowledged_by)

    def get_resolved_by(self, alert: Alert) -> str | None:
        return _user_label(alert.resolved_by)

    def get_resolved_automatically(self, alert: Alert) -> bool:
        return is_auto_resolved(alert)


class AlertResolveInput(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=300)


class ThresholdFieldOutput(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    type = serializers.ChoiceField(choices=["int", "decimal", "int_list", "choice_list"])
    min_value = serializers.CharField(allow_null=True)
    max_value = serializers.CharField(allow_null=True)
    choices = serializers.ListField(child=serializers.CharField())


class AlertRuleOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=AlertRule.Kind.choices)
    label = serializers.CharField()
    description = serializers.CharField()
    severity = serializers.CharField(help_text="How severe the alerts of this rule are.")
    enabled = serializers.BooleanField()
    thresholds = serializers.DictField(help_text="Effective thresholds (decimals as strings).")
    defaults = serializers.DictField()
    threshold_fields = ThresholdFieldOutput(many=True)
    auto_resolves = serializers.BooleanField(
        help_text="Alerts resolve themselves when the condition no longer holds."
    )
    customised = serializers.BooleanField()
    updated_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, setting: RuleSetting) -> dict:
        definition = setting.definition
        return {
            "kind": setting.kind,
            "label": definition.label,
            "description": setting.description,
            "severity": setting.severity,
            "enabled": setting.enabled,
            "thresholds": thresholds_as_json(setting.thresholds),
            "defaults": thresholds_as_json(setting.defaults),
            "threshold_fields": [
                {
                    "name": threshold.name,
                    "label": str(threshold.label),
                    "type": threshold.type,
                    "min_value": None if threshold.min_value is None else str(threshold.min_value),
                    "max_value": None if threshold.max_value is None else str(threshold.max_value),
                    "choices": list(threshold.choices),
                }
                for threshold in definition.thresholds
            ],
            "auto_resolves": definition.auto_resolves,
            "customised": setting.customised,
            "updated_at": setting.updated_at.isoformat() if setting.updated_at else None,
        }


class AlertRuleUpdateInput(serializers.Serializer):
    enabled = serializers.BooleanField(required=False)
    thresholds = serializers.DictField(
        required=False, help_text="Some or all thresholds of the rule; the others keep theirs."
    )


class WebhookEndpointInput(serializers.Serializer):
    url = serializers.URLField(max_length=500, help_text="https:// URL that receives the events.")
    description = serializers.CharField(required=False, allow_blank=True, max_length=200)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES),
        required=False,
        help_text="Events to send; empty or absent: all of them.",
    )
    is_active = serializers.BooleanField(required=False)


class WebhookEndpointOutput(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "is_active",
            "created_at",
            "previous_secret_expires_at",
        ]


class WebhookEndpointSecretOutput(WebhookEndpointOutput):
    secret = serializers.CharField(
        help_text="The signing secret. Shown only in this response: store it now."
    )

    class Meta(WebhookEndpointOutput.Meta):
        fields = [*WebhookEndpointOutput.Meta.fields, "secret"]


class WebhookDeliveryOutput(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "next_attempt_at",
            "created_at",
            "delivered_at",
            "payload",
        ]


class LegalEventInput(serializers.Serializer):
    buyer_erp_reference = serializers.CharField()
    kind = serializers.ChoiceField(choices=LegalEvent.Kind.choices)
    event_date = serializers.DateField()
    description = serializers.CharField(required=False, allow_blank=True)
    source = serializers.CharField(required=False, allow_blank=True, max_length=120)


class LegalEventOutput(serializers.ModelSerializer):
    buyer_erp_reference = serializers.CharField(source="buyer.erp_reference")

    class Meta:
        model = LegalEvent
        fields = [
            "id",
            "buyer_erp_reference",
            "kind",
            "event_date",
            "description",
            "source",
            "created_at",
        ]
