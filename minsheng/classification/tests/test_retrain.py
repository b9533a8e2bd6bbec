"""The learning loop: labels from what people decided, the retrain, and the model the platform uses."""

import io
import os

import pytest
from django.core.management import call_command

from minsheng.cases import actions
from minsheng.cases.tests.cast import person
from minsheng.categories.models import Category
from minsheng.classification import labels
from minsheng.classification import retrain as retraining
from minsheng.classification.modelfile import load_model, read_header
from minsheng.classification.tests.synthetic import synthetic_rows, write_csv
from minsheng.classification.tests.test_modelfile import tamper_header
from minsheng.routing import categoriser
from minsheng.routing import triage as triage_module
from minsheng.routing.hooks import apply_triage

pytestmark = pytest.mark.django_db

# None of these words is a keyword of the rules: only a trained model can file it.
EBIKE = "楼道里有人给电动自行车充电，电线从窗户拉下来"
EBIKE_SIMILAR = "电动自行车推进楼道充电，电线拉得到处都是"


@pytest.fixture
def models(settings, tmp_path):
    """An empty model directory as the platform's; the categoriser re-reads it on every call."""
    settings.CLASSIFIER_MODEL = str(tmp_path / "models" / "category.model")
    settings.CLASSIFIER_RELOAD_S = 0
    categoriser.reset()
    triage_module.reset()
    yield tmp_path / "models"
    categoriser.reset()


