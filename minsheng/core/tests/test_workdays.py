"""Deadlines on working days and hours, around the 2026 and 2027 holidays and make-up Saturdays."""

import datetime as dt

import pytest
from django.utils import timezone

from minsheng.core import workdays
from minsheng.core.models import CalendarDay

pytestmark = pytest.mark.django_db


def at(*args) -> dt.datetime:
    return timezone.make_aware(dt.datetime(*args))


@pytest.fixture(autouse=True)
def fresh_cache():
    workdays.clear_cache()
    yield
    workdays.clear_cache()


def test_national_day_2026_is_skipped_and_the_make_up_saturday_counts():
    # 2026-09-30 (Wednesday) + 1 working day: 10-01…10-07 are holidays; Thursday 10-08 is next.
    assert workdays.add_working_days(at(2026, 9, 30, 10, 0), 1) == at(2026, 10, 8, 17, 0)
    # Saturday 2026-10-10 is a make-up working day (调休): Friday 10-09 + 1 → Saturday 10-10.
    assert workdays.is_workday(dt.date(2026, 10, 10))
    assert workdays.add_working_days(at(2026, 10, 9, 15, 0), 1) == at(2026, 10, 10, 17, 0)


def test_spring_festival_2026():
    # 2026-02-14 (Saturday) is a make-up working day before the 2026 Spring Festival (02-15…02-23).
    assert workdays.is_workday(dt.date(2026, 2, 14))
    assert not workdays.is_workday(dt.date(2026, 2, 16))
    assert workdays.add_working_days(at(2026, 2, 13, 9, 0), 2) == at(2026, 2, 24, 17, 0)


def test_working_hours_skip_lunch_nights_and_holidays():
    # 16:00 + 2 working hours → 10:00 the next working day (one hour left today, one tomorrow from 09:00).
    assert workdays.add_working_hours(at(2026, 11, 24, 16, 0), 2) == at(2026, 11, 25, 10, 0)
    # 11:30 + 1 hour → 13:30 (the 12:00–13:00 lunch break does not count).
    assert workdays.add_working_hours(at(2026, 11, 24, 11, 30), 1) == at(2026, 11, 24, 13, 30)
    # Registered on the eve of National Day 2026 at 16:30 → due on 10-08.
    assert workdays.add_working_hours(at(2026, 9, 30, 16, 30), 2) == at(2026, 10, 8, 10, 30)
    # At night and on a Sunday the clock does not run.
    assert workdays.add_working_hours(at(2026, 11, 29, 22, 0), 1) == at(2026, 11, 30, 10, 0)


def test_working_hours_between_is_the_inverse():
    start = at(2026, 9, 30, 16, 30)
    end = workdays.add_working_hours(start, 2)
    assert workdays.working_hours_between(start, end) == pytest.approx(2)
    assert workdays.working_hours_between(end, start) == pytest.approx(-2)


def test_2027_is_unknown_until_the_platform_office_enters_it():
    # chinese-calendar has no 2027 schedule: until it is entered, plain weekdays count.
    assert not workdays.calendar_known(2027)
    assert workdays.is_workday(dt.date(2027, 2, 8))  # a Monday
    # The 2027 Spring Festival falls on 2027-02-06; the office enters the published arrangement.
    for day in range(6, 14):
        CalendarDay.objects.create(date=dt.date(2027, 2, day), is_workday=False, name="春节")
    CalendarDay.objects.create(date=dt.date(2027, 2, 14), is_workday=True, name="春节调休上班")
    assert workdays.calendar_known(2027)
    assert not workdays.is_workday(dt.date(2027, 2, 8))
    # Friday 2027-02-05 + 1 working day → the make-up Sunday 02-14.
    assert workdays.add_working_days(at(2027, 2, 5, 10, 0), 1) == at(2027, 2, 14, 17, 0)
    assert workdays.add_working_days(at(2027, 2, 5, 10, 0), 2) == at(2027, 2, 15, 17, 0)


def test_new_year_2027_overrides_a_weekday():
    CalendarDay.objects.create(date=dt.date(2027, 1, 1), is_workday=False, name="元旦")
    # Thursday 2026-12-31 + 1 → Monday 2027-01-04 (Friday 01-01 is New Year's Day).
    assert workdays.add_working_days(at(2026, 12, 31, 10, 0), 1) == at(2027, 1, 4, 17, 0)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        workdays.add_working_days(dt.datetime(2026, 11, 24, 9, 0), 1)
