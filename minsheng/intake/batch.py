"""Batch files (CSV in UTF-8 or GB18030, XLSX) for the batch channels: good rows in, bad rows listed.

The whole file is stored raw first. Each bad row is written to a rejections file with its row number,
the column (as the file names it) and the reason, which the user downloads and fixes.
"""

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.core.files.base import ContentFile
from django.db import transaction

from minsheng.appeals.models import Appeal
from minsheng.core import clock
from minsheng.intake import service
from minsheng.intake.models import DEFAULT_MAPPING, ImportBatch, Partner, PayloadStatus
from minsheng.intake.normalise import FieldError

APPEAL_CHANNELS = {"hotline_12345", "discipline_hotline"}
SERVICE_CHANNELS = {"police_110", "service_window"}
BATCH_CHANNELS = APPEAL_CHANNELS | SERVICE_CHANNELS
CHUNK = 5000


class BatchError(Exception):
    """The file as a whole cannot be read (not a row's problem)."""


def decode(data: bytes, name: str) -> str:
    """UTF-8 (with or without BOM) or GB18030, which covers GBK and GB2312 exports."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise BatchError(f"{name}：无法识别的文件编码（应为 UTF-8 或 GB18030）")


def _cell(value):
    if isinstance(value, dt.datetime | dt.date):
        return value
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 工单编号 and phone numbers as floats
    return str(value)


def read_rows(data: bytes, name: str) -> tuple[list[str], Iterator[tuple[int, dict]]]:
    """Header and (row number as the user sees it, record) pairs of a CSV or XLSX file."""
    if name.lower().endswith((".xlsx", ".xlsm")):
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a broken file
            raise BatchError(f"{name}：不是有效的 XLSX 文件（{exc.__class__.__name__}）") from None
        rows = workbook.active.iter_rows(values_only=True)
        header = [str(c).strip() if c is not None else "" for c in next(rows, [])]

        def xlsx_records():
            for number, row in enumerate(rows, start=2):
                if row is None or all(c is None or c == "" for c in row):
                    continue
                yield (
                    number,
                    {header[i]: _cell(v) for i, v in enumerate(row) if i < len(header) and header[i]},
                )

        return header, xlsx_records()
    if not name.lower().endswith((".csv", ".txt")):
        raise BatchError(f"{name}：只支持 CSV 或 XLSX 文件")
    text = decode(data, name)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]

    def csv_records():
        for number, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            yield number, dict(zip(header, row, strict=False))

    return header, csv_records()


@dataclass
class BatchResult:
    batch: ImportBatch
    rejections: list[tuple[int, str, str, dict]] = field(default_factory=list)


def import_file(
    channel: str,
    data: bytes,
    name: str,
    *,
    partner: Partner | None = None,
    actor=None,
    progress: Callable[[int], None] | None = None,
) -> ImportBatch:
    """Import one file for ``channel``; returns the batch with its counts and rejections file."""
    if channel not in BATCH_CHANNELS:
        raise BatchError(f"渠道“{channel}”不支持批量导入（可用：{'、'.join(sorted(BATCH_CHANNELS))}）")
    source = partner.code if partner else f"batch:{channel}"
    payload = service.store_raw(
        channel=channel,
        transport="batch",
        body=data,
        source=source,
        content_type="text/csv" if name.lower().endswith(".csv") else "application/vnd.ms-excel",
        headers={"file_name": name[:255]},
    )
    batch = ImportBatch.objects.create(
        channel=channel, file_name=name[:255], payload=payload, imported_by=actor
    )
    header, records = read_rows(data, name)
    rejections: list[tuple[int, str, str, dict]] = []
    if channel in APPEAL_CHANNELS:
        mapping = partner.field_mapping() if partner else DEFAULT_MAPPING
        missing = [mapping["content"]] if mapping["content"] not in header else []
        if missing:
            raise BatchError(
                f"{name}：缺少必需的列“{missing[0]}”（表头：{'、'.join(h for h in header if h)}）"
            )
        _import_appeals(batch, records, mapping, source, channel, actor, rejections, progress)
    else:
        from minsheng.servicerecords import intake as records_intake

        mapping = {**records_intake.DEFAULT_MAPPING, **((partner.mapping or {}) if partner else {})}
        for required in ("external_ref", "started_at"):
            if mapping[required] not in header:
                raise BatchError(f"{name}：缺少必需的列“{mapping[required]}”")
        _import_service_records(batch, records, mapping, source, channel, rejections, progress)
    batch.rejected = len(rejections)
    if rejections:
        batch.rejections.save(
            f"{Path(name).stem}-rejections-{batch.pk}.csv",
            ContentFile(_rejections_csv(header, rejections)),
            save=False,
        )
    batch.finished_at = clock.now()
    batch.save()
    payload.status, payload.processed_at = PayloadStatus.PROCESSED, clock.now()
    payload.save(update_fields=["status", "processed_at"])
    return batch


def _column(mapping: dict[str, str], error: FieldError) -> str:
    return mapping.get(error.field, error.field)


def _import_appeals(batch, records, mapping, source, channel, actor, rejections, progress):
    for number, record in records:
        batch.rows += 1
        try:
            data = service.clean(service.fields_from_mapping(record, mapping, channel))
        except FieldError as error:
            rejections.append((number, _column(mapping, error), error.message, record))
            continue
        if (
            data.external_ref
            and Appeal.objects.filter(external_source=source, external_ref=data.external_ref).exists()
        ):
            batch.duplicates += 1
            continue
        with transaction.atomic():
            service.register(data, source=source, actor=actor)
        batch.imported += 1
        if progress and batch.rows % 1000 == 0:
            progress(batch.rows)


def _import_service_records(batch, records, mapping, source, channel, rejections, progress):
    from minsheng.servicerecords import intake as records_intake

    units = records_intake.UnitIndex()
    now = clock.now()
    default_kind = "police_110" if channel == "police_110" else ""
    pending = []
    # Stores each chunk while the next is read (on PostgreSQL outside a transaction): see ChunkWriter.
    writer = records_intake.ChunkWriter()
    try:
        for number, record in records:
            batch.rows += 1
            try:
                pending.append(
                    records_intake.build_values(
                        record,
                        mapping=mapping,
                        source=source,
                        units=units,
                        now=now,
                        default_kind=default_kind,
                    )
                )
            except FieldError as error:
                rejections.append((number, _column(mapping, error), error.message, record))
            if len(pending) >= CHUNK:
                _flush(batch, writer, pending, progress)
        _flush(batch, writer, pending, progress)
    except BaseException:
        writer.close(raise_failure=False)
        raise
    inserted, duplicates = writer.close()
    batch.imported += inserted
    batch.duplicates += duplicates


def _flush(batch, writer, pending, progress):
    writer.write(pending)
    pending.clear()
    if progress:
        progress(batch.rows)


def _rejections_csv(header: list[str], rejections) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["行号", "列", "原因", *header])
    for number, column, reason, record in rejections:
        writer.writerow([number, column, reason, *[record.get(h, "") for h in header]])
    # UTF-8 with BOM: Excel on the users' desktops then shows the Chinese correctly.
    return out.getvalue().encode("utf-8-sig")
