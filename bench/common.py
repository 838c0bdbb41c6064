"""What the benchmarks that compare a page with the ceiling share: closed-loop HTTP clients
against a gunicorn on 127.0.0.1 (bench/booking_load.py starts it), and their summary line.

The ceiling is a bare Django view on the same server in the same run: `/favicon.ico`, a
function view that redirects, with no session and no query; what this server answers at best.
"""

import asyncio
import statistics
import time

from bench.booking_load import percentile

CEILING_PATH = "/favicon.ico"
CEILING_STATUS = 301


async def fetch(port, path, cookie=None):
    """GET `path` over a fresh connection (gunicorn's sync workers close it), with `cookie` as
    the Cookie header; (status, seconds, headers as text)."""
    cookie_line = f"Cookie: {cookie}\r\n" if cookie else ""
    head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{cookie_line}Connection: close\r\n\r\n"
    started = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(head.encode())
        response = await asyncio.wait_for(reader.read(), timeout=60)
        writer.close()
        status = int(response.split(b"\r\n", 1)[0].split()[1])
        headers = response.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        return status, time.perf_counter() - started, headers
    except (TimeoutError, OSError, IndexError, ValueError) as error:
        return f"error {type(error).__name__}", time.perf_counter() - started, ""


def run(port, jobs, clients):
    """Closed loop: `clients` connections, each sending its next job (path, cookie) when
    answered. Returns ([(status, seconds, headers)], wall seconds)."""

    async def main():
        queue = list(reversed(jobs))
        results = []

        async def client():
            while queue:
                results.append(await fetch(port, *queue.pop()))

        await asyncio.gather(*(client() for _ in range(clients)))
        return results

    started = time.perf_counter()
    results = asyncio.run(main())
    return results, time.perf_counter() - started


def summary(name, results, wall, expected):
    """Print one line; {"rate": requests/s, "p95": ms, "ok": all answers as expected}."""
    latencies = [r[1] * 1000 for r in results]
    wrong = [r[0] for r in results if r[0] != expected]
    rate, p95 = len(results) / wall, percentile(latencies, 0.95)
    print(
        f"{name}: {len(results)} in {wall:.2f} s ({rate:.0f}/s), "
        f"p50 {statistics.median(latencies):.1f} ms, p95 {p95:.1f} ms, "
        f"unexpected answers {len(wrong)}{' ' + str(sorted(set(map(str, wrong)))) if wrong else ''}"
    )
    return {"rate": rate, "p95": p95, "ok": not wrong}
