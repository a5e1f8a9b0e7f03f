"""Real server processes for tests that need a socket, a browser, or a crash.

with LiveServer(database_url) as server:
    server.url                       # http://127.0.0.1:PORT
    with server.app.app_context():   # an in-process app on the same database, to arrange and inspect
        ...
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from flask import Flask

from forum import create_app

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    def __init__(
        self,
        database_url: str,
        *,
        env: dict[str, str] | None = None,
        port: int | None = None,
        production: bool = False,
        workers: int = 1,
    ) -> None:
        self.database_url = database_url
        # production: gunicorn with deploy/gunicorn.conf.py (gevent), as deployed; the database must be
        # made first (server.app). Otherwise the development server (threads), which makes it itself.
        self.production = production
        self.workers = workers  # gunicorn workers on the one port (production only)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra_env = env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self._app: Flask | None = None
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"hearth-live-{self.port}.log"

    def environment(self) -> dict[str, str]:
        # PORT, as `make run` passes it: the sockets accept this server's own origins by default, as a
        # newcomer's server on another port must (forum/config.py).
        env = {
            **os.environ,
            "FORUM_DATABASE_URL": self.database_url,
            "FORUM_SECRET_KEY": "live-test-secret-key",
            "FORUM_RATELIMIT_ENABLED": "0",
            "FORUM_ARGON2_PROFILE": "CHEAPEST",
            "PORT": str(self.port),
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("FORUM_CORS_ALLOWED_ORIGINS", None)
        env.update(self.extra_env)
        return env

    def start(self) -> LiveServer:
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self._command(),
            cwd=ROOT,
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.wait_until_up()
        return self

    def _command(self) -> list[str]:
        if not self.production:
            return [sys.executable, "-m", "tests.support.serve", str(self.port)]
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        config = str(ROOT / "deploy" / "gunicorn.conf.py")
        return [gunicorn, "-c", config, "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}", "wsgi:app"]

    def wait_until_up(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no cleanup, no flush, as a crash or a power cut would leave it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def app(self) -> Flask:
        """An in-process app on the server's database (no server of its own), for arranging and checking."""
        if self._app is None:
            self._app = create_app(
                {
                    "SQLALCHEMY_DATABASE_URI": self.database_url,
                    "SECRET_KEY": "live-test-secret-key",
                    "TESTING": True,
                    "ARGON2_PROFILE": "CHEAPEST",
                }
            )
        return self._app

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
