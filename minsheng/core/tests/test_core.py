"""Health, masking, ID numbers and the organisation loader."""

import pytest
from django.core.management import call_command

from minsheng.core.idnumber import check_character, is_valid_id_number
from minsheng.core.masking import mask_id_number, mask_phone
from minsheng.divisions.models import Division
from minsheng.units.models import Unit


@pytest.mark.django_db
def test_healthz_answers_ok_with_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.django_db
def test_healthz_reports_heartbeats(client):
    from minsheng.core.heartbeat import beat

    beat("scheduler")
    assert client.get("/healthz").json()["processes"]["scheduler"]["alive"] is True


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13905310001", "139****0001"),
        ("+8613905310001", "139****0001"),
        ("0531-86081234", "0531-****1234"),
        ("110", "***"),
        ("", ""),
    ],
)
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


def test_mask_id_number():
    assert mask_id_number("37010219900101123X") == "370102********123X"


def test_id_number_checksum():
    first17 = "37010219900307123"
    number = first17 + check_character(first17)
    assert is_valid_id_number(number)
    wrong = first17 + ("0" if number[-1] != "0" else "1")
    assert not is_valid_id_number(wrong)
    assert not is_valid_id_number("370102199002301234")  # 30 February
    assert not is_valid_id_number("12345")


@pytest.mark.django_db
def test_load_org_has_the_whole_jinan_gazetteer_and_tree():
    assert Division.objects.filter(level="township").count() == 164
    assert Division.objects.filter(level="community").count() == 5758
    assert Division.objects.count() == 178 + 5758
    luokou = Unit.objects.get(name="泺口派出所")
    assert luokou.level == 3 and luokou.parent.name == "天桥分局" and luokou.derived
    assert list(luokou.jurisdictions.values_list("code", flat=True)) == ["370105015"]
    assert luokou.supervising_unit().name == "天桥分局"
    assert Unit.objects.filter(name="黄河派出所").count() == 2
    assert Unit.objects.get(name="民生警务平台办公室").level == 1
    city = Unit.objects.get(type="city_bureau")
    assert Unit.objects.subtree_of(city).count() == Unit.objects.count()


@pytest.mark.django_db
def test_load_org_twice_changes_nothing():
    before = (Unit.objects.count(), Division.objects.count())
    call_command("load_org", "jinan", verbosity=0)
    assert (Unit.objects.count(), Division.objects.count()) == before


def test_console_script_maps_hyphenated_commands(monkeypatch):
    import sys

    from minsheng import __main__ as entry

    seen = {}
    monkeypatch.setattr(
        "django.core.management.execute_from_command_line", lambda argv: seen.setdefault("argv", argv)
    )
    monkeypatch.setattr(sys, "argv", ["minsheng", "load-org", "jinan"])
    entry.main()
    assert seen["argv"] == ["minsheng", "load_org", "jinan"]
