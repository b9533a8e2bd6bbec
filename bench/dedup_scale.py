"""Scale of the duplicate detector: index build time, query latency and peak memory at a million
appeals → ``bench/results/dedup_scale.json`` (``build_s``, ``query_p99_ms``, ``peak_rss_mb``).

Synthetic appeals are recombined from the clauses and place names of the Teddy Cup messages when
``../shared/data/teddycup2020`` is there (read at run time, nothing stored), else from templates.
About one appeal in six is a retelling of an earlier one (clauses dropped and reordered, another
channel, same phone), so the index holds real duplicates and the queries find some.

Queries: half are retellings of indexed appeals, half new appeals; each is timed end to end
(feature extraction, candidate lookup, scoring, and the reasons intake reads).
``--compare-datasketch N`` also builds ``datasketch.MinHashLSH`` over the first N appeals' bigrams,
for the record of why the detector has its own numpy LSH.

    .venv/bin/python bench/dedup_scale.py --n 50000          # development, ~1 minute
    .venv/bin/python bench/dedup_scale.py                    # 1,000,000: run once, in background
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import write_result  # noqa: E402
from dedup_labelled import DATA, clauses, load_messages  # noqa: E402

from minsheng.dedup.detector import NEW, Detector, Record  # noqa: E402
from minsheng.dedup.places import extract_places  # noqa: E402
from minsheng.dedup.text import bigram_keys, clean_text, warm_up  # noqa: E402

TZ = timezone(timedelta(hours=8))
CHANNELS = ["hotline_12345", "chief_mailbox", "phone", "letter", "visit", "police_110"]
TEMPLATE_PLACES = [
    f"{a}{b}{s}"
    for a in "金银锦翠春东明天凤玉桂梅松湖江山云星"
    for b in "华阳绣园晖方珠龙凰兰香林柏滨海月"
    for s in ("小区", "花园", "路", "广场", "家园")
]
TEMPLATE_CLAUSES = [
    "晚上噪音很大影响休息",
    "楼下烧烤店油烟直排",
    "路灯坏了很久没人修",
    "小区门口车辆乱停乱放",
    "工地夜间施工扰民",
    "有人在楼道里堆放杂物",
    "物业乱收停车费",
    "下水道堵塞污水横流",
    "菜市场周边占道经营",
    "希望有关部门尽快处理",
    "已经反映多次没有结果",
    "老人孩子深受其害",
    "广场舞音响声音太大",
    "电动车在楼道充电有安全隐患",
    "学校门口交通拥堵",
]


def rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def material(seed: int) -> tuple[list[str], list[str], str]:
    """(clauses, place names, source) to recombine appeals from."""
    if not DATA.exists():
        return TEMPLATE_CLAUSES, TEMPLATE_PLACES, "templates"
    pool_clauses: list[str] = []
    places: set[str] = set()
    for m in load_messages():
        pool_clauses += [c for c in clauses(m.detail) if 6 <= len(c) <= 80]
        places.update(
            p.name for p in extract_places(m.title, None) if p.kind in ("community", "road", "landmark")
        )
    places_list = sorted(places)
    random.Random(seed).shuffle(places_list)
    return pool_clauses, places_list, "teddycup2020 clauses recombined"


class Synth:
    """Deterministic stream of synthetic appeals."""

    def __init__(self, seed: int, n: int):
        self.rng = random.Random(seed)
        self.clauses, self.places, self.source = material(seed)
        self.n = n
        self.start = datetime(2023, 1, 1, tzinfo=TZ)
        self.persons = [
            f"1{self.rng.choice('3456789')}{self.rng.randrange(10**9):09d}" for _ in range(max(10, n // 3))
        ]
        self.recent: list[tuple[str, list[str], str, str]] = []  # (place, clauses, phone, title)

    def _new(self) -> tuple[str, list[str], str, str]:
        rng = self.rng
        place = rng.choice(self.places)
        body = rng.sample(self.clauses, rng.randint(2, 6))
        title = place + rng.choice(["", "附近", "门口", "旁边"]) + body[0][: rng.randint(6, 14)]
        return place, body, rng.choice(self.persons), title

    def _retell(self, base: tuple[str, list[str], str, str]) -> tuple[str, list[str], str, str]:
        rng = self.rng
        place, body, phone, title = base
        body = body[:]
        if len(body) > 2:
            body.pop(rng.randrange(len(body)))
        rng.shuffle(body)
        return place, body, phone, rng.choice([title, "再次反映：" + title, title[: max(4, len(title) // 2)]])

    def record(self, i: int, base=None) -> Record:
        rng = self.rng
        if base is None and self.recent and rng.random() < 0.16:
            base = rng.choice(self.recent)
        item = self._retell(base) if base else self._new()
        if base is None:
            self.recent.append(item)
            if len(self.recent) > 2000:
                self.recent.pop(rng.randrange(len(self.recent)))
        place, body, phone, title = item
        text = title + "\n" + "，".join(body) + "。"
        when = self.start + timedelta(days=365 * i / self.n, minutes=rng.uniform(0, 600))
        return Record(
            id=f"S{i:07d}",
            text=text,
            time=when,
            phone=phone if rng.random() < 0.8 else None,
            place=place if rng.random() < 0.4 else None,
            channel=rng.choice(CHANNELS),
        )

    def stream(self) -> Iterator[Record]:
        for i in range(self.n):
            yield self.record(i)


def current_rss_mb() -> float:
    """Resident set size now (not the peak), in MiB."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def compare_datasketch(records: list[Record]) -> dict:
    """datasketch's MinHashLSH against this project's numpy MinHash + banded index, on the same
    bigram sets with the same 32 bands × 3 rows: time and memory of the LSH part alone."""
    from datasketch import MinHash, MinHashLSH

    from minsheng.dedup.index import BandIndex, MinHasher
    from minsheng.dedup.text import hash32

    shingles = [hash32(bigram_keys(clean_text(r.text))) for r in records]
    shingles = [s for s in shingles if len(s) >= 3]
    before = current_rss_mb()
    started = time.perf_counter()
    lsh = MinHashLSH(num_perm=96, params=(32, 3))
    for i, s in enumerate(shingles):
        mh = MinHash(num_perm=96, seed=1)
        mh.update_batch([int(x).to_bytes(4, "little") for x in s])
        lsh.insert(str(i), mh)
    ds_seconds = time.perf_counter() - started
    ds_mb = current_rss_mb() - before
    del lsh
    before = current_rss_mb()
    started = time.perf_counter()
    hasher, index = MinHasher(32, 3, seed=1), BandIndex(32, 48)
    # signatures in batches, one sort per band: how Detector.build does it
    keys = np.concatenate(
        [hasher.band_keys_many(shingles[lo : lo + 1000]) for lo in range(0, len(shingles), 1000)]
    )
    index.add_many(np.arange(len(shingles)), keys)
    own_seconds = time.perf_counter() - started
    n = len(shingles)
    return {
        "lsh_compare_n": n,
        "datasketch_us_per_appeal": round(ds_seconds / n * 1e6, 1),
        "datasketch_mb": round(ds_mb, 1),
        "numpy_lsh_us_per_appeal": round(own_seconds / n * 1e6, 1),
        "numpy_lsh_mb": round(index.memory_bytes() / 2**20, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--compare-datasketch", type=int, default=0, metavar="N")
    ap.add_argument("--persist", action="store_true", help="also time save() and load()")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    warm_up()
    synth = Synth(args.seed, args.n)
    print(
        f"material: {synth.source} ({len(synth.clauses):,} clauses, {len(synth.places):,} places)", flush=True
    )
    base_rss = rss_mb()
    started, cpu_started = time.perf_counter(), time.process_time()

    def progress(done: int) -> None:
        elapsed = time.perf_counter() - started
        print(f"  indexed {done:,}/{args.n:,} in {elapsed:.0f} s, peak RSS {rss_mb():.0f} MiB", flush=True)

    det = Detector.build(synth.stream(), progress=progress)
    build_s = time.perf_counter() - started
    build_cpu_s = time.process_time() - cpu_started
    print(f"build: {build_s:.1f} s for {len(det):,} appeals; peak RSS {rss_mb():.0f} MiB", flush=True)

    # queries: retellings of indexed appeals and new ones, timed end to end
    qrng = random.Random(args.seed + 1)
    queries = []
    for k in range(args.queries):
        if k % 2 == 0:
            base = qrng.choice(synth.recent)
            queries.append(synth.record(args.n + k, base=base))
        else:
            queries.append(synth.record(args.n + k, base=None))
    for q in queries[:50]:  # warm caches the way a running server has them
        det.query(q)
    times, cpu_times, linked = [], [], 0
    for q in queries:
        t0, c0 = time.perf_counter(), time.thread_time()
        matches = det.query(q)
        # the reasons intake reads (``dedup.service.decide``): the best match's and every link's or
        # suggestion's; a weak match's are worked out only when read
        for m in matches:
            if m is matches[0] or m.decision != NEW:
                m.reasons  # noqa: B018 - reading them is the work timed
        times.append((time.perf_counter() - t0) * 1000)
        cpu_times.append((time.thread_time() - c0) * 1000)
        linked += bool(matches and matches[0].decision == "link")
    times_a, cpu_a = np.array(times), np.array(cpu_times)
    figures = {
        "n": len(det),
        "build_s": round(build_s, 1),
        "build_us_per_appeal": round(build_s / max(1, len(det)) * 1e6, 1),
        "build_cpu_s": round(build_cpu_s, 1),
        "query_p50_ms": round(float(np.percentile(times_a, 50)), 2),
        "query_p99_ms": round(float(np.percentile(times_a, 99)), 2),
        "query_max_ms": round(float(times_a.max()), 2),
        # CPU time of the querying thread: what the query costs when the shared cores are busy
        "query_cpu_p50_ms": round(float(np.percentile(cpu_a, 50)), 2),
        "query_cpu_p99_ms": round(float(np.percentile(cpu_a, 99)), 2),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "queries": len(times),
        "queries_linked": linked,
        "peak_rss_mb": round(rss_mb(), 1),
        "rss_before_build_mb": round(base_rss, 1),
        "index_arrays_mb": round(det.memory_bytes() / 2**20, 1),
        "material": synth.source,
    }
    print(
        f"query p50 {figures['query_p50_ms']} ms, p99 {figures['query_p99_ms']} ms "
        f"(CPU p99 {figures['query_cpu_p99_ms']} ms, load {figures['load_average_1min']}) "
        f"({linked}/{len(times)} linked); peak RSS {figures['peak_rss_mb']} MiB",
        flush=True,
    )
    if args.persist:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "index.npz"
            t0 = time.perf_counter()
            det.save(path)
            figures["save_s"] = round(time.perf_counter() - t0, 1)
            figures["file_mb"] = round(path.stat().st_size / 2**20, 1)
            del det
            t0 = time.perf_counter()
            det = Detector.load(path)
            figures["load_s"] = round(time.perf_counter() - t0, 1)
            figures["peak_rss_after_load_mb"] = round(rss_mb(), 1)
        print(
            f"save {figures['save_s']} s ({figures['file_mb']} MiB), load {figures['load_s']} s", flush=True
        )
    if args.compare_datasketch:
        sample = Synth(args.seed, args.compare_datasketch)
        figures.update(compare_datasketch(list(sample.stream())))
        print(
            f"LSH alone, {figures['lsh_compare_n']:,} appeals: datasketch "
            f"{figures['datasketch_us_per_appeal']} µs and {figures['datasketch_mb']} MiB, numpy "
            f"{figures['numpy_lsh_us_per_appeal']} µs and {figures['numpy_lsh_mb']} MiB",
            flush=True,
        )
    if args.no_write:
        print(figures)
    else:
        print(f"→ {write_result('dedup_scale', figures)}")


if __name__ == "__main__":
    main()