def run(*args) -> str:
    out = io.StringIO()
    call_command("classify", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def base_csv(tmp_path) -> str:
    """60 labelled appeals: noise, illegal_parking, passport (category codes)."""
    return write_csv(tmp_path / "history.csv", synthetic_rows(20))


def retrain_with_base(tmp_path) -> str:
    args = ["--base", base_csv(tmp_path), "--text-column", "标题", "--text-column", "内容"]
    return run("retrain", *args, "--label-column", "类别")


def top(text: str) -> str:
    ranked = categoriser.categoriser().rank(text)
    return ranked[0][0] if ranked else ""


def register(content: str, category=None):
    appeal = actions.register_appeal(
        actor=person("dispatcher"),
        channel="phone",
        content=content,
        address="天桥区泺口街道",
        category=Category.objects.get(code=category) if category else None,
    )
    return apply_triage(appeal.case)


def test_cold_start_uses_keyword_rules_without_a_model_file(models):
    assert not (models / "category.model").exists()
    assert categoriser.categoriser().model is None
    assert top("楼下KTV噪音扰民，半夜还在唱") == "noise"
    case = register("楼下KTV噪音扰民，半夜还在唱")
    assert case.triage["categories"][0][0] == "noise"


def test_a_correction_followed_by_a_retrain_changes_the_prediction(models, tmp_path):
    output = retrain_with_base(tmp_path)
    assert "installed" in output, output
    assert categoriser.categoriser().model is not None
    before = top(EBIKE_SIMILAR)
    assert before in {"noise", "illegal_parking", "passport"}

    case = register(EBIKE)
    assert case.category_id is None or case.category.code != "security_hazard"
    actions.set_category(case, Category.objects.get(code="security_hazard"), actor=person("dispatcher"))
    assert [(lab.category, lab.source) for lab in labels.collect()] == [("security_hazard", "corrected")]

    # Without --base the retrain uses the base the installed model was trained with.
    output = run("retrain")
    assert "installed" in output, output
    after = top(EBIKE_SIMILAR)
    assert after == "security_hazard" != before
    header = read_header(models / "category.model")
    record = header["metrics"]["retrain"]
    assert record["label_counts"]["database"] == 1 and record["label_counts"]["base"] == 60
    assert record["holdout"]["unseen_by_current"] is True
    assert len(list(models.glob("category-*.model"))) == 2


def test_a_triage_before_and_after_the_retrain_files_the_appeal_differently(models, tmp_path):
    retrain_with_base(tmp_path)
    first = register(EBIKE)
    actions.set_category(first, Category.objects.get(code="security_hazard"), actor=person("dispatcher"))
    retraining.retrain(base=retraining.base_from_current)
    again = register(EBIKE_SIMILAR)
    assert again.triage["categories"][0][0] == "security_hazard"


def test_the_retrain_is_skipped_cheaply_when_too_few_labels_arrived(
    models, tmp_path, django_assert_max_num_queries
):
    retrain_with_base(tmp_path)
    versions = set(models.glob("category-*.model"))
    case = register(EBIKE)
    actions.set_category(case, Category.objects.get(code="security_hazard"), actor=person("dispatcher"))
    with django_assert_max_num_queries(1):
        outcome = retraining.retrain(base=retraining.base_from_current, min_labels=5)
    assert outcome.status == "skipped" and "1" in outcome.message
    assert set(models.glob("category-*.model")) == versions


def test_the_daily_task_skips_below_the_threshold(models, settings):
    from minsheng.classification.tasks import retrain
    from minsheng.core.management.commands.scheduler import SCHEDULE

    assert SCHEDULE["minsheng.classification.tasks.retrain"] == 86400  # daily
    settings.CLASSIFIER_RETRAIN_MIN_LABELS = 50
    result = retrain.call()
    assert result["status"] == "skipped" and result["new_labels"] == 0
    assert not (models / "category.model").exists()


def test_a_worse_candidate_is_written_but_not_installed(models, tmp_path, monkeypatch):
    retrain_with_base(tmp_path)
    installed = (models / "category.model").read_bytes()
    case = register(EBIKE)
    actions.set_category(case, Category.objects.get(code="security_hazard"), actor=person("dispatcher"))
    real = retraining.platform_predictions
    current = load_model(models / "category.model")

    def rigged(model, texts):
        # The installed model scores perfectly on the hold-out, the candidate gets everything wrong.
        if model is not None and model.created_at == current.created_at:
            return ["security_hazard"] * len(texts)
        return ["passport" for _ in real(model, texts)]

    monkeypatch.setattr(retraining, "platform_predictions", rigged)
    output = run("retrain")
    assert "kept" in output and "worse" in output
    assert (models / "category.model").read_bytes() == installed
    assert len(list(models.glob("category-*.model"))) == 2  # the candidate, for the record
    output = run("retrain", "--force")
    assert "installed" in output and (models / "category.model").read_bytes() != installed


def test_labels_count_people_not_system_accounts(models):
    triaged = register("楼下KTV噪音扰民，半夜还在唱")  # filed and dispatched by 智能分派
    assert triaged.state == "dispatched" and triaged.category.code == "noise"
    staff = register("小区门口车辆乱停，堵住消防通道", category="illegal_parking")
    assert {lab.case_id: lab.source for lab in labels.collect()} == {staff.pk: "registered"}
    accepted = actions.accept_case(triaged, actor=person("luokou"))
    actions.complete_case(accepted, actor=person("luokou"), result="已劝离", reply="已处理")
    found = {lab.case_id: (lab.category, lab.source) for lab in labels.collect()}
    assert found == {staff.pk: ("illegal_parking", "registered"), triaged.pk: ("noise", "completed")}
    assert labels.count_new(None) == 2


def test_a_foreign_model_is_refused_and_the_platform_keeps_the_rules(models, tmp_path, caplog):
    retrain_with_base(tmp_path)
    installed = models / "category.model"
    tamper_header(installed, sklearn_version="0.1.0")
    os.utime(installed, ns=(1, 1))  # a new identity: the categoriser looks again
    with caplog.at_level("ERROR"):
        assert categoriser.categoriser().model is None
    assert "scikit-learn 0.1.0" in caplog.text and "Retrain" in caplog.text
    assert top("楼下KTV噪音扰民") == "noise"
    output = run("retrain")  # replaces it: the refused model counts as no model
    assert "refused" in output and "installed" in output
    assert categoriser.categoriser().model is not None


def test_a_newly_installed_file_reaches_a_running_process_without_reset(models, tmp_path, settings):
    settings.CLASSIFIER_RELOAD_S = 3600
    assert categoriser.categoriser().model is None
    retraining.retrain(base=retraining.read_base(base_csv(tmp_path), ["标题", "内容"], "类别")[0])
    # The retrain reset this process; another process sees the file change once its interval passed.
    loaded = categoriser.categoriser()
    assert loaded.model is not None
    categoriser._checked_at -= 3600
    assert categoriser.categoriser() is loaded  # same file: nothing reloaded
    (models / "category.model").write_bytes((models / "category.model").read_bytes())
    os.utime(models / "category.model", ns=(2, 2))
    assert categoriser.categoriser() is loaded  # checked less than an interval ago
    categoriser._checked_at -= 3600
    assert categoriser.categoriser() is not loaded
