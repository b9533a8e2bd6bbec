"""Routing benchmark: how many generated Jinan appeals the platform dispatches with no human step, and
how many of those reach the right unit.

    .venv/bin/python bench/routing.py [--appeals 5000] [--seed 20261127] [--train] [--dump FILE]
                                      [--learning continuous|frozen] [--location-threshold X]
                                      [--calibrate X,Y,…]

The appeals come from the demo generator with a seed the tests do not use; addresses are written the
way people write them (district left out, township without 街道, an estate alone, a landmark …). The
right unit of an appeal is the one that answers for its true place and category: the station of its
township, the traffic brigade of its district, or the city unit of a place-free category (出入境, 车驾管,
督察). Appeals whose right unit cannot be known are not counted; the script says how many were left out
and why (``left_out_by_reason``): no place at all for a place-bound category, a landmark or a road whose
township the generator does not know (only its district), a road across districts, or a township no
station covers. The platform still triages them: those it dispatched directly anyway are counted
(``left_out_dispatched_directly``, right or wrong unknowable) and so are those sent to a unit outside
the district the truth does know (``left_out_direct_other_district``, surely wrong).

Before measuring, the platform learns place names from the 90 days of handled appeals before the
measured ones (another seed), as it does in production from the cases front-line units handled: the
unit that handled an appeal confirms its place names through production's own ``hooks.learn_places``
(a station its township, a traffic brigade, or the branch for a landmark whose township the generator
does not know, its district; city units confirm nothing). Categories are predicted by the platform's
categoriser (a trained model when ``--train`` is given, trained on that same history, else the
cold-start keyword rules; it is not retrained during the measurement).

Learning during the measurement (``--learning``). Production does not stop learning on the day the
measurement starts: every case a station completes confirms its names, every wrong dispatch a station
returns takes support away. The measured appeals are replayed in the order they arrived, twice from the
same starting knowledge:

- ``continuous`` (the default, and the headline ``direct_rate``/``direct_correct_rate``): each appeal's
  handling teaches the platform once it would have happened. A wrong direct dispatch is returned by the
  wrong unit ``RETURNED_AFTER`` (1 day; a station must sign within hours) after the appeal arrived
  (``learn_places`` with weight −1, as ``actions.return_case`` does); the right unit (the dispatcher's
  choice when the platform did not dispatch, the re-routing after a return) completes it
  ``HANDLED_AFTER`` (3 days) after arrival (weight +1, as ``actions.complete_case`` does). Nothing is
  learned before that, so an appeal never teaches its own triage, nor any appeal of the next 3 days.
  What is learned is only what the handling reveals in production: which unit handled it (known in
  truth to be the right one: dispatchers are assumed not to err) and the appeal's address. Appeals left
  out teach as the history does (the unit known to handle them, the branch when only the district is
  known; a direct dispatch outside the true district is returned). Not modelled: the routing
  statistics (``RoutingObservation``) and retraining the categoriser.
- ``frozen`` (``frozen_direct_rate``/``frozen_direct_correct_rate``, or the headline when
  ``--learning frozen``): what the platform knew at the start only, the knowledge of a platform that
  stopped learning 0–333 days ago; a lower bound.

``continuous`` is the headline because it is what the acceptance criterion is about: the platform as it
runs, learning from its own handled cases.

Thresholds. ``triage.LOCATION_THRESHOLD`` was calibrated on development seeds, never on the bench seed:
``--seed S --history-seed H --appeals 5000 --train --calibrate 0.85,0.8,…,0.5`` for (S, H) = (20260901,
101), (20260902, 102), (20260903, 103), seeds neither the tests nor the other benches use. The choice is
the lowest candidate whose direct dispatches stay ≥ 0.99 right on every dev seed in both learning modes,
and above ``places.DISTRICT_ONLY`` (0.5, "only the district is known", which the tests require to stay
unsure): **0.55** (was 0.85). Direct rate / right rate (wrong direct dispatches) of 5,000 appeals:

    threshold  20260901 continuous   frozen               20260902 continuous  frozen               20260903 continuous  frozen
    0.85       0.8962 / 0.9975 (11)  0.8900 / 0.9969 (14)  0.9022 / 0.9978 (10)  0.8978 / 0.9975 (11)  0.9000 / 0.9971 (13)  0.8998 / 0.9958 (19)
    0.80       0.8982 / 0.9973 (12)  0.8918 / 0.9964 (16)  0.9050 / 0.9976 (11)  0.8990 / 0.9971 (13)  0.9024 / 0.9971 (13)  0.9012 / 0.9958 (19)
    0.75       0.9002 / 0.9971 (13)  0.8920 / 0.9964 (16)  0.9068 / 0.9974 (12)  0.8996 / 0.9971 (13)  0.9048 / 0.9967 (15)  0.9022 / 0.9958 (19)
    0.70       0.9016 / 0.9969 (14)  0.8930 / 0.9962 (17)  0.9076 / 0.9971 (13)  0.9008 / 0.9969 (14)  0.9070 / 0.9965 (16)  0.9034 / 0.9954 (21)
    0.65       0.9044 / 0.9958 (19)  0.8944 / 0.9958 (19)  0.9100 / 0.9967 (15)  0.9024 / 0.9969 (14)  0.9090 / 0.9960 (18)  0.9046 / 0.9951 (22)
    0.60       0.9074 / 0.9949 (23)  0.8950 / 0.9951 (22)  0.9132 / 0.9945 (25)  0.9044 / 0.9951 (22)  0.9120 / 0.9945 (25)  0.9064 / 0.9938 (28)
    0.55       0.9098 / 0.9945 (25)  0.8958 / 0.9944 (25)  0.9158 / 0.9939 (28)  0.9048 / 0.9949 (23)  0.9146 / 0.9937 (29)  0.9078 / 0.9934 (30)
    0.50       0.9134 / 0.9928 (33)  0.8966 / 0.9944 (25)  0.9192 / 0.9924 (35)  0.9060 / 0.9947 (24)  0.9182 / 0.9919 (37)  0.9090 / 0.9930 (32)

Every candidate stays ≥ 0.99 overall, but the appeals each step down adds are right far less often:
between 0.85 and 0.70 9 in 10 (continuous, 3 seeds: 89 more direct dispatches, 9 more wrong),
between 0.70 and 0.55 2 in 3 (120 more, 39 more wrong), nearly all of them estates known only
from learned names that are common across the city (纺织厂宿舍, 盛世嘉园, 和谐公寓). The figures of
``bench/results/routing.json`` were measured once with 0.55, after this calibration.

``--location-threshold X`` measures with another threshold and ``--calibrate X,Y,…`` runs both modes for
each candidate and prints a table; neither, nor another ``--seed``, writes ``bench/results/routing.json``.
``--dump FILE`` writes one JSON line per measured appeal of the headline mode that was not dispatched
directly or went to the wrong unit (truth, triage, confidences), for analysis.
"""

