"""Text normalisation, features and the statistical model (no files, no database)."""

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from minsheng.classification import Classifier
from minsheng.classification.features import AppealVectorizer, term_key
from minsheng.classification.model import DEFAULT_TEMPERATURE, retrain_from_labels, train_classifier
from minsheng.classification.tests.synthetic import synthetic_rows
from minsheng.classification.text import char_stream, is_pre_segmented, normalise, words


def texts_labels(rows):
    return [f"{r['标题']} {r['内容']}" for r in rows], [r["类别"] for r in rows]


def test_normalise_full_width_and_whitespace():
    assert normalise("ＡＢＣ１２３，　护照\t\n办理 ") == "ABC123, 护照 办理"
    assert char_stream(normalise("Ａ市，护照！ 办理")) == "a市护照办理"


def test_pre_segmented_text_is_recognised():
    assert is_pre_segmented("小区 门口 车辆 乱停 占用 消防通道 影响 通行 希望 处理")
    assert not is_pre_segmented("小区门口车辆乱停 占用消防通道，影响通行，希望尽快处理。")


def test_raw_and_segmented_text_give_the_same_words():
    # Stop words (我们, 的, 有) and punctuation go, as they went from the segmented historical data.
    raw = "我们小区的门口经常有车辆违章停车，占用消防通道！"
    segmented = "小区 门口 经常 车辆 违章 停车 占用 消防通道"
    expected = ["小区", "门口", "经常", "车辆", "违章", "停车", "占用", "消防通道"]
    assert words(normalise(raw)) == expected
    assert words(normalise(segmented)) == expected


def test_features_match_scikit_learn():
    texts, _ = texts_labels(synthetic_rows(8))
    texts += ["", "！！！"]
    vec = AppealVectorizer(min_df=1)
    X = vec.fit_transform(texts).toarray()
    # Fitted matrix and the fast per-text path agree …
    assert np.abs(vec.transform(texts).toarray() - X).max() < 1e-6
    # … and the character block is exactly scikit-learn's TF-IDF.
    streams = [vec.views(t)["char"] for t in texts]
    sk = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, lowercase=False).fit(streams)
    block = vec.blocks[0]
    rank = {int(k): i for i, k in enumerate(block.keys)}
    order = sorted(sk.vocabulary_, key=sk.vocabulary_.get)
    ours = X[:, [rank[term_key(t)] for t in order]]
    assert np.abs(sk.transform(streams).toarray() - ours).max() < 1e-6


def test_model_is_a_classifier_with_probabilities():
    texts, labels = texts_labels(synthetic_rows(10))
    model = retrain_from_labels(texts, labels)
    assert isinstance(model, Classifier)
    proba = model.predict_proba(["楼下广场舞噪音扰民", "护照怎么办理"])
    assert proba.shape == (2, 3)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert model.predict([]) == []
    assert model.metrics["calibration"]["method"] == "temperature"


def test_tiny_classes_train_without_calibration():
    texts, labels = texts_labels(synthetic_rows(1))  # one row per class: nothing to hold out
    model = train_classifier(texts, labels)
    assert model.metrics["calibration"]["method"] == "none"
    assert model.temperature == DEFAULT_TEMPERATURE
    assert [label for label, _ in model.predict(texts)] == labels


def test_two_classes():
    rows = [r for r in synthetic_rows(10) if r["类别"] != "passport"]
    model = retrain_from_labels(*texts_labels(rows))
    assert model.predict(["夜间施工噪音太吵"])[0][0] == "noise"
    assert model.predict(["门口车辆乱停乱放"])[0][0] == "illegal_parking"


def test_retraining_with_corrected_labels_changes_the_prediction():
    texts, labels = texts_labels(synthetic_rows(10))
    # First round: whoever labelled the passport appeals filed them under noise.
    wrong = ["noise" if label == "passport" else label for label in labels]
    probe = "出国旅游，想咨询办理护照需要什么材料"
    assert retrain_from_labels(texts, wrong).predict([probe])[0][0] == "noise"
    # Staff correct them and the platform retrains.
    assert retrain_from_labels(texts, labels).predict([probe])[0][0] == "passport"


def test_bad_training_input():
    with pytest.raises(ValueError, match="two"):
        train_classifier(["a", "b"], ["x", "x"])
    with pytest.raises(ValueError, match="length"):
        train_classifier(["a"], ["x", "y"])
    with pytest.raises(ValueError, match="usable"):
        train_classifier(["!!", "??"], ["x", "y"])
