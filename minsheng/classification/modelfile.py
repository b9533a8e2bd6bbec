"""The model file: one self-contained file holding a trained :class:`~.model.TextClassifier`.

Layout::

    MINSHENG-CLASSIFIER\\n                 magic line
    8 bytes, big-endian                    length of the header
    header                                 UTF-8 JSON: format and library versions, labels,
                                           training metrics, creation time, payload checksum
    payload                                zlib-compressed pickle of the TextClassifier

The header is read and checked before anything is unpickled, so a file from another format version
or another scikit-learn major.minor is refused with :class:`ModelVersionError` without running any
of its code, and a file that is not a model at all (wrong magic, truncated, checksum mismatch) with
:class:`ModelFileError`.

SECURITY: the payload is a pickle, and unpickling can run arbitrary code. Only load model files that
the operator trained or otherwise trusts, from the operator's own paths; never load a model file
uploaded by a user or fetched from elsewhere. The magic line and checksum catch accidents, not
attacks.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import struct
import tempfile
import zlib
from importlib import metadata
from pathlib import Path

import numpy as np
import sklearn

from .model import TextClassifier

MAGIC = b"MINSHENG-CLASSIFIER\n"
# Bump when the pickled classes or the layout change in a way older code cannot read.
FORMAT_VERSION = 1
_LENGTH = struct.Struct(">Q")
# A header is a few kilobytes; anything larger means the bytes are not ours.
_MAX_HEADER = 16 * 1024 * 1024


class ModelFileError(Exception):
    """The file is not a usable model file (not one at all, truncated or corrupted)."""


class ModelVersionError(ModelFileError):
    """The model file was written by another format version or another scikit-learn release."""


def project_version() -> str:
    """``minsheng.__version__`` when the package defines it, else the installed distribution's."""
    try:
        from minsheng import __version__

        return str(__version__)
    except ImportError:
        pass
    try:
        return metadata.version("minsheng")
    except metadata.PackageNotFoundError:
        return "unknown"


def _major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def save_model(model: TextClassifier, path: str | Path) -> Path:
    """Write ``model`` to ``path`` atomically (a reader never sees half a file) and return the path."""
    path = Path(path)
    payload = zlib.compress(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL), level=6)
    header = {
        "format_version": FORMAT_VERSION,
        "project_version": project_version(),
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "labels": list(model.labels),
        "metrics": model.metrics,
        "created_at": model.created_at.isoformat(timespec="seconds"),
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
        "payload_bytes": len(payload),
    }
    head = json.dumps(header, ensure_ascii=False, default=str).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(MAGIC)
            out.write(_LENGTH.pack(len(head)))
            out.write(head)
            out.write(payload)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _not_a_model(path: Path, why: str) -> ModelFileError:
    return ModelFileError(
        f"{path} 不是有效的诉求分类模型文件（{why}）\n{path} is not a classifier model file ({why})"
    )


def _read(path: Path) -> tuple[dict, bytes]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelFileError(f"找不到模型文件 {path}\nmodel file not found: {path}") from None
    except OSError as exc:
        raise ModelFileError(f"无法读取模型文件 {path}：{exc.strerror}\ncannot read {path}") from None
    if not data.startswith(MAGIC):
        raise _not_a_model(path, "文件头不符 / wrong file signature")
    start = len(MAGIC) + _LENGTH.size
    if len(data) < start:
        raise _not_a_model(path, "文件被截断 / truncated")
    (size,) = _LENGTH.unpack_from(data, len(MAGIC))
    if size > _MAX_HEADER or len(data) < start + size:
        raise _not_a_model(path, "文件被截断 / truncated")
    try:
        header = json.loads(data[start : start + size].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _not_a_model(path, "头信息损坏 / corrupt header") from None
    if not isinstance(header, dict):
        raise _not_a_model(path, "头信息损坏 / corrupt header")
    return header, data[start + size :]


def check_versions(header: dict, path: Path) -> None:
    """Refuse a header from another format version or scikit-learn major.minor."""
    fmt = header.get("format_version")
    if fmt != FORMAT_VERSION:
        raise ModelVersionError(
            f"模型文件 {path} 的格式版本为 {fmt}，本程序只能读取格式版本 {FORMAT_VERSION}；请用本版本重新训练。\n"
            f"model file {path} has format version {fmt}; this release reads format version "
            f"{FORMAT_VERSION} only. Retrain the model with this release."
        )
    theirs = str(header.get("sklearn_version", "?"))
    if _major_minor(theirs) != _major_minor(sklearn.__version__):
        raise ModelVersionError(
            f"模型文件 {path} 由 scikit-learn {theirs} 训练，当前为 {sklearn.__version__}"
            f"（主次版本不同）；请重新训练。\n"
            f"model file {path} was trained with scikit-learn {theirs}, this installation has "
            f"{sklearn.__version__} (different major.minor). Retrain the model."
        )


def read_header(path: str | Path) -> dict:
    """The header of a model file (versions, labels, metrics) without unpickling anything."""
    return _read(Path(path))[0]


def load_model(path: str | Path) -> TextClassifier:
    """Load a model file written by :func:`save_model`.

    Only for files from the operator's own, trusted paths: see the module docstring.
    """
    path = Path(path)
    header, payload = _read(path)
    check_versions(header, path)
    if len(payload) != header.get("payload_bytes") or (
        hashlib.sha256(payload).hexdigest() != header.get("payload_sha256")
    ):
        raise _not_a_model(path, "内容校验失败 / checksum mismatch")
    try:
        model = pickle.loads(zlib.decompress(payload))
    except Exception as exc:
        raise _not_a_model(path, f"无法还原 / cannot unpickle: {type(exc).__name__}") from None
    if not isinstance(model, TextClassifier):
        raise _not_a_model(path, f"内容类型为 {type(model).__name__} / holds a {type(model).__name__}")
    return model
