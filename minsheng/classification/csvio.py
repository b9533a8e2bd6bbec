"""Reading the operators' CSV files: UTF-8 (with or without BOM) or GB18030, named columns.

Errors are :class:`CsvError` with a message that names the file, the line and the column, in
Chinese and English, so that the command line can show it as it is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Excel on Chinese Windows saves "CSV" as GBK/GB18030; everything else sends UTF-8, sometimes with
# a BOM. UTF-8 is tried first because GB18030 would decode many UTF-8 files into nonsense.
ENCODINGS = ("utf-8-sig", "gb18030")


_ROLES = {"text": "文本", "label": "标签", "id": "编号"}


class CsvError(ValueError):
    """A CSV file that cannot be used, with a message meant for the operator."""


@dataclass
class Record:
    """One data row: ``line`` is the file line it starts on (the header is line 1)."""

    line: int
    cells: list[str]

    def get(self, column: int) -> str:
        # Short rows (a trailing empty cell dropped by some exporters) read as empty cells.
        return self.cells[column] if column < len(self.cells) else ""


@dataclass
class Table:
    path: Path
    encoding: str
    header: list[str]
    records: list[Record]

    def column(self, name: str, *, role: str = "") -> int:
        """The index of column ``name``; a :class:`CsvError` naming the file and the columns if absent.

        ``role`` says what the column is for (``text``, ``label``, ``id``), to make the message clearer.
        """
        try:
            return self.header.index(name)
        except ValueError:
            role_zh = _ROLES.get(role, "")
            raise CsvError(
                f"文件 {self.path} 中没有{role_zh}列“{name}”；现有列：{'、'.join(self.header)}\n"
                f"file {self.path} has no {role + ' ' if role else ''}column '{name}'; its columns are: "
                f"{', '.join(self.header)}"
            ) from None

    def joined_text(self, record: Record, columns: Sequence[int]) -> str:
        """The text cells of ``columns`` joined by a newline (title first, then detail …)."""
        return "\n".join(part for part in (record.get(c).strip() for c in columns) if part)


def decode(data: bytes, path: Path) -> tuple[str, str]:
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise CsvError(
        f"无法识别文件 {path} 的编码（支持 UTF-8 与 GB18030）\n"
        f"cannot decode {path}: it is neither UTF-8 nor GB18030"
    )


def read_table(path: str | Path) -> Table:
    """Read a whole CSV file with a header row."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CsvError(f"找不到文件 {path}\nfile not found: {path}") from None
    except OSError as exc:
        raise CsvError(f"无法读取文件 {path}：{exc.strerror}\ncannot read {path}: {exc.strerror}") from None
    content, encoding = decode(data, path)
    # The csv module refuses cells over 128 KiB by default; a long appeal with attachments pasted
    # in can exceed that.
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 24))
    try:
        reader = csv.reader(io.StringIO(content, newline=""))
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise CsvError(f"文件 {path} 是空的或没有表头行\nfile {path} is empty or has no header row")
        header_end = reader.line_num
        header = [h.strip() for h in header]
        records = []
        previous_end = header_end
        for cells in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if any(cell.strip() for cell in cells):
                records.append(Record(line=start, cells=cells))
    except csv.Error as exc:
        raise CsvError(
            f"文件 {path} 第 {reader.line_num} 行不是有效的 CSV：{exc}\n"
            f"{path} line {reader.line_num} is not valid CSV: {exc}"
        ) from None
    return Table(path=path, encoding=encoding, header=header, records=records)
