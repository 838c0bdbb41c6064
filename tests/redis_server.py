"""A throwaway redis-server for tests that stop, freeze or restart Redis.

The shared Redis (the one in TEST_REDIS_URL) is never stopped: each test that needs to break
Redis starts its own on a free port with these fixtures.
"""

import os
import shutil
import signal
import socket
import subprocess
import time

import kombu.pools
import pytest
import redis

from portal.celery import app as celery_app
from portal.celery import reset_publish_pools
from portal.redis_breaker import reset_all as reset_breakers


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A throwaway redis-server: no persistence, so a restart starts empty."""

    def __init__(self, executable, port):
        self.executable = executable
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [
                self.executable,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        for _ in range(200):  # ready in milliseconds; the bound only stops a hang
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a frozen server cannot act on TERM
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def client(self):
        return redis.Redis(port=self.port)

    def freeze(self):
        """Pause the server: it still accepts connections but answers nothing (as in a
        network partition)."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self):
        os.kill(self.process.pid, signal.SIGCONT)


@pytest.fixture
def redis_server():
    executable = shutil.which("redis-server")
    if executable is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is not installed")
        pytest.skip("redis-server is not installed")
    server = RedisServer(executable, free_port())
    server.start()
    yield server
    server.stop()


def reset_broker_connections(app):
    """Drop cached broker connections so the next publish uses app.conf.broker_url.

    Celery keeps a connection pool (app.pool) and a producer pool (app.amqp.producer_pool),
    both built from the broker URL on first use, so changing the URL alone would keep
    publishing to the old broker. The pools themselves live in kombu's process-wide
    registry, keyed by URL: closing one without clearing the registry would hand the next
    user of that URL a closed pool ("Acquire on closed pool").
    """
    kombu.pools.reset()
    reset_publish_pools()
    reset_breakers()
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


@pytest.fixture
def broker(redis_server, monkeypatch, celery_eager):
    """The portal's Celery app publishing to `redis_server`, for real (not eagerly)."""
    # These environment variables win over app.conf.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    monkeypatch.delenv("CELERY_BROKER_WRITE_URL", raising=False)
    conf = celery_app.conf
    saved = {
        "task_always_eager": conf.task_always_eager,
        "broker_url": conf.broker_url,
        "broker_transport_options": conf.broker_transport_options,
    }
    conf.task_always_eager = False
    conf.broker_url = redis_server.url
    conf.broker_transport_options = {"visibility_timeout": 3600}
    reset_broker_connections(celery_app)
    yield redis_server
    for name, value in saved.items():
        setattr(conf, name, value)
    reset_broker_connections(celery_app)
