"""Staff pages of the intake: upload a batch file, see past batches, download rejected rows."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render

from minsheng.accounts.models import Role
from minsheng.appeals.choices import Channel
from minsheng.intake.batch import BATCH_CHANNELS, BatchError, import_file
from minsheng.intake.models import ImportBatch, Partner

MAX_UPLOAD = 200 * 1024 * 1024


class ImportForm(forms.Form):
    channel = forms.ChoiceField(label="渠道", choices=[(c, Channel(c).label) for c in sorted(BATCH_CHANNELS)])
    partner = forms.ModelChoiceField(
        label="对接系统（字段映射）",
        queryset=Partner.objects.filter(active=True),
        required=False,
        empty_label="（默认映射）",
    )
    file = forms.FileField(label="文件（CSV 或 XLSX，UTF-8 或 GB18030）")


def _require_importer(user):
    if not user.has_role(Role.DISPATCHER, Role.PLATFORM_ADMIN):
        raise PermissionDenied("只有派单员或平台管理员可以批量导入")


@login_required
def imports(request):
    _require_importer(request.user)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > MAX_UPLOAD:
            form.add_error("file", "文件超过200MB，请分批导入或使用命令行 minsheng import")
        else:
            try:
                batch = import_file(
                    form.cleaned_data["channel"],
                    upload.read(),
                    upload.name,
                    partner=form.cleaned_data["partner"],
                    actor=request.user,
                )
            except BatchError as error:
                form.add_error("file", str(error))
            else:
                messages.success(
                    request,
                    f"{batch.file_name}：共 {batch.rows} 行，导入 {batch.imported} 行，"
                    f"已导入过 {batch.duplicates} 行，拒收 {batch.rejected} 行",
                )
                return redirect("intake-imports")
    batches = ImportBatch.objects.select_related("imported_by")[:50]
    return render(request, "intake/imports.html", {"form": form, "batches": batches})


@login_required
def rejections(request, pk):
    _require_importer(request.user)
    batch = get_object_or_404(ImportBatch, pk=pk)
    if not batch.rejections:
        raise Http404
    return FileResponse(
        batch.rejections.open("rb"),
        as_attachment=True,
        filename=f"{batch.file_name}-拒收明细.csv",
        content_type="text/csv; charset=utf-8",
    )
