"""Forms of the workbench: filters, manual entry and one form per case action."""

import datetime as dt

from django import forms
from django.utils import timezone

from minsheng.appeals.choices import MANUAL_CHANNELS, Channel
from minsheng.cases.choices import CaseState, FollowupAnswer
from minsheng.categories.models import Category
from minsheng.divisions.models import Division, DivisionLevel
from minsheng.units.models import Unit


def district_choices():
    return [("", "全部区县")] + [
        (d.code, d.name) for d in Division.objects.filter(level=DivisionLevel.DISTRICT).order_by("code")
    ]


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return str(obj)


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name}（{obj.parent.name}）" if obj.parent_id else obj.name


def category_queryset():
    return Category.objects.filter(active=True).select_related("parent").order_by("sort_order", "code")


def unit_queryset():
    return Unit.objects.filter(active=True).select_related("parent").order_by("path")


class FilterForm(forms.Form):
    q = forms.CharField(
        label="搜索",
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "内容、电话或工单号", "type": "search"}),
    )
    channel = forms.ChoiceField(label="渠道", required=False, choices=[("", "全部渠道"), *Channel.choices])
    category = CategoryChoiceField(
        label="类别", required=False, queryset=Category.objects.none(), empty_label="全部类别"
    )
    district = forms.ChoiceField(label="区县", required=False)
    state = forms.ChoiceField(label="状态", required=False, choices=[("", "全部状态"), *CaseState.choices])
    date_from = forms.DateField(label="自", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="至", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = category_queryset()
        self.fields["district"].choices = district_choices()

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "结束日期不能早于开始日期")
        return data


