"""A quick check on real appeals: the Teddy Cup 2020 labels when they are on this machine.

The full 5-fold figure is ``bench/classify.py``; this trains on a stratified 1,600-row subset and
tests on 800 others so that it stays well under 20 s.
"""

import os
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split

from minsheng.classification.csvio import read_table
from minsheng.classification.model import train_classifier

REPO = Path(__file__).resolve().parents[3]
DATA = Path(os.environ.get("TEDDYCUP_DIR") or REPO.parent / "shared" / "data" / "teddycup2020")
TRAIN = DATA / "classification_train.csv"

pytestmark = pytest.mark.skipif(not TRAIN.exists(), reason=f"{TRAIN} not present")


def test_real_appeals_are_classified_well():
    table = read_table(TRAIN)
    text, label = table.column("text"), table.column("label")
    texts = np.array([r.get(text) for r in table.records], dtype=object)
    labels = np.array([r.get(label) for r in table.records])
    tr, te = train_test_split(
        np.arange(len(texts)), train_size=1600, test_size=800, stratify=labels, random_state=3
    )
    model = train_classifier(list(texts[tr]), list(labels[tr]))
    proba = model.predict_proba(list(texts[te]))
    predicted = np.array(model.labels)[proba.argmax(axis=1)]
    assert f1_score(labels[te], predicted, average="macro") > 0.85
    # Calibrated: the mean confidence is close to the accuracy.
    assert abs(proba.max(axis=1).mean() - (predicted == labels[te]).mean()) < 0.05
