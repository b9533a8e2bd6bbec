"""Retraining the platform's classifier from what people decided (一站直办's learning loop).

One retrain:

1. counts the labels that arrived since the last attempt (:func:`.labels.count_new`, one query) and
   stops there when they are fewer than ``min_labels``: the daily task costs one query most days;
2. collects every label (:func:`.labels.collect`) and, optionally, base rows from a CSV (the history a
   first model was trained on; labels there are category codes or names);
3. holds out up to 20 % of the rows, taken from those the installed model has not seen (labels newer
   than its ``labels_until``; everything when there is no model), trains a candidate on the rest and
   scores both pipelines as the platform runs them (model + keyword rules; the rules alone when no
   model is installed) on the same hold-out: macro-F1 over the hold-out's categories;
4. when the candidate is not worse, trains it again on every row and installs it: a versioned file
   ``category-YYYYmmdd-HHMMSS.model`` beside ``settings.CLASSIFIER_MODEL`` (metrics, label counts and
   the hold-out figures in its header) copied over the installed file with an atomic rename. Running
   processes pick it up within ``CLASSIFIER_RELOAD_S`` (see ``routing.categoriser``). A worse candidate
   is written as a versioned file too (for the record) and not installed.

Two retrains never run at once (a lock file beside the model).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import math
import os
import random
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from minsheng.core import clock

HOLDOUT_SHARE = 0.2
MIN_ROWS = 10
KEEP_VERSIONS = 10
SEED = 0
VERSION_GLOB = "category-*.model"


@dataclass
class BaseData:
    """Rows from a CSV that join the database's labels (labels already mapped to category codes)."""

    texts: list[str]
    labels: list[str]
    spec: dict = field(default_factory=dict)  # path, text_columns, label_column: recorded in the header


@dataclass
class Outcome:
    status: str  # installed | kept | skipped
    message: str
    version: Path | None = None
    installed: Path | None = None
    figures: dict = field(default_factory=dict)


def installed_path() -> Path:
    return Path(settings.CLASSIFIER_MODEL)


def models_dir() -> Path:
    return installed_path().parent


def _header(path: Path) -> dict | None:
    from .modelfile import ModelFileError, read_header

    try:
        return read_header(path)
    except ModelFileError:
        return None


def _labels_until(header: dict | None) -> dt.datetime | None:
    if not header:
        return None
    value = (header.get("metrics") or {}).get("retrain", {}).get("labels_until") or header.get("created_at")
    try:
        return dt.datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def versions() -> list[Path]:
    """The versioned model files, oldest first."""
    return sorted(models_dir().glob(VERSION_GLOB), key=lambda p: (p.stat().st_mtime, p.name))


def last_attempt() -> dt.datetime | None:
    """Labels up to this time were seen by the installed model or the latest retrain attempt."""
    times = [_labels_until(_header(installed_path()))] if installed_path().exists() else []
    latest = versions()[-1:]
    times += [_labels_until(_header(p)) for p in latest]
    times = [t for t in times if t is not None]
    return max(times) if times else None


def category_codes() -> dict[str, str]:
    """Category code, name or "parent/name" → code, for active leaf categories."""
    from minsheng.categories.models import Category

    categories = list(Category.objects.filter(active=True).select_related("parent"))
    parents = {c.parent_id for c in categories if c.parent_id}
    names = Counter(c.name for c in categories)
    out: dict[str, str] = {}
    for category in categories:
        if category.pk in parents:
            continue
        out[category.code] = category.code
        out[str(category)] = category.code
        if names[category.name] == 1:
            out.setdefault(category.name, category.code)
    return out


def _scores(y_true: Sequence[str], y_pred: Sequence[str]) -> dict:
    from sklearn.metrics import f1_score

    labels = sorted(set(y_true))
    correct = sum(a == b for a, b in zip(y_true, y_pred, strict=True))
    return {
        "n": len(y_true),
        "accuracy": round(correct / len(y_true), 4) if y_true else None,
        "macro_f1": round(float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)), 4)
        if y_true
        else None,
    }


def platform_predictions(model, texts: Sequence[str]) -> list[str]:
    """The top category the platform would give each text with ``model`` (None: rules alone)."""
    from minsheng.routing.categoriser import Categoriser

    from .rules import RuleClassifier

    categoriser = Categoriser(model=model, rules=RuleClassifier())
    out = []
    for text in texts:
        ranked = categoriser.rank(text)
        out.append(ranked[0][0] if ranked else "")
    return out


