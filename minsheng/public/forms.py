"""The chief's mailbox form (局长信箱): what a citizen may send, and the limits on it."""

from django import forms

from minsheng.intake import normalise

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_FILES = 5
ALLOWED_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf"}
ALLOWED_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".pdf")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (the pattern Django's documentation gives)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


class MailboxForm(forms.Form):
    title = forms.CharField(label="标题", max_length=100)
    content = forms.CharField(label="内容", max_length=5000, widget=forms.Textarea(attrs={"rows": 8}))
    name = forms.CharField(label="姓名", max_length=32, required=False)
    phone = forms.CharField(label="手机号码", max_length=20, help_text="用于回访和告知办理结果")
    address = forms.CharField(label="事发地址", max_length=200, required=False)
    attachments = MultipleFileField(
        label="附件（图片或PDF，每个不超过10MB，最多5个）",
        required=False,
        widget=MultipleFileInput(attrs={"accept": ",".join(ALLOWED_SUFFIXES)}),
    )
    consent = forms.BooleanField(label="我同意民警通过上述电话与我联系、回访")
    # A honeypot: hidden from people by CSS; a bot that fills every field gives itself away.
    website = forms.CharField(
        required=False, widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"})
    )

    def __init__(self, *args, files_list=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.files_list = files_list or []

    def clean_phone(self):
        try:
            return normalise.normalise_phone(self.cleaned_data["phone"], "phone")
        except normalise.FieldError as error:
            raise forms.ValidationError(error.message) from None

    def clean(self):
        data = super().clean()
        if len(self.files_list) > MAX_FILES:
            self.add_error("attachments", f"附件最多 {MAX_FILES} 个")
        for upload in self.files_list:
            if upload.size > MAX_FILE_BYTES:
                self.add_error("attachments", f"附件“{upload.name}”超过10MB（{upload.size / 1048576:.1f}MB）")
            elif (
                not upload.name.lower().endswith(ALLOWED_SUFFIXES) or upload.content_type not in ALLOWED_TYPES
            ):
                self.add_error("attachments", f"附件“{upload.name}”不是图片或PDF")
        return data

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("website"))
