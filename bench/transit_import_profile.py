"""Where the time of a GTFS import goes: wall time, this process's CPU and the PostgreSQL
server's CPU for each phase of `import_gtfs`, on a feed of your choosing.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_scratch \
        .venv/bin/python bench/transit_import_profile.py /tmp/gtfs-1m [--repeat 2] [--cprofile]

The database must be migrated and disposable (each run imports a new version of feed
`profile`; older versions are cleaned up by the importer as usual). The server's CPU is read
from /proc for the backend serving this connection plus the server's background processes
(WAL writer, checkpointer, ...), so PostgreSQL must run on this machine. On SQLite only wall
and Python CPU are given.
"""

import argparse
import cProfile
import functools
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from transit import importer, partitions  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def _server_pids():
    """The backend of this connection and the postmaster's other children that are not
    client backends (they serve other people's connections)."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE backend_type NOT IN "
            "('client backend', 'autovacuum worker')"
        )
        background = [r[0] for r in cursor.fetchall()]
    return [backend, *background]


class Clock:
    def __init__(self):
        self.rows = []
        self.pids = []

    def server(self):
        return sum(_proc_cpu(pid) for pid in self.pids)

    def wrap(self, owner, name, label=None):
        original = getattr(owner, name)
        clock = self

        @functools.wraps(original)
        def timed(*args, **kwargs):
            if not clock.pids:
                clock.pids = _server_pids()
            wall, cpu, server = time.monotonic(), time.process_time(), clock.server()
            try:
                return original(*args, **kwargs)
            finally:
                clock.rows.append(
                    (
                        label or name,
                        time.monotonic() - wall,
                        time.process_time() - cpu,
                        clock.server() - server,
                    )
                )

        setattr(owner, name, timed)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("feed")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--cprofile", action="store_true", help="also print the top functions")
    args = parser.parse_args()

    clock = Clock()
    for name in dir(importer._Importer):
        if name.startswith(("load_", "interpolate", "finish", "index_")):
            clock.wrap(importer._Importer, name)
    for name in ("swap_in", "cleanup_versions", "_fail"):
        clock.wrap(importer, name)
    if hasattr(partitions, "_index_and_attach"):
        clock.wrap(partitions, "_index_and_attach", "  (stop times: index, attach)")

    for run in range(args.repeat):
        clock.rows.clear()
        clock.pids = []
        load = os.getloadavg()
        wall, cpu = time.monotonic(), time.process_time()
        profiler = cProfile.Profile() if args.cprofile else None
        if profiler:
            profiler.enable()
        version, report = importer.import_gtfs("profile", args.feed)
        if profiler:
            profiler.disable()
        wall, cpu = time.monotonic() - wall, time.process_time() - cpu
        rows = report.total_rows
        print(
            f"run {run + 1}: {rows:,} rows, {wall:.1f} s wall, {rows / wall:,.0f} rows/s, "
            f"{cpu:.1f} s Python CPU, load before {load[0]:.1f}, "
            f"after {os.getloadavg()[0]:.1f} ({connection.vendor})"
        )
        print(f"  {'phase':28} {'wall s':>8} {'python s':>9} {'server s':>9}")
        for name, w, c, s in clock.rows:
            if w >= 0.05:
                print(f"  {name:28} {w:8.2f} {c:9.2f} {s:9.2f}")
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    main()
