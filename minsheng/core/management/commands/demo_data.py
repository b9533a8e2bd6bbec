"""``minsheng demo-data --days N --seed S``: realistic Jinan appeals replayed through the real actions.

Every appeal is registered, dispatched, accepted, handled, followed up (and sometimes returned,
extended, escalated) at plausible past times through ``cases.actions`` with the clock set back, so
the timelines, deadlines and queues are exactly what the platform itself would have produced. Steps
that would fall after "now" are not taken, which leaves recent cases in every open state.
"""

import csv
import datetime as dt
import random
import time
from pathlib import Path

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from minsheng.accounts.models import Membership, Role, User
from minsheng.appeals.choices import Channel
from minsheng.cases import actions
from minsheng.cases.choices import CaseState
from minsheng.categories.models import Category
from minsheng.core import clock, workdays
from minsheng.dedup import actions as dedup_actions
from minsheng.dedup.service import LINK
from minsheng.demo.generator import generate_appeals, progress_note_for, reply_for, return_reason
from minsheng.divisions.models import Division
from minsheng.units.models import Unit, UnitFunction, UnitType

FIXTURES = Path(__file__).resolve().parents[3] / "divisions" / "fixtures" / "jinan"
SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志宏红玉兰峰斌鹏辉"


def _read(name: str) -> list[dict]:
    with (FIXTURES / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


class Router:
    """Where the demo sends each appeal: a stand-in for the triage that routing (issue 4) builds."""

    def __init__(self):
        units = list(Unit.objects.filter(active=True))
        self.by_township = {}
        for unit in Unit.objects.filter(type=UnitType.POLICE_STATION).prefetch_related("jurisdictions"):
            for division in unit.jurisdictions.all():
                self.by_township.setdefault(division.code, unit)
        self.branch_by_district = {
            u.district_code: u for u in units if u.type == UnitType.BRANCH_BUREAU and u.district_code
        }
        self.brigade_by_district = {
            u.district_code: u for u in units if u.type == UnitType.TRAFFIC_BRIGADE and u.district_code
        }
        self.by_function = {}
        # With no place to go on, the city department of the category's line takes the appeal.
        self.fallback = {
            UnitFunction.STATION: next((u for u in units if u.name == "治安警察支队"), None),
            UnitFunction.TRAFFIC: next((u for u in units if u.name == "交通警察支队"), None),
        }
        for unit in units:
            if unit.function in (
                UnitFunction.VEHICLE_ADMIN,
                UnitFunction.EXIT_ENTRY,
                UnitFunction.INSPECTION,
            ):
                self.by_function.setdefault(unit.function, unit)

    def route(self, category: Category, township_code: str, district_code: str) -> Unit | None:
        function = category.handler_function
        if function in self.by_function:
            return self.by_function[function]
        if function == UnitFunction.TRAFFIC:
            return self.brigade_by_district.get(district_code) or self.fallback[UnitFunction.TRAFFIC]
        return (
            self.by_township.get(township_code)
            or self.branch_by_district.get(district_code)
            or self.fallback.get(function)
        )


class Command(BaseCommand):
    help = "生成演示诉求并按真实流程推进（受理、派单、签收、办结、回访……）"

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=90)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--per-day", type=float, default=40.0)

    def handle(self, *args, days, seed, per_day, **options):
        if not Unit.objects.exists():
            from django.core.management import call_command

            call_command("load_org", "jinan")
        started = time.monotonic()
        self.rng = random.Random(seed)
        self.now = timezone.now()
        self.router = Router()
        self.categories = {c.code: c for c in Category.objects.select_related("parent")}
        self.divisions = Division.objects.in_bulk(field_name="code")
        self.people: dict[tuple[int, str], User] = {}
        self.dispatcher = User.objects.get(username="dispatcher")
        self.followup = User.objects.get(username="followup")
        self.inspector = User.objects.get(username="inspector")
        self.verdicts: dict[str, int] = {}
        appeals = list(
            generate_appeals(
                days=days,
                seed=seed,
                end=timezone.localdate(self.now),
                divisions=_read("divisions.csv"),
                communities=_read("communities.csv"),
                per_day=per_day,
            )
        )
        total = len(appeals)
        self.stdout.write(f"生成演示诉求 {total} 件（{days} 天，种子 {seed}）……")
        states: dict[str, int] = {}
        for index, item in enumerate(appeals, start=1):
            if item.received_at > self.now:
                continue
            with transaction.atomic():
                case = self._replay(item, random.Random(seed * 1_000_003 + index))
            states[case.state] = states.get(case.state, 0) + 1
            if index % 500 == 0 or index == total:
                self.stdout.write(f"  {index}/{total}  {time.monotonic() - started:.0f} 秒")
        summary = "，".join(f"{CaseState(k).label} {v}" for k, v in sorted(states.items()))
        self.stdout.write(
            "自动比对：关联件 {link}，重复诉求 {repeat}，疑似重复待确认 {suggest}，新件 {new}".format(
                **{k: self.verdicts.get(k, 0) for k in ("link", "repeat", "suggest", "new")}
            )
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"完成：{sum(states.values())} 件工单（{summary}），用时 {time.monotonic() - started:.0f} 秒"
            )
        )

    # --- people -------------------------------------------------------------------------------
    def _person(self, unit: Unit, role: str) -> User:
        """A named member of ``unit`` with ``role`` (the demo cast where there is one, else a new one)."""
        key = (unit.pk, role)
        if key not in self.people:
            member = Membership.objects.filter(unit=unit, role=role).select_related("user").first()
            if member is None:
                name = self.rng.choice(SURNAMES) + "".join(
                    self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2)))
                )
                user = User.objects.create(
                    username=f"demo_{unit.pk}_{role}",
                    real_name=name,
                    police_number=f"{unit.pk:03d}{len(self.people):03d}",
                    is_active=True,
                )
                user.set_unusable_password()
                user.save(update_fields=["password"])
                member = Membership.objects.create(user=user, unit=unit, role=role)
            self.people[key] = member.user
        return self.people[key]

    def _supervisor(self, unit: Unit) -> User:
        supervising = unit.supervising_unit() or Unit.objects.get(type=UnitType.PLATFORM_OFFICE)
        return self._person(supervising, Role.SUPERVISOR)

    # --- replay -------------------------------------------------------------------------------
    def _at(self, moment: dt.datetime):
        return clock.frozen_at(moment)

    def _replay(self, item, rng: random.Random):
        category = self.categories.get(item.category_code)
        township = self.divisions.get(item.township_code) if item.township_code else None
        district = self.divisions.get(item.district_code) if item.district_code else None
        community = self.divisions.get(item.community_code) if item.community_code else None
        t = item.received_at + dt.timedelta(minutes=rng.randint(1, 15))
        instant = (
            category is not None
            and category.kind == "consultation"
            and item.channel in (Channel.PHONE, Channel.VISIT, Channel.HOTLINE_12345)
            and rng.random() < 0.35
        )
        with self._at(min(t, self.now)):
            # Through the same comparison as live intake: a resubmission or a neighbour's report of a
            # matter still being handled joins its case (关联件); one answered already is a repeat.
            appeal, comparison = dedup_actions.register(
                compare=not instant,
                actor=self.dispatcher,
                channel=item.channel,
                received_at=item.received_at,
                title=item.title,
                content=item.content,
                appellant_name=item.appellant_name,
                appellant_phone=item.appellant_phone,
                appellant_id_number=item.appellant_id_number,
                address=item.address,
                category=category,
                district=district,
                township=township,
                community=community,
                external_source=item.channel if item.external_ref else "",
                external_ref=item.external_ref,
                instant_reply=reply_for(item.category_code, rng) if instant else "",
            )
        case = appeal.case
        self.verdicts[comparison.decision] = self.verdicts.get(comparison.decision, 0) + 1
        if comparison.decision == LINK:
            return case
        if instant:
            return self._follow_up(case, rng, t)
        unit = self.router.route(category, item.township_code, item.district_code) if category else None
        if unit is None:
            return case
        t += dt.timedelta(minutes=rng.randint(5, 90))
        if t > self.now:
            return case
        if rng.random() < 0.05:
            # A first dispatch to a neighbouring unit that returns it: the 退单 path.
            wrong = (
                Unit.objects.filter(type=unit.type, parent=unit.parent).exclude(pk=unit.pk).first() or unit
            )
            if wrong != unit:
                with self._at(t):
                    actions.dispatch_case(case, wrong, actor=self.dispatcher)
                t += dt.timedelta(minutes=rng.randint(20, 180))
                if t > self.now:
                    return case
                with self._at(t):
                    actions.return_case(
                        case,
                        actor=self._person(wrong, Role.HANDLING_OFFICER),
                        reason=return_reason(rng, item.category_code),
                    )
                t += dt.timedelta(minutes=rng.randint(10, 120))
                if t > self.now or (self.now - t < dt.timedelta(days=2) and rng.random() < 0.5):
                    return case  # recent returns still wait for the platform office to re-route
        with self._at(t):
            actions.dispatch_case(case, unit, actor=self.dispatcher)
        officer = self._person(unit, Role.HANDLING_OFFICER)
        late = rng.random() < 0.08
        t = workdays.add_working_hours(t, rng.uniform(2.5, 8) if late else rng.uniform(0.1, 1.8))
        if t > self.now:
            return case
        with self._at(t):
            actions.accept_case(case, actor=officer)
        return self._handle(case, rng, t, officer, unit)

    def _handle(self, case, rng, t, officer, unit):
        days = case.category.deadline_days if case.category_id else 5
        for _ in range(rng.choice((0, 1, 1, 2))):
            t = workdays.add_working_hours(t, rng.uniform(1, 6))
            if t > self.now:
                return case
            with self._at(t):
                actions.add_note(case, actor=officer, note=progress_note_for(case.category.code, rng))
        if rng.random() < 0.06:
            t = workdays.add_working_hours(t, rng.uniform(1, 4))
            if t > self.now:
                return case
            with self._at(t):
                actions.request_extension(
                    case,
                    actor=officer,
                    days=rng.choice((2, 3, 5)),
                    reason="需协调相关部门联合处置，申请延期办理。",
                )
            t = workdays.add_working_hours(t, rng.uniform(0.5, 6))
            if t > self.now:
                return case
            with self._at(t):
                actions.decide_extension(
                    case,
                    actor=self._supervisor(unit),
                    approve=rng.random() < 0.8,
                    note="同意" if rng.random() < 0.5 else "",
                )
        overrun = rng.random() < 0.07
        t = workdays.add_working_hours(t, rng.uniform(0.5, days * 8 * (1.6 if overrun else 0.9)))
        if t > self.now:
            return case
        with self._at(t):
            reply = reply_for(case.category.code, rng)
            actions.complete_case(
                case, actor=officer, result=progress_note_for(case.category.code, rng), reply=reply
            )
        return self._follow_up(case, rng, t, officer=officer)

    def _follow_up(self, case, rng, t, officer=None):
        if case.state != CaseState.COMPLETED:
            return case
        t = workdays.add_working_hours(t, rng.uniform(1, 16))
        if t > self.now:
            return case
        needs = (
            case.category_id
            and case.category.followup_required
            and case.appeals.exclude(appellant_phone="").exists()
        )
        if not needs:
            with self._at(t):
                actions.close_case(case, actor=self.dispatcher, note="无需回访")
            return case
        roll = rng.random()
        answer = (
            "satisfied"
            if roll < 0.82
            else "basically_satisfied"
            if roll < 0.92
            else "unreachable"
            if roll < 0.95
            else "dissatisfied"
        )
        with self._at(t):
            actions.record_followup(
                case,
                actor=self.followup,
                answer=answer,
                note="短信回访" if answer != "unreachable" else "三次电话未接通",
            )
        if case.state == CaseState.IN_PROGRESS and officer is not None:
            t = workdays.add_working_hours(t, rng.uniform(2, 16))
            if t > self.now:
                return case
            with self._at(t):
                actions.complete_case(
                    case, actor=officer, result="重新核实处理", reply=reply_for(case.category.code, rng)
                )
            t = workdays.add_working_hours(t, rng.uniform(2, 12))
            if t > self.now:
                return case
            with self._at(t):
                actions.record_followup(
                    case, actor=self.followup, answer="satisfied" if rng.random() < 0.5 else "dissatisfied"
                )
            if case.state == CaseState.INVESTIGATING:
                t = workdays.add_working_hours(t, rng.uniform(8, 32))
                if t > self.now:
                    return case
                fault = rng.random() < 0.3
                with self._at(t):
                    actions.record_investigation(
                        case,
                        actor=self.inspector,
                        findings="调阅办理记录并回访诉求人，核实处置过程。",
                        conclusion="督促承办单位整改，向诉求人说明情况。",
                        internal_fault=fault,
                        fault_detail="承办民警答复不及时、解释不到位" if fault else "",
                    )
        return case
