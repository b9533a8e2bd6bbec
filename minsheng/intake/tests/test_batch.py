"""Batch files: CSV in UTF-8 and GB18030, XLSX, bad rows listed with row, column and reason."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from minsheng.appeals.models import Appeal
from minsheng.intake.models import ImportBatch, RawPayload
from minsheng.servicerecords.models import ServiceRecord

pytestmark = pytest.mark.django_db

HEADER = ["工单编号", "来电时间", "来电人", "来电号码", "诉求内容", "诉求地址", "诉求类型"]
ROWS = [
    [
        "JN001",
        "2026-11-20 09:00:00",
        "李先生",
        "13905310001",
        "泺口街道夜市噪音扰民",
        "天桥区泺口街道",
        "噪音扰民",
    ],
    ["JN002", "2026/11/20 10:30", "赵女士", "0531-86081234", "咨询居住证办理材料", "", "居住证"],
    ["JN003", "二十号上午", "王先生", "13905310003", "小区门口违停严重", "", "违停"],  # bad time
    ["JN004", "2026-11-20 11:00:00", "", "12", "咨询护照", "", ""],  # bad phone
    ["JN005", "2026-11-20 11:30:00", "", "", "", "", ""],  # no content
]


def csv_bytes(rows, encoding="utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def run(channel, path) -> str:
    out = io.StringIO()
    call_command("import", channel, str(path), stdout=out)
    return out.getvalue()


def rejections_of(batch: ImportBatch) -> list[dict]:
    with batch.rejections.open("rb") as handle:
        return list(csv.DictReader(io.StringIO(handle.read().decode("utf-8-sig"))))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_imports_good_rows_and_lists_the_bad_ones(tmp_path, settings, encoding):
    settings.MEDIA_ROOT = tmp_path / "media"
    path = tmp_path / "work-orders.csv"
    path.write_bytes(csv_bytes(ROWS, encoding))
    output = run("hotline_12345", path)
    assert "共 5 行，导入 2 行，已导入过 0 行，拒收 3 行" in output
    assert set(Appeal.objects.values_list("external_ref", flat=True)) == {"JN001", "JN002"}
    assert Appeal.objects.get(external_ref="JN002").appellant_phone == "0531-86081234"
    batch = ImportBatch.objects.get()
    rejected = {(r["行号"], r["列"]) for r in rejections_of(batch)}
    assert rejected == {("4", "来电时间"), ("5", "来电号码"), ("6", "诉求内容")}
    assert "拒收明细" in output and str(batch.rejections.path) in output
    assert RawPayload.objects.get(transport="batch").body_sha256  # the file itself is kept


def test_importing_the_same_file_twice_recognises_the_rows(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    path = tmp_path / "orders.csv"
    path.write_bytes(csv_bytes(ROWS[:2]))
    run("hotline_12345", path)
    assert "导入 0 行，已导入过 2 行" in run("hotline_12345", path)
    assert Appeal.objects.count() == 2


def test_xlsx_with_numbers_stored_as_floats_and_a_bad_row(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    sheet.append([20261120001, "2026-11-20 09:00:00", "李先生", 13905310001.0, "咨询身份证补办", "", ""])
    sheet.append([20261120002, "2026-11-20 09:10:00", "", "abc", "咨询户口迁移", "", ""])
    path = tmp_path / "orders.xlsx"
    workbook.save(path)
    assert "导入 1 行，已导入过 0 行，拒收 1 行" in run("hotline_12345", path)
    appeal = Appeal.objects.get()
    assert (appeal.external_ref, appeal.appellant_phone) == ("20261120001", "13905310001")
    assert rejections_of(ImportBatch.objects.get())[0]["列"] == "来电号码"


def test_service_window_records(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    path = tmp_path / "window.csv"
    path.write_text(
        "记录编号,类型,业务,单位,民警,警号,群众电话,开始时间,结束时间,结果\n"
        "W1,出入境,护照首次申领,出入境管理支队,张警官,123456,13905310001,2026-11-20 09:00,2026-11-20 09:20,办结\n"
        "W2,户政,身份证换领,泺口派出所,李警官,105001,13905310002,2026-11-20 10:00,2026-11-20 09:00,办结\n"
        "W3,窗口,其他,泺口派出所,,,,2026-11-20 10:00,,\n",
        encoding="gb18030",
    )
    output = run("service_window", path)
    assert "共 3 行，导入 1 行，已导入过 0 行，拒收 2 行" in output
    record = ServiceRecord.objects.get()
    assert record.unit.name == "出入境管理支队" and record.kind == "exit_entry"
    reasons = {r["列"]: r["原因"] for r in rejections_of(ImportBatch.objects.get())}
    assert reasons == {"结束时间": "结束时间早于开始时间", "类型": "未知的服务类型“窗口”"}


def test_whole_file_problems_are_clear_errors(tmp_path):
    wrong = tmp_path / "orders.csv"
    wrong.write_text("编号,内容\n1,x\n", encoding="utf-8")
    with pytest.raises(CommandError, match="缺少必需的列“诉求内容”"):
        run("hotline_12345", wrong)
    with pytest.raises(CommandError, match="找不到文件"):
        run("hotline_12345", tmp_path / "missing.csv")
    pdf = tmp_path / "orders.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    with pytest.raises(CommandError, match="只支持 CSV 或 XLSX"):
        run("hotline_12345", pdf)


def test_a_large_file_is_stored_raw_byte_for_byte(tmp_path):
    """On PostgreSQL the body goes as one binary parameter (not a hex literal in the SQL); what is
    stored is the file as it came, with its hash."""
    import hashlib

    from minsheng.servicerecords.intake import DEFAULT_MAPPING

    large = 1 << 20

    header = ",".join(DEFAULT_MAPPING.values())
    line = "CK{:09d},户政,身份证换领,泺口派出所,李警官,105001,13905310001,2026-11-20 09:00:00,,办结\n"
    rows = large // len(line.format(0).encode("gb18030")) + 100
    data = (header + "\n" + "".join(line.format(n) for n in range(rows))).encode("gb18030")
    assert len(data) > large
    path = tmp_path / "window.csv"
    path.write_bytes(data)
    call_command("import", "service_window", str(path), stdout=io.StringIO())
    payload = RawPayload.objects.get(transport="batch")
    assert bytes(payload.body) == data
    assert payload.body_sha256 == hashlib.sha256(data).hexdigest()
    assert ServiceRecord.objects.count() == rows
