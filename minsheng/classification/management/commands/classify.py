"""``minsheng classify train|predict``: train the appeal classifier on a CSV, or label a CSV with it.

    minsheng classify train --input labelled.csv --text-column 标题 --text-column 内容 \\
        --label-column 类别 --model var/classifier.model
    minsheng classify predict --model var/classifier.model --input new.csv --id-column 编号 \\
        --text-column 标题 --text-column 内容 --output labels.csv
    minsheng classify retrain [--base history.csv --text-column 内容 --label-column 类别] [--min-labels N]

``retrain`` trains on the categories people set, corrected or confirmed in the platform (plus an
optional base CSV), compares the candidate with the installed model on the same hold-out and installs
it as ``settings.CLASSIFIER_MODEL`` only when it is not worse (see ``classification.retrain``).

Input files are UTF-8 (with or without BOM) or GB18030; several text columns are joined, first to
last. Row numbers in messages are file line numbers (the header is line 1).

Only load model files you trained yourself: a model file is a pickle (see ``modelfile``).
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from minsheng.classification.csvio import CsvError, read_table
from minsheng.classification.model import train_classifier
from minsheng.classification.modelfile import ModelFileError, load_model, save_model

# Predict in slices so that progress can be shown and memory stays flat on big files.
CHUNK = 2000
# How many row numbers to list per reason before summarising the rest.
SHOW_ROWS = 20


def _rows(lines: list[int]) -> str:
    shown = "、".join(str(n) for n in lines[:SHOW_ROWS])
    more = f" 等共 {len(lines)} 行 / {len(lines)} rows in all" if len(lines) > SHOW_ROWS else ""
    return f"第 {shown} 行{more}"


class Command(BaseCommand):
    help = "Appeal classifier (诉求自动分类): train on a labelled CSV, or predict labels for a CSV."
    # Pure file processing: works before migrations and without a database.
    requires_system_checks = []

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        train = sub.add_parser(
            "train",
            help="train on a labelled CSV and write one model file",
            description="Train the appeal classifier on a labelled CSV (UTF-8 or GB18030) and write one "
            "self-contained model file.",
        )
        train.add_argument("--input", required=True, help="labelled CSV with a header row")
        train.add_argument(
            "--text-column",
            action="append",
            required=True,
            dest="text_columns",
            help="repeat to join several",
        )
        train.add_argument("--label-column", required=True)
        train.add_argument("--model", required=True, help="model file to write")
        train.add_argument(
            "--skip-unlabelled",
            action="store_true",
            help="skip rows with an empty label (listed in the summary) instead of stopping",
        )

        predict = sub.add_parser(
            "predict",
            help="write id,label,confidence for every row of a CSV",
            description="Write id,label,confidence for every input row, in input order. Confidence is a "
            "calibrated probability in [0, 1].",
        )
        predict.add_argument("--model", required=True, help="model file written by 'classify train'")
        predict.add_argument("--input", required=True)
        predict.add_argument("--id-column", required=True)
        predict.add_argument(
            "--text-column",
            action="append",
            required=True,
            dest="text_columns",
            help="repeat to join several",
        )
        predict.add_argument("--output", required=True, help="CSV to write (UTF-8)")

        retrain = sub.add_parser(
            "retrain",
            help="retrain from the platform's labels; install the model when not worse",
            description="Train on the categories staff set, corrected or confirmed (and an optional base "
            "CSV), score the candidate and the installed model on the same hold-out (macro-F1), write a "
            "versioned model file and install it as the platform's model when it is not worse.",
        )
        retrain.add_argument(
            "--base",
            help="labelled CSV trained on as well; labels are category codes or names (default: the base "
            "CSV the installed model was trained with, when its header names one still present)",
        )
        retrain.add_argument("--no-base", action="store_true", help="train on the platform's labels only")
        retrain.add_argument(
            "--text-column", action="append", dest="text_columns", help="of --base; repeat to join several"
        )
        retrain.add_argument("--label-column", help="of --base")
        retrain.add_argument(
            "--min-labels",
            type=int,
            default=0,
            help="skip unless at least N labels arrived since the last model (default 0: always train)",
        )
        retrain.add_argument(
            "--force", action="store_true", help="install even when the candidate scores worse"
        )

    def handle(self, *args, **options):
        self.verbosity = options.get("verbosity", 1)
        try:
            if options["action"] == "train":
                self.train(options)
            elif options["action"] == "retrain":
                self.retrain(options)
            else:
                self.predict(options)
        except (CsvError, ModelFileError) as exc:
            raise CommandError(str(exc)) from exc

    def say(self, message: str) -> None:
        if self.verbosity >= 1:
            self.stdout.write(message)
            self.stdout.flush()

    def train(self, options: dict) -> None:
        started = time.perf_counter()
        table = read_table(options["input"])
        text_cols = [table.column(c, role="text") for c in options["text_columns"]]
        label_col = table.column(options["label_column"], role="label")
        self.say(f"读取 / read {table.path}: {len(table.records)} 行 / rows ({table.encoding})")

        texts, labels, no_label, no_text = [], [], [], []
        for record in table.records:
            label = record.get(label_col).strip()
            text = table.joined_text(record, text_cols)
            if not label:
                no_label.append(record.line)
            elif not text:
                no_text.append(record.line)
            else:
                texts.append(text)
                labels.append(label)
        if no_label and not options["skip_unlabelled"]:
            raise CommandError(
                f"文件 {table.path} {_rows(no_label)}的标签列“{options['label_column']}”为空；"
                f"请补上标签，或加 --skip-unlabelled 跳过这些行。\n"
                f"{table.path}: empty label in column '{options['label_column']}' on line(s) "
                f"{', '.join(map(str, no_label[:SHOW_ROWS]))}; fill them in or pass --skip-unlabelled."
            )
        classes = Counter(labels)
        if len(classes) < 2:
            raise CommandError(
                f"文件 {table.path} 的标签列“{options['label_column']}”只有 {len(classes)} 个类别，"
                f"至少需要 2 个。\n{table.path}: column '{options['label_column']}' has "
                f"{len(classes)} distinct label(s); training needs at least 2."
            )

        try:
            model = train_classifier(texts, labels, progress=self.say)
        except ValueError as exc:  # e.g. no usable characters in any text
            raise CommandError(f"{table.path}: {exc}") from exc
        path = save_model(model, options["model"])
        elapsed = time.perf_counter() - started

        self.say("")
        self.say("训练完成 / training finished")
        self.say(f"  读取 / rows read:     {len(table.records)}")
        self.say(f"  用于训练 / used:      {len(texts)}")
        self.say(
            f"  类别 / classes:       {len(classes)} — "
            + "，".join(f"{label} {n}" for label, n in sorted(classes.items(), key=lambda kv: -kv[1]))
        )
        skipped = len(no_label) + len(no_text)
        self.say(f"  跳过 / skipped:       {skipped}")
        if no_label:
            self.say(f"    标签为空 / empty label ({options['label_column']}): {_rows(no_label)}")
        if no_text:
            self.say(f"    文本为空 / empty text ({', '.join(options['text_columns'])}): {_rows(no_text)}")
        cal = model.metrics.get("calibration", {})
        if "macro_f1" in cal:
            self.say(
                f"  校准集 / {cal['scheme']} ({cal['n']} rows): macro-F1 {cal['macro_f1']}, "
                f"accuracy {cal['accuracy']}, ECE {cal['ece']}, temperature {cal['temperature']}"
            )
        else:
            self.say("  校准 / calibration: 样本太少，未校准 / too few rows per class, not calibrated")
        self.say(f"  用时 / time:          {elapsed:.1f} s")
        self.say(f"  模型 / model:         {path} ({path.stat().st_size / 1e6:.1f} MB)")

    def predict(self, options: dict) -> None:
        started = time.perf_counter()
        model = load_model(options["model"])
        table = read_table(options["input"])
        id_col = table.column(options["id_column"], role="id")
        text_cols = [table.column(c, role="text") for c in options["text_columns"]]
        total = len(table.records)
        self.say(f"读取 / read {table.path}: {total} 行 / rows ({table.encoding}); model {options['model']}")

        out_path = Path(options["output"])
        counts: Counter[str] = Counter()
        empty = []
        try:
            with open(out_path, "w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["id", "label", "confidence"])
                for start in range(0, total, CHUNK):
                    records = table.records[start : start + CHUNK]
                    texts = [table.joined_text(r, text_cols) for r in records]
                    empty += [r.line for r, t in zip(records, texts, strict=True) if not t]
                    for record, (label, confidence) in zip(records, model.predict(texts), strict=True):
                        writer.writerow([record.get(id_col), label, f"{confidence:.4f}"])
                        counts[label] += 1
                    if total > CHUNK:
                        self.say(f"  {min(start + CHUNK, total)}/{total}")
        except OSError as exc:
            raise CommandError(
                f"无法写入 {out_path}：{exc.strerror}\ncannot write {out_path}: {exc.strerror}"
            ) from exc

        self.say(f"已写入 / wrote {out_path}: {total} 行 / rows in {time.perf_counter() - started:.1f} s")
        self.say("  " + "，".join(f"{label} {n}" for label, n in counts.most_common()))
        if empty:
            self.say(f"  文本为空（按先验类别输出，置信度低）/ empty text, low confidence: {_rows(empty)}")

    def retrain(self, options: dict) -> None:
        from minsheng.classification import retrain as retraining

        started = time.perf_counter()
        base = None
        if options.get("base"):
            if not options.get("text_columns") or not options.get("label_column"):
                raise CommandError(
                    "使用 --base 时须同时给出 --text-column 与 --label-column\n"
                    "--base needs --text-column and --label-column"
                )
            base, left_out = retraining.read_base(
                options["base"], options["text_columns"], options["label_column"]
            )
            self.say(f"基础数据 / base {options['base']}: {len(base.texts)} 行可用 / rows used")
            if left_out["empty"]:
                self.say(f"  跳过空行 / skipped, empty text or label: {left_out['empty']}")
            if left_out["unknown"]:
                unknown = left_out["unknown"]
                shown = "，".join(f"{label} {n}" for label, n in unknown.most_common(10))
                self.say(
                    f"  跳过不是平台类别的标签 / skipped, not a category of the platform: "
                    f"{sum(unknown.values())} 行 / rows ({shown})"
                )
        elif not options.get("no_base"):
            base = retraining.base_from_current()
            if base is not None:
                self.say(
                    f"基础数据 / base (as the installed model): {base.spec['path']}: {len(base.texts)} 行 / rows"
                )
        outcome = retraining.retrain(
            base=base, min_labels=options["min_labels"], force=options["force"], say=self.say
        )
        self.say("")
        self.say(f"重训结果 / retrain {outcome.status}: {outcome.message}")
        if outcome.version:
            self.say(f"  版本文件 / version file: {outcome.version}")
        if outcome.installed:
            self.say(f"  已安装 / installed as:   {outcome.installed}")
        figures = outcome.figures
        if "rows" in figures:
            self.say(f"  行数 / rows: {figures['rows']}，类别 / categories: {figures['classes']}")
        self.say(f"  用时 / time: {time.perf_counter() - started:.1f} s")
