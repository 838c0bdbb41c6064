"""CPU time of one page-cache hit against the ceiling's, in-process: the steady figure behind
bench/cms_pages.py's ratio (that one moves with the machine's load; this one much less).

Django's WSGI handler, the whole middleware stack, DEBUG off, the page cache on Redis as
production runs it, called directly (no server, no sockets): the home page and an announcement
page for anonymous readers without cookies but the language (spread over the three), warm in
this process's memory, against the ceiling (`/favicon.ico`, bench/common.py). Prints the
process CPU time per request (best of 3 × --requests) and the ceiling's as a share of each
page's. Needs the demo content (`manage.py load_demo`).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench \\
        REDIS_URL=redis://127.0.0.1:6379/6 SECRET_KEY=bench-only \\
        .venv/bin/python bench/cms_hit_cpu.py
"""

import argparse
import io
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DEBUG"] = "false"

from django.conf import settings  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.core.management import call_command  # noqa: E402

from bench.booking_load import start_server  # noqa: E402, F401  (sets up Django for PostgreSQL)
from bench.cms_pages import pages  # noqa: E402
from bench.common import CEILING_PATH, CEILING_STATUS  # noqa: E402
from cms.page_cache import HEADER  # noqa: E402

LANGUAGES = [code for code, _name in settings.LANGUAGES]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="per page and round")
    args = parser.parse_args()
    call_command("collectstatic", interactive=False, verbosity=0)
    handler = WSGIHandler()

    def ask(path, language):
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_COOKIE": f"portal_language={language}",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
        }
        answer = {}

        def start_response(status, headers, exc_info=None):
            answer["status"] = int(status.split()[0])
            answer["cache"] = dict(headers).get(HEADER)

        b"".join(handler(environ, start_response))
        return answer

    targets = [*pages(), ("ceiling", CEILING_PATH)]
    for name, path in targets:  # warm: rendered, stored, then from Redis into memory
        for language in LANGUAGES:
            for _ in range(3):
                answer = ask(path, language)
        expected = {"status": CEILING_STATUS, "cache": None} if name == "ceiling" else None
        if answer != (expected or {"status": 200, "cache": "hit"}):
            sys.exit(f"{name} ({path}): {answer}, not a warm answer")
    print(f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    spent = {}
    for name, path in targets:
        best = None
        for _round in range(3):
            started = time.process_time()
            for i in range(args.requests):
                ask(path, LANGUAGES[i % len(LANGUAGES)])
            each = (time.process_time() - started) / args.requests
            best = each if best is None else min(best, each)
        spent[name] = best
    ceiling = spent.pop("ceiling")
    print(f"  ceiling ({CEILING_PATH}): {ceiling * 1e6:.0f} µs CPU per request")
    for name, each in spent.items():
        print(
            f"  {name}: {each * 1e6:.0f} µs CPU per hit; the ceiling's is {ceiling / each:.1%} "
            "of it"
        )


if __name__ == "__main__":
    main()
