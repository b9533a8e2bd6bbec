"""Appeal classifier quality and speed on the Teddy Cup 2020 labels → ``bench/results/classify.json``.

Stratified 5-fold cross-validation (fixed seed 0) of exactly the training that ``minsheng classify
train`` runs (``train_classifier``: features, calibration, both linear members), on
``classification_train.csv`` (7 first-level classes, 7,361 rows, raw and pre-segmented text). The
data is read from ``$TEDDYCUP_DIR`` or ``<repo>/../shared/data/teddycup2020`` and never copied.

Figures: per-fold and mean macro-F1 (``cv_macro_f1``), accuracy, expected calibration error and
log-loss of the calibrated confidences on the held-out folds, and the latency of predicting one
appeal at a time on one core after warm-up (``latency_ms`` is the mean; p50 and p95 too).

    .venv/bin/python bench/classify.py           # ~2 minutes on an idle core
    .venv/bin/python bench/classify.py --folds 2 # quicker look
"""

from __future__ import annotations

import os

# One core, as the latency target says; must be set before numpy loads its thread pools.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import write_result  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402

from minsheng.classification.csvio import read_table  # noqa: E402
from minsheng.classification.model import evaluation_figures, train_classifier  # noqa: E402

LATENCY_SAMPLES = 1000


def data_file() -> Path:
    base = os.environ.get("TEDDYCUP_DIR") or str(ROOT.parent / "shared" / "data" / "teddycup2020")
    return Path(base) / "classification_train.csv"


def latency(model, texts: list[str]) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds per single-appeal ``predict`` call, after a warm-up.

    CPU time is reported too because the machine is shared: wall-clock includes the time other
    processes hold the core.
    """
    for text in texts[:20]:
        model.predict([text])
    wall, cpu = [], []
    for text in texts:
        started, cpu_started = time.perf_counter(), time.process_time()
        model.predict([text])
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="print only; leave results/ alone")
    args = parser.parse_args()

    path = data_file()
    if not path.exists():
        print(f"{path} not found: set TEDDYCUP_DIR to the Teddy Cup 2020 folder. Nothing measured.")
        return 0
    table = read_table(path)
    text_col, label_col, kind_col = (table.column(c) for c in ("text", "label", "text_kind"))
    texts = [r.get(text_col) for r in table.records]
    labels = np.array([r.get(label_col) for r in table.records])
    kinds = np.array([r.get(kind_col) for r in table.records])
    classes = sorted(set(labels))
    print(f"{len(texts)} rows, {len(classes)} classes, {args.folds}-fold stratified CV (seed 0)")

    folds = StratifiedKFold(args.folds, shuffle=True, random_state=0).split(texts, labels)
    f1s: list[float] = []
    proba_all = np.zeros((len(texts), len(classes)))  # held-out probabilities, for calibration figures
    started = time.perf_counter()
    for i, (tr, te) in enumerate(folds, 1):
        t0 = time.perf_counter()
        model = train_classifier([texts[j] for j in tr], labels[tr])
        assert model.labels == classes
        proba = model.predict_proba([texts[j] for j in te])
        proba_all[te] = proba
        pred = np.array(classes)[proba.argmax(axis=1)]
        f1 = f1_score(labels[te], pred, average="macro")
        f1s.append(f1)
        by_kind = {
            k: f1_score(labels[te][kinds[te] == k], pred[kinds[te] == k], average="macro")
            for k in ("raw", "tokens")
        }
        print(
            f"fold {i}: macro-F1 {f1:.4f} (raw {by_kind['raw']:.4f}, tokens {by_kind['tokens']:.4f}), "
            f"T={model.temperature:.3f}, {time.perf_counter() - t0:.0f} s",
            flush=True,
        )
    cv_seconds = time.perf_counter() - started
    y = np.array([classes.index(label) for label in labels])
    pooled = evaluation_figures(y, proba_all, len(classes))
    mean_f1 = statistics.mean(f1s)
    print(f"mean macro-F1 {mean_f1:.4f} (sd {statistics.pstdev(f1s):.4f}); pooled {pooled}")

    # Latency: the last fold's model on its held-out appeals (raw and pre-segmented as they come).
    test_idx = te
    sample = [texts[j] for j in test_idx[:LATENCY_SAMPLES]]
    ms, cpu = latency(model, sample)
    raw = [kinds[j] == "raw" for j in test_idx[:LATENCY_SAMPLES]]
    raw_ms = [m for m, is_raw in zip(ms, raw, strict=True) if is_raw]
    raw_cpu = [m for m, is_raw in zip(cpu, raw, strict=True) if is_raw]
    lat = {
        "latency_ms": round(statistics.mean(ms), 3),
        "latency_ms_p50": round(statistics.median(ms), 3),
        "latency_ms_p95": round(sorted(ms)[int(0.95 * (len(ms) - 1))], 3),
        "latency_cpu_ms": round(statistics.mean(cpu), 3),
        # Raw text is what arrives at intake; it needs jieba, the pre-segmented rows do not.
        "latency_ms_raw_text": round(statistics.mean(raw_ms), 3),
        "latency_ms_raw_text_p50": round(statistics.median(raw_ms), 3),
        "latency_cpu_ms_raw_text": round(statistics.mean(raw_cpu), 3),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print(
        f"single-appeal predict (n={len(ms)}, mean {statistics.mean(len(t) for t in sample):.0f} characters): "
        f"wall mean {lat['latency_ms']} ms, p50 {lat['latency_ms_p50']} ms, p95 {lat['latency_ms_p95']} ms, "
        f"CPU mean {lat['latency_cpu_ms']} ms; raw text only (n={len(raw_ms)}): wall mean "
        f"{lat['latency_ms_raw_text']} ms, p50 {lat['latency_ms_raw_text_p50']} ms, CPU mean "
        f"{lat['latency_cpu_ms_raw_text']} ms; load average {lat['load_average_1m']} on {os.cpu_count()} cores"
    )

    figures = {
        "cv_macro_f1": round(mean_f1, 4),
        **{f"cv_macro_f1_fold{i}": round(f, 4) for i, f in enumerate(f1s, 1)},
        "cv_macro_f1_sd": round(statistics.pstdev(f1s), 4),
        "cv_accuracy": pooled["accuracy"],
        "cv_ece": pooled["ece"],
        "cv_log_loss": pooled["log_loss"],
        **lat,
        "cv_seconds": round(cv_seconds, 1),
        "rows": len(texts),
        "classes": len(classes),
        "folds": args.folds,
    }
    if args.no_write:
        print(figures)
    else:
        print(f"wrote {write_result('classify', figures)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