import argparse
import contextlib
import csv
import datetime as dt
import heapq
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

BENCH_SEED = 20261127
# When handling teaches the platform, after the appeal arrived (continuous learning).
RETURNED_AFTER = dt.timedelta(days=1)
HANDLED_AFTER = dt.timedelta(days=3)
MODES = ("continuous", "frozen")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--appeals", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=BENCH_SEED)
    parser.add_argument("--history-seed", type=int, default=11)
    parser.add_argument("--train", action="store_true", help="train the categoriser on the history first")
    parser.add_argument("--dump", help="write the measured appeals not dispatched right (JSON lines)")
    parser.add_argument(
        "--learning", choices=MODES, default="continuous", help="the headline mode (both are measured)"
    )
    parser.add_argument("--location-threshold", type=float, help="instead of triage.LOCATION_THRESHOLD")
    parser.add_argument("--calibrate", help="comma-separated LOCATION_THRESHOLD candidates to compare")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="minsheng-routing-"))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    # Never the model installed under var/: the cold start, or the model --train makes below.
    os.environ["MINSHENG_CLASSIFIER_MODEL"] = str(workdir / "no-installed.model")
    os.environ["DJANGO_SETTINGS_MODULE"] = "minsheng.settings"
    import django

    django.setup()
    from _common import write_result
    from django.core.management import call_command

    from minsheng.demo.generator import generate_appeals
    from minsheng.routing import categoriser, triage

    call_command("migrate", verbosity=0)
    call_command("load_org", "jinan", verbosity=0)
    fixtures = ROOT / "minsheng" / "divisions" / "fixtures" / "jinan"
    divisions = list(csv.DictReader((fixtures / "divisions.csv").open(encoding="utf-8")))
    communities = list(csv.DictReader((fixtures / "communities.csv").open(encoding="utf-8")))

    end = dt.date(2026, 11, 20)
    days = max(60, args.appeals // 15)
    started = time.monotonic()
    history = list(
        generate_appeals(
            days=90,
            seed=args.history_seed,
            end=end - dt.timedelta(days=days),  # the day before the measured appeals begin
            divisions=divisions,
            communities=communities,
        )
    )
    route = triage.router()
    learned = sum(
        teach(unit, a.address, weight=1) for a in history if a.address and (unit := handling_unit(route, a))
    )
    print(f"地名学习：{len(history)} 件历史诉求，{learned} 条地名佐证（{time.monotonic() - started:.0f} 秒）")
    if args.train:
        from minsheng.classification.model import retrain_from_labels

        model = retrain_from_labels(
            [f"{a.title}\n{a.content}" for a in history], [a.category_code for a in history]
        )
        categoriser.reset()
        categoriser._categoriser = categoriser.Categoriser(model=model, rules=categoriser.categoriser().rules)
        print("分类模型：用历史诉求训练")

    # The measured stream: every appeal until ``--appeals`` of them have a known right unit.
    appeals = []
    measured = 0
    for appeal in generate_appeals(
        days=days, seed=args.seed, end=end, divisions=divisions, communities=communities
    ):
        if measured >= args.appeals:
            break
        truth = right_unit(route, appeal)
        measured += truth is not None
        appeals.append((appeal, truth))
    start = snapshot()
    other = next(mode for mode in MODES if mode != args.learning)

    if args.calibrate:
        print("LOCATION_THRESHOLD | " + " | ".join(f"{m} direct / right" for m in MODES))
        for candidate in [float(x) for x in args.calibrate.split(",")]:
            triage.LOCATION_THRESHOLD = candidate
            row = []
            for mode in MODES:
                restore(start)
                figures = measure(route, appeals, continuous=mode == "continuous")
                row.append(
                    f"{figures['direct_rate']:.4f} / {figures['direct_correct_rate']:.4f}"
                    f" ({figures['direct_wrong']} wrong)"
                )
            print(f"{candidate:.2f} | " + " | ".join(row), flush=True)
        return

    if args.location_threshold is not None:
        triage.LOCATION_THRESHOLD = args.location_threshold
    restore(start)
    with open(args.dump, "w", encoding="utf-8") if args.dump else contextlib.nullcontext() as dump:
        figures = measure(route, appeals, continuous=args.learning == "continuous", dump=dump)
    restore(start)
    second = measure(route, appeals, continuous=other == "continuous")
    figures = {
        "direct_rate": figures.pop("direct_rate"),
        "direct_correct_rate": figures.pop("direct_correct_rate"),
        "learning": args.learning,
        f"{other}_direct_rate": second["direct_rate"],
        f"{other}_direct_correct_rate": second["direct_correct_rate"],
        f"{other}_left_out_dispatched_directly": second["left_out_dispatched_directly"],
        **figures,
        "location_threshold": triage.LOCATION_THRESHOLD,
        "learned_after_days": {"returned": RETURNED_AFTER.days, "completed": HANDLED_AFTER.days},
        "categoriser": "trained on history" if args.train else "keyword rules (cold start)",
    }
    if args.seed == BENCH_SEED and args.location_threshold is None:
        write_result("routing", figures)
    else:
        print(json.dumps(figures, ensure_ascii=False, indent=2))


def measure(route, appeals, *, continuous: bool, dump=None) -> dict:
    """Triage the appeals in the order they arrived; with ``continuous``, each appeal's handling teaches
    the platform once it would have happened (see the module docstring)."""
    from minsheng.routing import places, triage

    pending: list = []  # (when, order, address, unit, weight): handling not done yet
    order = itertools.count()

    def later(when, address, unit, weight):
        heapq.heappush(pending, (when, next(order), address, unit, weight))

    measured = left_out = direct = correct = category_right = taught = 0
    left_out_direct = left_out_other_district = 0
    left_out_by_reason: dict[str, int] = {}
    latencies = []
    for appeal, truth in appeals:
        while pending and pending[0][0] <= appeal.received_at:
            _when, _order, address, unit, weight = heapq.heappop(pending)
            taught += teach(unit, address, weight=weight)
        places.locate("")  # reads the names learned since (production: every few minutes), untimed
        t0 = time.perf_counter()
        result = triage.triage(f"{appeal.title}\n{appeal.content}", appeal.address)
        elapsed = (time.perf_counter() - t0) * 1000
        handler = truth or handling_unit(route, appeal)
        wrong = False
        if truth is None:
            left_out += 1
            reason = why_unknown(appeal)
            left_out_by_reason[reason] = left_out_by_reason.get(reason, 0) + 1
            if result.direct:
                left_out_direct += 1
                unit = route.by_id.get(result.unit_id)
                district = unit.district_code if unit is not None else ""
                in_district = district in ("", "370100", appeal.district_code)
                wrong = bool(appeal.district_code) and not in_district
                left_out_other_district += wrong
        else:
            latencies.append(elapsed)
            measured += 1
            category_right += result.category == appeal.category_code
            if result.direct:
                direct += 1
                correct += result.unit_id == truth.pk
                wrong = result.unit_id != truth.pk
            if dump is not None and not (result.direct and result.unit_id == truth.pk):
                dump.write(json.dumps(outcome(appeal, truth, result), ensure_ascii=False) + "\n")
        if continuous and appeal.address:
            if wrong:
                later(appeal.received_at + RETURNED_AFTER, appeal.address, route.by_id[result.unit_id], -1)
            if handler is not None:
                later(appeal.received_at + HANDLED_AFTER, appeal.address, handler, 1)
    latencies.sort()
    return {
        "direct_rate": round(direct / measured, 4),
        "direct_correct_rate": round(correct / direct, 4) if direct else None,
        "direct_wrong": direct - correct,
        "appeals": measured,
        "left_out_no_known_unit": left_out,
        "left_out_by_reason": dict(sorted(left_out_by_reason.items(), key=lambda item: -item[1])),
        "left_out_dispatched_directly": left_out_direct,
        "left_out_direct_other_district": left_out_other_district,
        "place_names_learned_while_measuring": taught,
        "category_accuracy": round(category_right / measured, 4),
        "triage_p50_ms": round(latencies[len(latencies) // 2], 3),
    }


# Called once Django is set up (main() imports the models).


class _Addresses(list):
    """The appeals of a handled case as ``hooks.learn_places`` reads them: their addresses."""

    def exclude(self, address=None):
        return _Addresses(a for a in self if a != address)

    def values_list(self, *fields, flat=False):
        return list(self)


class _HandledCase:
    def __init__(self, address: str):
        self.appeals = _Addresses([address])


def teach(unit, address: str, *, weight: int) -> int:
    """What production learns when ``unit`` completes (weight 1) or returns (weight −1) a case with this
    address: exactly ``hooks.learn_places`` (a station its township, a brigade or a branch its district,
    only a unit with one such jurisdiction, city units nothing)."""
    from minsheng.routing.hooks import learn_places

    return learn_places(_HandledCase(address), unit, weight=weight)


def snapshot() -> list[tuple]:
    """The learned place names as they are now."""
    from minsheng.routing.models import PlaceAlias

    return list(PlaceAlias.objects.values_list("name", "division_id", "support", "manual"))


def restore(rows: list[tuple]) -> None:
    """Put the learned place names back as ``snapshot`` found them, and have the locator read them."""
    from minsheng.routing import places
    from minsheng.routing.models import PlaceAlias

    PlaceAlias.objects.all().delete()
    PlaceAlias.objects.bulk_create(
        PlaceAlias(name=name, division_id=code, support=support, manual=manual)
        for name, code, support, manual in rows
    )
    places.locator().refresh_aliases()


def right_unit(route, appeal):
    """The unit that answers for the appeal's true place and category, or None when it cannot be known."""
    from minsheng.routing.triage import PLACE_FREE
    from minsheng.units.models import UnitFunction

    category = route.categories.get(appeal.category_code)
    if category is None:
        return None
    function = category.handler_function
    if function in PLACE_FREE:
        return route.by_function.get(function)
    if function == UnitFunction.TRAFFIC:
        return route.brigade_of_district.get(appeal.district_code)
    return route.station_of_township.get(appeal.township_code)


def handling_unit(route, appeal):
    """The unit that handles an appeal in production, as far as the generator's truth tells: the right
    unit, else, for an appeal whose district alone is known (a landmark, a road, a township no station
    covers), the district's branch. None when even the district is unknown."""
    return right_unit(route, appeal) or route.branch_of_district.get(appeal.district_code)


def why_unknown(appeal) -> str:
    """Why the right unit of an appeal cannot be known from the generator's truth."""
    if not appeal.district_code and not appeal.township_code:
        return "road across districts" if appeal.address else "no place"
    if not appeal.township_code:
        return "district only (landmark or road)"
    return "township no station covers"


def outcome(appeal, truth, result) -> dict:
    """One measured appeal as --dump writes it."""
    from minsheng.routing import places

    text = f"{appeal.title}\n{appeal.content}"
    return {
        "category": appeal.category_code,
        "predicted_category": result.category,
        "category_confidence": result.category_confidence,
        "address": appeal.address,
        "true_place": [appeal.district_code, appeal.township_code, appeal.community_code],
        "located": [result.district, result.township, result.community],
        "location_confidence": result.location_confidence,
        "district_confidence": places.locate(appeal.address, text).district_confidence,
        "right_unit": truth.name,
        "unit": result.unit,
        "direct": result.direct,
        "reasons": result.reasons,
        "text": text[:200],
    }


if __name__ == "__main__":
    main()