class ManualEntryForm(forms.Form):
    """Phone calls, letters and visits typed in by a dispatcher (来电、来信、来访)."""

    channel = forms.ChoiceField(label="渠道", choices=[(c.value, c.label) for c in MANUAL_CHANNELS])
    received_at = forms.DateTimeField(
        label="收到时间",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
    )
    appellant_name = forms.CharField(label="诉求人", max_length=64, required=False)
    appellant_phone = forms.CharField(label="联系电话", max_length=32, required=False)
    appellant_id_number = forms.CharField(label="身份证号", max_length=18, required=False)
    title = forms.CharField(label="标题", max_length=200, required=False)
    content = forms.CharField(label="诉求内容", widget=forms.Textarea(attrs={"rows": 5}))
    address = forms.CharField(label="诉求地址", max_length=300, required=False)
    township = forms.ModelChoiceField(
        label="街道/镇", required=False, queryset=Division.objects.none(), empty_label="（未知）"
    )
    category = CategoryChoiceField(
        label="类别", required=False, queryset=Category.objects.none(), empty_label="（待定）"
    )
    dispatch_to = UnitChoiceField(
        label="立即派单至",
        required=False,
        queryset=Unit.objects.none(),
        empty_label="（暂不派单，进入待派单）",
    )
    instant_reply = forms.CharField(
        label="即时答复（咨询类当场答复即办结）", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    attachment = forms.FileField(label="附件（来信扫描件等）", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["township"].queryset = (
            Division.objects.filter(level=DivisionLevel.TOWNSHIP).select_related("parent").order_by("code")
        )
        self.fields["township"].label_from_instance = lambda d: (
            f"{d.parent.name} {d.name}" if d.parent_id else d.name
        )
        self.fields["category"].queryset = category_queryset()
        self.fields["dispatch_to"].queryset = unit_queryset()
        if not self.is_bound:
            self.initial.setdefault("received_at", timezone.localtime().replace(second=0, microsecond=0))

    def clean_appellant_phone(self):
        phone = self.cleaned_data["appellant_phone"].strip().replace(" ", "")
        if phone and not phone.replace("-", "").isdigit():
            raise forms.ValidationError("电话号码只能包含数字和“-”")
        return phone

    def clean_appellant_id_number(self):
        from minsheng.core.idnumber import is_valid_id_number

        number = self.cleaned_data["appellant_id_number"].strip().upper()
        if number and not is_valid_id_number(number):
            raise forms.ValidationError("身份证号码校验不通过，请核对")
        return number

    def clean_received_at(self):
        value = self.cleaned_data["received_at"]
        if value > timezone.now() + dt.timedelta(minutes=5):
            raise forms.ValidationError("收到时间不能晚于当前时间")
        return value

    def clean(self):
        data = super().clean()
        if data.get("dispatch_to") and data.get("instant_reply"):
            self.add_error("instant_reply", "即时办结的诉求无需派单")
        return data


class DispatchForm(forms.Form):
    unit = UnitChoiceField(label="派往单位", queryset=Unit.objects.none())
    note = forms.CharField(label="派单说明", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = unit_queryset()


class ReasonForm(forms.Form):
    reason = forms.CharField(label="退单理由", widget=forms.Textarea(attrs={"rows": 2}))
    suggested_unit = UnitChoiceField(
        label="应由哪个单位办理（如知道）",
        required=False,
        queryset=Unit.objects.none(),
        empty_label="（不清楚）",
        help_text="填写后平台会记住，下次同类诉求优先建议该单位。",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["suggested_unit"].queryset = unit_queryset()


class NoteForm(forms.Form):
    note = forms.CharField(label="办理进展", widget=forms.Textarea(attrs={"rows": 2}))


class ExtensionRequestForm(forms.Form):
    days = forms.IntegerField(label="延长工作日", min_value=1, max_value=30, initial=3)
    reason = forms.CharField(label="延期理由", widget=forms.Textarea(attrs={"rows": 2}))


class ExtensionDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label="审批", choices=[("approve", "批准"), ("refuse", "驳回")], widget=forms.RadioSelect
    )
    note = forms.CharField(label="审批意见", required=False, widget=forms.Textarea(attrs={"rows": 2}))


class CompleteForm(forms.Form):
    result = forms.CharField(label="办理结果", widget=forms.Textarea(attrs={"rows": 3}))
    reply = forms.CharField(label="答复诉求人（一口回复）", widget=forms.Textarea(attrs={"rows": 3}))


class FollowupForm(forms.Form):
    answer = forms.ChoiceField(label="回访结果", choices=FollowupAnswer.choices, widget=forms.RadioSelect)
    note = forms.CharField(label="回访记录", required=False, widget=forms.Textarea(attrs={"rows": 2}))


class CloseForm(forms.Form):
    note = forms.CharField(label="结案说明", required=False, widget=forms.Textarea(attrs={"rows": 2}))


class AssignForm(forms.Form):
    handler = forms.ModelChoiceField(label="承办人", queryset=None)

    def __init__(self, *args, case=None, **kwargs):
        super().__init__(*args, **kwargs)
        from minsheng.accounts.models import User

        queryset = User.objects.none()
        if case is not None and case.responsible_unit_id:
            queryset = (
                User.objects.filter(memberships__unit=case.responsible_unit).distinct().order_by("real_name")
            )
        self.fields["handler"].queryset = queryset


class CategoriseForm(forms.Form):
    """A person sets or corrects the category (更正类别): a label for the classifier's next retrain."""

    category = CategoryChoiceField(label="类别", queryset=Category.objects.none())
    note = forms.CharField(label="说明", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Leaves only: an appeal is filed under a specific category.
        self.fields["category"].queryset = category_queryset().exclude(children__active=True)


class InvestigationForm(forms.Form):
    findings = forms.CharField(label="核查情况", widget=forms.Textarea(attrs={"rows": 3}))
    internal_fault = forms.BooleanField(label="存在内部过错", required=False)
    fault_detail = forms.CharField(label="过错情况", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    conclusion = forms.CharField(label="核查结论", widget=forms.Textarea(attrs={"rows": 2}))


ACTION_FORMS = {
    "dispatch": DispatchForm,
    "accept": None,
    "return": ReasonForm,
    "assign": AssignForm,
    "note": NoteForm,
    "request_extension": ExtensionRequestForm,
    "decide_extension": ExtensionDecisionForm,
    "complete": CompleteForm,
    "followup": FollowupForm,
    "close": CloseForm,
    "investigate": InvestigationForm,
    "categorise": CategoriseForm,
}
