"""Generate a large, realistically shaped GTFS feed for the transit benchmarks.

    .venv/bin/python bench/transit_generate.py /tmp/gtfs-large --stop-times 5000000

The shape follows a big city bus network: a downtown corridor that most routes share (so one
stop is very busy), routes of 20-45 stops in both directions, weekday / Saturday / Sunday
services with holiday exceptions, peak and off-peak headways, trips past midnight, some
frequency-based routes, shapes, and translated stop names. Files are written as streams;
nothing is held in memory but the network itself. Never committed: write it to /tmp or var/.
"""

import argparse
import csv
import math
import random
import time
from pathlib import Path

WEEKDAY, SATURDAY, SUNDAY = "WK", "SA", "SU"
SERVICE_DAYS = {WEEKDAY: "1111100", SATURDAY: "0000010", SUNDAY: "0000001"}
CORRIDOR = 40


def headways(service):
    """(start minute, end minute, headway minutes) bands of a day, in GTFS time."""
    if service == WEEKDAY:
        return [
            (330, 420, 12),
            (420, 570, 6),
            (570, 990, 10),
            (990, 1170, 6),
            (1170, 1470, 15),
            (1470, 1560, 30),
        ]
    return [(360, 600, 15), (600, 1200, 12), (1200, 1500, 20)]


def writer(folder, name, header):
    handle = open(folder / name, "w", newline="", encoding="utf-8")  # noqa: SIM115
    w = csv.writer(handle, lineterminator="\n")
    w.writerow(header)
    return handle, w


