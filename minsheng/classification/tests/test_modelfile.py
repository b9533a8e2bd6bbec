"""The model file envelope: what it records and what it refuses."""

import hashlib
import json
import pickle
import struct
import zlib
from datetime import datetime

import pytest
import sklearn

import minsheng
from minsheng.classification.model import train_classifier
from minsheng.classification.modelfile import (
    FORMAT_VERSION,
    MAGIC,
    ModelFileError,
    ModelVersionError,
    load_model,
    read_header,
    save_model,
)
from minsheng.classification.tests.synthetic import synthetic_rows


@pytest.fixture(scope="module")
def model():
    rows = synthetic_rows(10)
    return train_classifier([r["标题"] + r["内容"] for r in rows], [r["类别"] for r in rows])


def tamper_header(path, **changes):
    """Rewrite the JSON header of a model file with ``changes``, keeping the payload."""
    data = path.read_bytes()
    start = len(MAGIC) + 8
    (size,) = struct.unpack(">Q", data[len(MAGIC) : start])
    header = json.loads(data[start : start + size])
    header.update(changes)
    head = json.dumps(header).encode()
    path.write_bytes(MAGIC + struct.pack(">Q", len(head)) + head + data[start + size :])


def test_round_trip_keeps_predictions_and_records_versions(tmp_path, model):
    path = save_model(model, tmp_path / "m.model")
    loaded = load_model(path)
    texts = ["楼下广场舞噪音太大", "门口乱停车"]
    assert loaded.predict(texts) == model.predict(texts)
    header = read_header(path)
    assert header["format_version"] == FORMAT_VERSION
    assert header["project_version"] == minsheng.__version__
    assert header["sklearn_version"] == sklearn.__version__
    assert header["labels"] == ["illegal_parking", "noise", "passport"]
    assert header["metrics"]["n_rows"] == 30
    assert datetime.fromisoformat(header["created_at"]).tzinfo is not None


def test_other_format_version_is_refused(tmp_path, model):
    path = save_model(model, tmp_path / "m.model")
    tamper_header(path, format_version=FORMAT_VERSION + 1)
    with pytest.raises(ModelVersionError) as err:
        load_model(path)
    assert "格式版本" in str(err.value) and "format version" in str(err.value)


def test_other_sklearn_minor_is_refused_but_a_patch_release_is_not(tmp_path, model):
    major, minor, *_ = sklearn.__version__.split(".")
    path = save_model(model, tmp_path / "m.model")
    tamper_header(path, sklearn_version=f"{major}.{int(minor) + 1}.0")
    with pytest.raises(ModelVersionError, match="scikit-learn"):
        load_model(path)
    tamper_header(path, sklearn_version=f"{major}.{minor}.99")
    load_model(path)


def test_random_bytes_are_refused(tmp_path):
    path = tmp_path / "random.model"
    path.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(ModelFileError) as err:
        load_model(path)
    assert not isinstance(err.value, ModelVersionError)
    assert "random.model" in str(err.value)


def test_some_other_pickle_is_refused(tmp_path):
    path = tmp_path / "other.pkl"
    path.write_bytes(pickle.dumps({"not": "a model"}))
    with pytest.raises(ModelFileError, match="signature"):
        load_model(path)


def test_an_envelope_around_something_else_is_refused(tmp_path, model):
    path = save_model(model, tmp_path / "m.model")
    header = read_header(path)
    payload = zlib.compress(pickle.dumps(["a list"]))
    header.update(payload_sha256=hashlib.sha256(payload).hexdigest(), payload_bytes=len(payload))
    head = json.dumps(header).encode()
    path.write_bytes(MAGIC + struct.pack(">Q", len(head)) + head + payload)
    with pytest.raises(ModelFileError, match="list"):
        load_model(path)


def test_truncated_and_corrupted_files_are_refused(tmp_path, model):
    path = save_model(model, tmp_path / "m.model")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="checksum"):
        load_model(path)
    path.write_bytes(data[: len(MAGIC) + 3])
    with pytest.raises(ModelFileError, match="truncated"):
        load_model(path)
    flipped = bytearray(data)
    flipped[-10] ^= 0xFF
    path.write_bytes(bytes(flipped))
    with pytest.raises(ModelFileError, match="checksum"):
        load_model(path)


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        load_model(tmp_path / "absent.model")
