"""``minsheng classify train|predict`` end to end on small synthetic CSV files."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command

from minsheng.classification.tests.synthetic import synthetic_rows, write_csv


def run(*args) -> str:
    out = io.StringIO()
    call_command("classify", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def train(tmp_path, csv_path, *extra) -> tuple[str, str]:
    model = str(tmp_path / "appeals.model")
    args = ["train", "--input", csv_path, "--text-column", "标题", "--text-column", "内容"]
    output = run(*args, "--label-column", "类别", "--model", model, *extra)
    return model, output


def read_output(path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def model_path(tmp_path):
    return train(tmp_path, write_csv(tmp_path / "train.csv", synthetic_rows()))[0]


def test_train_writes_a_model_and_summarises(tmp_path):
    model, output = train(tmp_path, write_csv(tmp_path / "train.csv", synthetic_rows()))
    assert (tmp_path / "appeals.model").stat().st_size > 0
    assert "60" in output  # rows read
    assert "noise 20" in output and "passport 20" in output
    assert "跳过 / skipped:       0" in output
    assert model in output


def test_predict_writes_every_row_in_input_order(tmp_path, model_path):
    probes = [
        ("z-9", "阳光花园楼下广场舞音响太吵", "每天晚上噪音扰民"),
        ("a-1", "车辆乱停", "小区门口违停占用消防通道"),
        ("m-5", "咨询护照", "出国旅游需要办理护照，请问需要什么材料"),
        ("b-2", "", ""),
    ]
    rows = [{"编号": i, "标题": t, "内容": d} for i, t, d in probes]
    out = tmp_path / "labels.csv"
    run(
        "predict", "--model", model_path, "--input", write_csv(tmp_path / "new.csv", rows),
        "--id-column", "编号", "--text-column", "标题", "--text-column", "内容", "--output", str(out),
    )  # fmt: skip
    with open(out, encoding="utf-8") as handle:
        assert handle.readline().strip() == "id,label,confidence"
    result = read_output(out)
    assert [r["id"] for r in result] == ["z-9", "a-1", "m-5", "b-2"]
    assert [r["label"] for r in result[:3]] == ["noise", "illegal_parking", "passport"]
    for r in result:
        assert 0.0 <= float(r["confidence"]) <= 1.0
        assert len(r["confidence"].split(".")[1]) == 4
    assert float(result[0]["confidence"]) > 0.5


def test_gb18030_input_is_accepted(tmp_path):
    rows = synthetic_rows()
    path = write_csv(tmp_path / "gbk.csv", rows, encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        open(path, encoding="utf-8").read()
    model, output = train(tmp_path, path)
    assert "gb18030" in output
    out = tmp_path / "labels.csv"
    probe = [{"编号": "1", "标题": "噪音扰民", "内容": "楼下广场舞太吵"}]
    run(
        "predict", "--model", model, "--input", write_csv(tmp_path / "p.csv", probe, encoding="gb18030"),
        "--id-column", "编号", "--text-column", "标题", "--text-column", "内容", "--output", str(out),
    )  # fmt: skip
    assert read_output(out)[0]["label"] == "noise"


def test_utf8_with_bom_is_accepted(tmp_path):
    _, output = train(tmp_path, write_csv(tmp_path / "bom.csv", synthetic_rows(), encoding="utf-8-sig"))
    assert "utf-8-sig" in output


def test_missing_text_column_names_the_column_and_file(tmp_path):
    path = write_csv(tmp_path / "train.csv", synthetic_rows())
    with pytest.raises(CommandError) as err:
        run("train", "--input", path, "--text-column", "正文", "--label-column", "类别", "--model", "m")
    message = str(err.value)
    assert "正文" in message and "train.csv" in message and "标题" in message  # lists what exists


def test_missing_id_column_in_predict(tmp_path, model_path):
    path = write_csv(tmp_path / "new.csv", synthetic_rows(2))
    with pytest.raises(CommandError, match="序号"):
        run(
            "predict", "--model", model_path, "--input", path, "--id-column", "序号",
            "--text-column", "内容", "--output", str(tmp_path / "o.csv"),
        )  # fmt: skip


def test_unreadable_input_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match=r"nope\.csv"):
        run("train", "--input", str(tmp_path / "nope.csv"), "--text-column", "a", "--label-column", "b",
            "--model", "m")  # fmt: skip
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81\x30" * 50)
    with pytest.raises(CommandError, match="UTF-8"):
        run("train", "--input", str(binary), "--text-column", "a", "--label-column", "b", "--model", "m")


def test_empty_label_names_the_line_and_column(tmp_path):
    rows = synthetic_rows()
    rows[4]["类别"] = ""  # data row 5 is file line 6 (the header is line 1)
    path = write_csv(tmp_path / "train.csv", rows)
    with pytest.raises(CommandError) as err:
        train(tmp_path, path)
    assert "第 6 行" in str(err.value) and "类别" in str(err.value) and "train.csv" in str(err.value)


def test_skip_unlabelled_and_empty_text_rows_are_listed(tmp_path):
    rows = synthetic_rows()
    rows[4]["类别"] = ""
    rows[9]["标题"] = rows[9]["内容"] = ""
    _, output = train(tmp_path, write_csv(tmp_path / "train.csv", rows), "--skip-unlabelled")
    assert "跳过 / skipped:       2" in output
    assert "empty label (类别): 第 6 行" in output
    assert "empty text (标题, 内容): 第 11 行" in output


def test_single_label_is_refused(tmp_path):
    rows = [r for r in synthetic_rows() if r["类别"] == "noise"]
    with pytest.raises(CommandError, match="至少需要 2 个"):
        train(tmp_path, write_csv(tmp_path / "one.csv", rows))


def test_predict_refuses_a_file_that_is_not_a_model(tmp_path):
    bogus = tmp_path / "bogus.model"
    bogus.write_bytes(b"\x00\x01 definitely not a model")
    path = write_csv(tmp_path / "new.csv", synthetic_rows(1))
    with pytest.raises(CommandError, match=r"bogus\.model"):
        run(
            "predict", "--model", str(bogus), "--input", path, "--id-column", "编号",
            "--text-column", "内容", "--output", str(tmp_path / "o.csv"),
        )  # fmt: skip