@contextmanager
def _lock():
    directory = models_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".retrain.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def install(version: Path) -> Path:
    """Make ``version`` the installed model: copy, then an atomic rename over the installed file."""
    from minsheng.routing import categoriser

    target = installed_path()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    try:
        shutil.copyfile(version, tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    categoriser.reset()  # this process at once; the others within CLASSIFIER_RELOAD_S
    return target


def _version_path(now: dt.datetime) -> Path:
    stamp = now.astimezone(dt.UTC).strftime("%Y%m%d-%H%M%S")
    path = models_dir() / f"category-{stamp}.model"
    n = 1
    while path.exists():
        n += 1
        path = models_dir() / f"category-{stamp}-{n}.model"
    return path


def _prune() -> None:
    for old in versions()[:-KEEP_VERSIONS]:
        old.unlink(missing_ok=True)


def base_from_current() -> BaseData | None:
    """The base CSV the installed model was trained with, when its header names one still present."""
    from .csvio import CsvError

    header = _header(installed_path()) if installed_path().exists() else None
    spec = ((header or {}).get("metrics") or {}).get("retrain", {}).get("base") or {}
    if not spec.get("path") or not Path(spec["path"]).exists():
        return None
    try:
        return read_base(spec["path"], spec["text_columns"], spec["label_column"])[0]
    except (CsvError, KeyError):
        return None


def read_base(path: str, text_columns: Sequence[str], label_column: str) -> tuple[BaseData, dict]:
    """Rows of a labelled CSV whose label is a category (code, name or "parent/name").

    Returns the data and what was left out: {"unknown": Counter of labels, "empty": rows}.
    """
    from .csvio import read_table

    table = read_table(path)
    text_cols = [table.column(c, role="text") for c in text_columns]
    label_col = table.column(label_column, role="label")
    codes = category_codes()
    texts, labels, unknown, empty = [], [], Counter(), 0
    for record in table.records:
        label = record.get(label_col).strip()
        text = table.joined_text(record, text_cols)
        if not label or not text:
            empty += 1
        elif label not in codes:
            unknown[label] += 1
        else:
            texts.append(text)
            labels.append(codes[label])
    spec = {
        "path": str(Path(path).resolve()),
        "text_columns": list(text_columns),
        "label_column": label_column,
    }
    return BaseData(texts, labels, spec), {"unknown": unknown, "empty": empty}


def retrain(
    *,
    base: BaseData | Callable[[], BaseData | None] | None = None,
    min_labels: int = 0,
    force: bool = False,
    say: Callable[[str], None] | None = None,
) -> Outcome:
    """One retrain (see the module docstring). ``force`` installs even a worse candidate and ignores
    ``min_labels``. ``base`` may be a function, called only when the retrain is not skipped."""
    say = say or (lambda _msg: None)
    with _lock() as acquired:
        if not acquired:
            return Outcome("skipped", "另一次重训正在进行 / another retrain is running")
        return _retrain(base=base, min_labels=min_labels, force=force, say=say)


def _retrain(*, base, min_labels: int, force: bool, say: Callable[[str], None]) -> Outcome:
    from . import labels as label_source

    since = last_attempt()
    new = label_source.count_new(since)
    say(
        f"新标注 / new labels since {since.isoformat(timespec='seconds') if since else 'the beginning'}: {new}"
    )
    if new < min_labels and not force:
        return Outcome(
            "skipped",
            f"新标注 {new} 条，少于 {min_labels} 条，不重训 / {new} new labels, fewer than {min_labels}: skipped",
            figures={"new_labels": new},
        )

    from .model import train_classifier
    from .modelfile import ModelFileError, load_model, save_model

    if callable(base):
        base = base()
    labels_until = clock.now()
    current, current_note = None, "关键词规则 / keyword rules (no model installed)"
    if installed_path().exists():
        try:
            current = load_model(installed_path())
            current_note = f"{installed_path()} ({current.created_at:%Y-%m-%d %H:%M})"
        except ModelFileError as exc:
            current_note = (
                f"关键词规则；现有模型不可用 / keyword rules; the installed model is refused: {exc}"
            )
    # Which database labels the installed model saw: those up to its retrain's ``labels_until``; a
    # model from ``classify train`` (a CSV, no retrain record) saw none of them.
    seen_until = None
    if current is not None:
        record = (current.metrics or {}).get("retrain") or {}
        seen_until = _labels_until({"metrics": {"retrain": record}}) if record else None

    db_labels = list(label_source.collect())
    texts = [label.text for label in db_labels]
    codes = [label.category for label in db_labels]
    fresh = [i for i, label in enumerate(db_labels) if seen_until is None or label.at > seen_until]
    if base is not None:
        offset = len(texts)
        texts += base.texts
        codes += base.labels
        if current is None:
            fresh += list(range(offset, len(texts)))
    sources = Counter(label.source for label in db_labels)
    say(
        f"标注 / labels: 数据库 / database {len(db_labels)} ({dict(sources)})"
        + (f"，基础数据 / base {len(base.texts)}" if base else "")
    )
    classes = Counter(codes)
    if len(texts) < MIN_ROWS or len(classes) < 2:
        return Outcome(
            "skipped",
            f"标注太少（{len(texts)} 条，{len(classes)} 个类别）/ too few labels "
            f"({len(texts)} rows, {len(classes)} categories; need {MIN_ROWS} and 2)",
            figures={"rows": len(texts), "classes": len(classes), "new_labels": new},
        )

    # The hold-out: rows the installed model has not seen, so that both are scored fairly.
    n_hold = max(1, math.ceil(HOLDOUT_SHARE * len(texts)))
    pool, fresh_only = fresh, True
    if not pool:
        pool, fresh_only = list(range(len(texts))), False
    held = set(random.Random(SEED).sample(pool, min(n_hold, len(pool))))
    train_idx = [i for i in range(len(texts)) if i not in held]
    held_idx = sorted(held)
    if len({codes[i] for i in train_idx}) < 2:
        held_idx, train_idx = [], list(range(len(texts)))
    say(
        f"留出集 / hold-out: {len(held_idx)} 条"
        + ("（现有模型未见过）/ unseen by the installed model" if fresh_only else "（含现有模型训练过的行）")
    )

    say("训练候选模型 / training the candidate …")
    held_texts = [texts[i] for i in held_idx]
    held_true = [codes[i] for i in held_idx]
    evaluation = train_classifier(
        [texts[i] for i in train_idx], [codes[i] for i in train_idx], calibrate=False
    )
    candidate_scores = _scores(held_true, platform_predictions(evaluation, held_texts))
    current_scores = _scores(held_true, platform_predictions(current, held_texts))
    say(
        f"  候选 / candidate: macro-F1 {candidate_scores['macro_f1']}, accuracy {candidate_scores['accuracy']}"
    )
    say(
        f"  现用 / current ({current_note}): macro-F1 {current_scores['macro_f1']}, accuracy {current_scores['accuracy']}"
    )
    better_or_equal = (candidate_scores["macro_f1"] or 0) >= (current_scores["macro_f1"] or 0)
    install_it = better_or_equal or force

    record = {
        "labels_until": labels_until.isoformat(),
        "label_counts": {"database": len(db_labels), "base": len(base.texts) if base else 0, **sources},
        "new_labels": new,
        "holdout": {
            "n": len(held_idx),
            "unseen_by_current": fresh_only,
            "candidate": candidate_scores,
            "current": {**current_scores, "model": current_note},
        },
        "installed": install_it,
        "forced": bool(force and not better_or_equal),
        "base": base.spec if base else None,
    }
    if install_it:
        say("用全部标注训练 / training on every row …")
        model = train_classifier(texts, codes, progress=lambda m: say("  " + m))
    else:
        model = evaluation
        record["trained_on"] = "all rows except the hold-out"
    model.metrics["retrain"] = record
    version = save_model(model, _version_path(clock.now()))
    figures = {
        "rows": len(texts),
        "classes": len(classes),
        "candidate_macro_f1": candidate_scores["macro_f1"],
        "current_macro_f1": current_scores["macro_f1"],
        "new_labels": new,
    }
    if not install_it:
        _prune()
        return Outcome(
            "kept",
            f"候选模型不如现用模型，未安装（已保存 {version.name}）/ the candidate is worse on the same "
            f"hold-out ({candidate_scores['macro_f1']} < {current_scores['macro_f1']}): kept the current "
            f"model; the candidate is kept as {version}",
            version=version,
            figures=figures,
        )
    target = install(version)
    _prune()
    how = "（强制）/ forced" if record["forced"] else "不差于现用模型 / not worse than the current one"
    return Outcome(
        "installed",
        f"已安装新模型 {version.name} → {target}：{how} "
        f"(macro-F1 {candidate_scores['macro_f1']} vs {current_scores['macro_f1']})",
        version=version,
        installed=target,
        figures=figures,
    )
