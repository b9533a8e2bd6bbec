"""Routing benchmark: how many generated Jinan appeals the platform dispatches with no human step, and
how many of those reach the right unit.

    .venv/bin/python bench/routing.py [--appeals 5000] [--seed 20261127]

The appeals come from the demo generator with a seed the tests do not use; addresses are written the
way people write them (district left out, township without 街道, an estate alone, a landmark …). The
right unit of an appeal is the one that answers for its true place and category: the station of its
township, the traffic brigade of its district, or the city unit of a place-free category (出入境, 车驾管,
督察). Appeals whose right unit cannot be known (no place in truth for a place-bound category) are not
counted, and the script says how many were left out.

Before measuring, the platform learns place names from 90 days of earlier handled appeals (another
seed), as it does in production from cases stations accepted; categories are predicted by the
platform's categoriser (a trained model when ``--train`` is given, trained on that same history, else
the cold-start keyword rules).
"""

import argparse
import csv
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--appeals", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--history-seed", type=int, default=11)
    parser.add_argument("--train", action="store_true", help="train the categoriser on the history first")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="minsheng-routing-"))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    os.environ["DJANGO_SETTINGS_MODULE"] = "minsheng.settings"
    import django

    django.setup()
    from _common import write_result
    from django.core.management import call_command

    from minsheng.demo.generator import generate_appeals
    from minsheng.routing import categoriser, places, triage
    from minsheng.units.models import UnitFunction

    call_command("migrate", verbosity=0)
    call_command("load_org", "jinan", verbosity=0)
    fixtures = ROOT / "minsheng" / "divisions" / "fixtures" / "jinan"
    divisions = list(csv.DictReader((fixtures / "divisions.csv").open(encoding="utf-8")))
    communities = list(csv.DictReader((fixtures / "communities.csv").open(encoding="utf-8")))

    started = time.monotonic()
    history = list(
        generate_appeals(
            days=90,
            seed=args.history_seed,
            end=dt.date(2026, 8, 31),
            divisions=divisions,
            communities=communities,
        )
    )
    learned = sum(places.learn(a.address, a.township_code) for a in history if a.address and a.township_code)
    print(f"地名学习：{len(history)} 件历史诉求，{learned} 条地名佐证（{time.monotonic() - started:.0f} 秒）")
    if args.train:
        from minsheng.classification.model import retrain_from_labels

        model = retrain_from_labels(
            [f"{a.title}\n{a.content}" for a in history], [a.category_code for a in history]
        )
        categoriser.reset()
        categoriser._categoriser = categoriser.Categoriser(model=model, rules=categoriser.categoriser().rules)
        print("分类模型：用历史诉求训练")
    route = triage.router()

    def right_unit(appeal):
        category = route.categories.get(appeal.category_code)
        if category is None:
            return None
        function = category.handler_function
        if function in triage.PLACE_FREE:
            return route.by_function.get(function)
        if function == UnitFunction.TRAFFIC:
            return route.brigade_of_district.get(appeal.district_code)
        return route.station_of_township.get(appeal.township_code)

    end = dt.date(2026, 11, 20)
    measured = left_out = direct = correct = category_right = 0
    latencies = []
    for appeal in generate_appeals(
        days=max(60, args.appeals // 15),
        seed=args.seed,
        end=end,
        divisions=divisions,
        communities=communities,
    ):
        if measured >= args.appeals:
            break
        truth = right_unit(appeal)
        if truth is None:
            left_out += 1
            continue
        t0 = time.perf_counter()
        result = triage.triage(f"{appeal.title}\n{appeal.content}", appeal.address)
        latencies.append((time.perf_counter() - t0) * 1000)
        measured += 1
        category_right += result.category == appeal.category_code
        if result.direct:
            direct += 1
            correct += result.unit_id == truth.pk
        if measured % 1000 == 0:
            print(f"  {measured}/{args.appeals}")
    latencies.sort()
    figures = {
        "direct_rate": round(direct / measured, 4),
        "direct_correct_rate": round(correct / direct, 4) if direct else None,
        "appeals": measured,
        "left_out_no_known_unit": left_out,
        "category_accuracy": round(category_right / measured, 4),
        "triage_p50_ms": round(latencies[len(latencies) // 2], 3),
        "categoriser": "trained on history" if args.train else "keyword rules (cold start)",
    }
    write_result("routing", figures)


if __name__ == "__main__":
    main()
