"""API shapes of cases. Phones and ID numbers are always masked here; full values are a separate,
audited look-up in the workbench."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from minsheng.appeals.choices import Channel
from minsheng.appeals.models import Appeal
from minsheng.cases.choices import FollowupAnswer
from minsheng.cases.models import Case, CaseEvent
from minsheng.categories.models import Category
from minsheng.dedup.models import DuplicateSuggestion
from minsheng.divisions.models import Division, DivisionLevel
from minsheng.units.models import Unit


class AppealSerializer(serializers.ModelSerializer):
    appellant_phone = serializers.CharField(source="masked_phone", read_only=True)
    appellant_name = serializers.CharField(source="masked_name", read_only=True)

    class Meta:
        model = Appeal
        fields = [
            "id",
            "channel",
            "received_at",
            "appellant_name",
            "appellant_phone",
            "title",
            "content",
            "address",
            "district",
            "township",
            "community",
            "external_source",
            "external_ref",
            "link_kind",
            "dedup",
        ]


class EventSerializer(serializers.ModelSerializer):
    actor = serializers.StringRelatedField()
    actor_unit = serializers.StringRelatedField()

    class Meta:
        model = CaseEvent
        fields = ["at", "action", "actor", "actor_unit", "from_state", "to_state", "note", "data"]


class CaseSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="code", read_only=True)
    responsible_unit = serializers.SlugRelatedField(slug_field="name", read_only=True)
    handler = serializers.StringRelatedField()
    available_actions = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields = [
            "number",
            "title",
            "category",
            "channel",
            "state",
            "responsible_unit",
            "handler",
            "direct",
            "district_code",
            "township_code",
            "community_code",
            "registered_at",
            "dispatched_at",
            "accepted_at",
            "completed_at",
            "closed_at",
            "accept_due_at",
            "complete_due_at",
            "reply",
            "result",
            "followup_level",
            "followup_answer",
            "close_reason",
            "available_actions",
        ]

    def get_available_actions(self, case) -> list[str]:
        from minsheng.cases.rules import available_actions

        request = self.context.get("request")
        return available_actions(request.user, case) if request else []


class DuplicateSuggestionSerializer(serializers.ModelSerializer):
    candidate_case = serializers.SlugRelatedField(slug_field="number", read_only=True)
    decided_by = serializers.StringRelatedField()

    class Meta:
        model = DuplicateSuggestion
        fields = ["id", "candidate_case", "score", "reasons", "state", "decided_by", "decided_at", "note"]


class CaseDetailSerializer(CaseSerializer):
    appeals = AppealSerializer(many=True, read_only=True)
    events = EventSerializer(many=True, read_only=True)
    repeat_of = serializers.SlugRelatedField(slug_field="number", read_only=True)
    duplicate_suggestions = DuplicateSuggestionSerializer(many=True, read_only=True)

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "repeat_of", "duplicate_suggestions", "appeals", "events"]


class RegisterSerializer(serializers.Serializer):
    """An appeal typed in by staff or sent by a system; it opens a case."""

    channel = serializers.ChoiceField(choices=Channel.choices)
    content = serializers.CharField(max_length=10000)
    received_at = serializers.DateTimeField(required=False)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    appellant_name = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    appellant_phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    appellant_id_number = serializers.CharField(max_length=18, required=False, allow_blank=True, default="")
    address = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    category = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Category.objects.filter(active=True),
        required=False,
        allow_null=True,
        default=None,
    )
    township = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Division.objects.filter(level=DivisionLevel.TOWNSHIP),
        required=False,
        allow_null=True,
        default=None,
    )
    external_ref = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")

    def validate_content(self, value):
        if not value.strip():
            raise serializers.ValidationError("诉求内容不能为空")
        return value

    def validate_appellant_id_number(self, value):
        from minsheng.core.idnumber import is_valid_id_number

        if value and not is_valid_id_number(value):
            raise serializers.ValidationError("身份证号码校验不通过")
        return value.upper()


@extend_schema_field(OpenApiTypes.STR)
class UnitField(serializers.Field):
    """A unit by id, or by short name when that name is unique (two branches each have a 黄河派出所)."""

    default_error_messages = {
        "missing": "单位“{value}”不存在或已停用",
        "ambiguous": "单位名称“{value}”不唯一，请使用单位编号（id）",
    }

    def to_internal_value(self, value):
        units = Unit.objects.filter(active=True)
        text = str(value).strip()
        matches = (
            list(units.filter(pk=int(text))[:1]) if text.isdigit() else list(units.filter(name=text)[:2])
        )
        if not matches:
            self.fail("missing", value=text)
        if len(matches) > 1:
            self.fail("ambiguous", value=text)
        return matches[0]

    def to_representation(self, value):
        return value.pk


class DispatchSerializer(serializers.Serializer):
    unit = UnitField(help_text="单位编号，或唯一的单位简称（如“泺口派出所”）")
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField()
    suggested_unit = UnitField(
        required=False,
        allow_null=True,
        default=None,
        help_text="应由哪个单位办理（如知道）：单位编号或唯一简称；平台据此学习派单",
    )


class CategoriseSerializer(serializers.Serializer):
    category = serializers.SlugRelatedField(
        slug_field="code", queryset=Category.objects.filter(active=True), help_text="类别代码"
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")


class DuplicateDecisionSerializer(serializers.Serializer):
    suggestion = serializers.IntegerField(help_text="疑似重复的编号（工单详情 duplicate_suggestions[].id）")
    decision = serializers.ChoiceField(choices=[("link", "关联（并案）"), ("dismiss", "不是同一事项")])
    note = serializers.CharField(required=False, allow_blank=True, default="")


class SplitSerializer(serializers.Serializer):
    appeal = serializers.IntegerField(help_text="要拆分的关联件（诉求编号）")
    reason = serializers.CharField(help_text="拆分理由")


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField()


class AssignSerializer(serializers.Serializer):
    handler = serializers.CharField(help_text="承办人账号")


class ExtensionRequestSerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=30)
    reason = serializers.CharField()


class ExtensionDecisionSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    note = serializers.CharField(required=False, allow_blank=True, default="")


class CompleteSerializer(serializers.Serializer):
    result = serializers.CharField()
    reply = serializers.CharField()


class FollowupSerializer(serializers.Serializer):
    answer = serializers.ChoiceField(choices=FollowupAnswer.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class CloseSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class InvestigationSerializer(serializers.Serializer):
    findings = serializers.CharField()
    conclusion = serializers.CharField()
    internal_fault = serializers.BooleanField(default=False)
    fault_detail = serializers.CharField(required=False, allow_blank=True, default="")


class UnitSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = Unit
        fields = [
            "id",
            "name",
            "full_name",
            "type",
            "function",
            "level",
            "parent",
            "district_code",
            "derived",
        ]


class CategorySerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Category
        fields = ["code", "name", "parent", "kind", "handler_function", "deadline_days", "followup_required"]