def generate(folder, target_stop_times, seed=14):
    rng = random.Random(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    with open(folder / "agency.txt", "w", encoding="utf-8") as f:
        f.write("agency_id,agency_name,agency_url,agency_timezone,agency_lang\n")
        f.write("CB,City Bus,https://citybus.example,Asia/Hong_Kong,zh-Hant\n")
        f.write("NB,North Bus,https://northbus.example,Asia/Hong_Kong,zh-Hant\n")
    with open(folder / "feed_info.txt", "w", encoding="utf-8") as f:
        f.write("feed_publisher_name,feed_publisher_url,feed_lang,feed_start_date,feed_end_date\n")
        f.write("Bench,https://bench.example,zh-Hant,20260101,20261231\n")
    with open(folder / "calendar.txt", "w", encoding="utf-8") as f:
        f.write(
            "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
            "start_date,end_date\n"
        )
        for service, days in SERVICE_DAYS.items():
            f.write(f"{service},{','.join(days)},20260101,20261231\n")
    with open(folder / "calendar_dates.txt", "w", encoding="utf-8") as f:
        f.write("service_id,date,exception_type\n")
        for holiday in ("20260101", "20260217", "20260403", "20260406", "20260501", "20261001"):
            f.write(f"{WEEKDAY},{holiday},2\n{SUNDAY},{holiday},1\n")

    # Stops scattered around a centre; the first 40 form the downtown corridor.
    n_stops = 6000
    stops = []
    handle, w = writer(
        folder,
        "stops.txt",
        ["stop_id", "stop_code", "stop_name", "stop_lat", "stop_lon", "wheelchair_boarding"],
    )
    tr_handle, tr = writer(
        folder,
        "translations.txt",
        ["table_name", "field_name", "language", "translation", "record_id"],
    )
    syllables = "東西南北中山海灣河橋街道路站園村城門坑角灣頭尾新舊"
    for i in range(n_stops):
        angle = rng.random() * 2 * math.pi
        radius = 0.002 + rng.random() ** 0.7 * 0.25 if i >= CORRIDOR else 0.0005 * i
        lat, lon = 22.30 + radius * math.sin(angle), 114.17 + radius * math.cos(angle)
        name = "".join(rng.choice(syllables) for _ in range(rng.choice((2, 3, 4))))
        stop_id = f"S{i:05d}"
        stops.append((stop_id, lat, lon))
        w.writerow(
            [stop_id, f"{i:05d}", name, f"{lat:.6f}", f"{lon:.6f}", rng.choice((0, 1, 1, 2))]
        )
        tr.writerow(["stops", "stop_name", "en", f"Stop {i}", stop_id])
    handle.close()
    tr_handle.close()

    # Routes: patterns of 20-45 stops; half run along six stops of the corridor, so its
    # stops are served by ~60 patterns each (a few hundred departures an hour at peak).
    n_routes = 420
    patterns = []
    handle, w = writer(
        folder,
        "routes.txt",
        [
            "route_id",
            "agency_id",
            "route_short_name",
            "route_long_name",
            "route_type",
            "route_color",
        ],
    )
    shp_handle, shp = writer(
        folder,
        "shapes.txt",
        ["shape_id", "shape_pt_lat", "shape_pt_lon", "shape_pt_sequence", "shape_dist_traveled"],
    )
    for r in range(n_routes):
        length = rng.randint(20, 45)
        outer = rng.sample(range(CORRIDOR, n_stops), length)
        if rng.random() < 0.5:
            cut = rng.randint(4, length - 8)
            enter = rng.randint(0, CORRIDOR - 6)
            pattern = outer[:cut] + list(range(enter, enter + 6)) + outer[cut + 6 :]
        else:
            pattern = outer
        route_id = f"R{r:03d}"
        w.writerow(
            [
                route_id,
                "CB" if r % 3 else "NB",
                str(r + 1),
                f"Route {r + 1}",
                3,
                f"{rng.randrange(0xFFFFFF):06X}",
            ]
        )
        for direction in (0, 1):
            seq = pattern if direction == 0 else pattern[::-1]
            shape_id = f"{route_id}-{direction}"
            dist = 0.0
            for k, stop_index in enumerate(seq):
                _sid, lat, lon = stops[stop_index]
                if k:
                    _p, plat, plon = stops[seq[k - 1]]
                    dist += math.hypot(lat - plat, lon - plon) * 111_000
                shp.writerow([shape_id, f"{lat:.6f}", f"{lon:.6f}", k + 1, f"{dist:.1f}"])
            patterns.append((route_id, direction, shape_id, seq))
    handle.close()
    shp_handle.close()

    # Trips per pattern scaled to reach the target number of stop times.
    planned = 0
    for _route, _d, _s, seq in patterns:
        for service in SERVICE_DAYS:
            trips = sum((end - start) // hw for start, end, hw in headways(service))
            planned += trips * len(seq)
    scale = target_stop_times / planned
    trips_handle, tw = writer(
        folder,
        "trips.txt",
        [
            "route_id",
            "service_id",
            "trip_id",
            "trip_headsign",
            "direction_id",
            "shape_id",
            "wheelchair_accessible",
        ],
    )
    st_handle, sw = writer(
        folder,
        "stop_times.txt",
        [
            "trip_id",
            "arrival_time",
            "departure_time",
            "stop_id",
            "stop_sequence",
            "shape_dist_traveled",
            "timepoint",
        ],
    )
    fr_handle, fw = writer(
        folder,
        "frequencies.txt",
        ["trip_id", "start_time", "end_time", "headway_secs", "exact_times"],
    )
    written = n_trips = 0
    for p_index, (route_id, direction, shape_id, seq) in enumerate(patterns):
        frequency_based = p_index % 40 == 0
        for service in SERVICE_DAYS:
            starts = []
            for start, end, hw in headways(service):
                hw = max(2, round(hw / scale))
                starts += list(range(start, end, hw))
            if frequency_based:
                starts = starts[:1]
            for k, begin in enumerate(starts):
                trip_id = f"{route_id}-{direction}-{service}-{k:04d}"
                n_trips += 1
                tw.writerow(
                    [
                        route_id,
                        service,
                        trip_id,
                        f"Terminus {seq[-1]}",
                        direction,
                        shape_id,
                        rng.choice((1, 1, 1, 2)),
                    ]
                )
                if frequency_based:
                    fw.writerow([trip_id, "06:00:00", "23:00:00", 600, k % 2])
                    begin = 0
                t = begin * 60
                for n, stop_index in enumerate(seq):
                    hh, rest = divmod(t, 3600)
                    stamp = f"{hh:02d}:{rest // 60:02d}:{rest % 60:02d}"
                    sw.writerow([trip_id, stamp, stamp, stops[stop_index][0], n + 1, "", 1])
                    written += 1
                    t += rng.choice((60, 90, 120, 120, 150))
    trips_handle.close()
    st_handle.close()
    fr_handle.close()
    return {
        "stop_times": written,
        "trips": n_trips,
        "stops": n_stops,
        "routes": n_routes,
        "seconds": round(time.monotonic() - started, 1),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder")
    parser.add_argument("--stop-times", type=int, default=5_000_000)
    args = parser.parse_args()
    print(generate(args.folder, args.stop_times))


if __name__ == "__main__":
    main()
