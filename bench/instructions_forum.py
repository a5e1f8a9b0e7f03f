"""Instructions per thread page, counted by callgrind: a measure the machine's drift does not move.

Wall-clock benches on this shared machine vary by a factor of three from hour to hour. valgrind's callgrind
counts the instructions the Python process executes, which is the same for the same code, data and
environment whatever else the machine is doing. This serves the thread page of bench_forum (50 posts, a
signed-in member) in process through Flask's test client, and counts only the requests measured: a small
C helper built here with gcc toggles callgrind's collection around them. PYTHONHASHSEED is fixed, and the
requests run inside one minute, since kept answers are keyed by the minute (forum/post_views.py).
It counts Flask and the app (and the test client), not gunicorn, gevent or the kernel.

Usage: python -m bench.instructions_forum [--requests 100] [--base COMMIT] [--no-record]
(--base counts that commit too, from a git worktree, in the same run)
Needs valgrind and gcc, with valgrind's headers (Debian's valgrind package has them).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Only the standard library up here: the counted process runs this file with the measured code's own
# packages first on its path (PYTHONPATH), which for --base is an older commit without this bench.
THIS_FILE = Path(__file__).resolve()

TOGGLE_C = """
#include <valgrind/callgrind.h>
void hearth_start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; CALLGRIND_TOGGLE_COLLECT; }
void hearth_stop(void) { CALLGRIND_TOGGLE_COLLECT; CALLGRIND_DUMP_STATS; }
"""


def child(database: str, helper: str, requests: int) -> None:
    """Under callgrind: sign in, warm up, then serve `requests` thread pages with collection on."""
    from bench.bench_forum import PASSWORD, POSTS_SHOWN, USER_AGENT
    from forum import create_app

    toggle = ctypes.CDLL(helper)
    app = create_app({"SQLALCHEMY_DATABASE_URI": database, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
                      "ARGON2_PROFILE": "CHEAPEST", "POSTS_PER_PAGE": POSTS_SHOWN})  # fmt: skip
    client = app.test_client()
    headers = {"User-Agent": USER_AGENT}
    login = client.get("/login", headers=headers).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)  # type: ignore[union-attr]
    form = {"username": "bench_reader", "password": PASSWORD, "csrf_token": token}
    client.post("/login", data=form, headers=headers)
    page = "/t/1?page=1"
    for _ in range(30):
        shown = client.get(page, headers=headers).get_data(as_text=True)
    if shown.count('<li class="post') != POSTS_SHOWN or "Sign in</a> to reply" in shown:
        sys.exit("the thread page is not the signed-in page of 50 posts")
    while time.time() % 60 > 25:  # all measured requests inside one minute
        time.sleep(0.5)
    client.get(page, headers=headers)  # this minute's answers kept
    toggle.hearth_start()
    for _ in range(requests):
        client.get(page, headers=headers)
    toggle.hearth_stop()


def count(code: Path, requests: int, workdir: Path, helper: Path) -> int:
    """Instructions per request of this code's thread page, with a database its own code made."""
    database = f"sqlite:///{workdir / (code.name + '.db')}"
    env = {**os.environ, "PYTHONPATH": str(code), "PYTHONHASHSEED": "0"}
    prepare = "import sys; from bench.bench_forum import prepare_database; prepare_database(sys.argv[1])"
    subprocess.run([sys.executable, "-c", prepare, database], cwd=code, env=env, check=True, capture_output=True)
    out = workdir / f"callgrind.{code.name}.%p"
    command = [
        "valgrind", "--tool=callgrind", "--collect-atstart=no", "--instr-atstart=no", f"--callgrind-out-file={out}",
        sys.executable, str(THIS_FILE), "--child", database, str(helper), str(requests),
    ]  # fmt: skip
    subprocess.run(command, cwd=code, env=env, check=True, capture_output=True)
    total = 0
    for dump in workdir.glob(f"callgrind.{code.name}.*"):
        found = re.search(r"^summary: (\d+)", dump.read_text(errors="replace"), re.MULTILINE)
        total += int(found.group(1)) if found else 0
    return total // requests


def build_helper(workdir: Path) -> Path:
    source, helper = workdir / "toggle.c", workdir / "toggle.so"
    source.write_text(TOGGLE_C)
    subprocess.run(["gcc", "-shared", "-fPIC", "-O1", "-o", str(helper), str(source)], check=True)
    return helper


def run(args: argparse.Namespace) -> str:
    from bench.ab_forum import remove_worktree, worktree
    from bench.common import ROOT

    for tool in ("valgrind", "gcc"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed")
    workdir = Path(tempfile.mkdtemp(prefix="hearth-instructions-"))
    helper = build_helper(workdir)
    counts = {"working tree": count(ROOT, args.requests, workdir, helper)}
    if args.base:
        base = worktree(args.base, workdir / "base")
        try:
            counts[f"base {args.base}"] = count(base, args.requests, workdir, helper)
        finally:
            remove_worktree(base)
    lines = [
        f"Thread page, 50 posts shown, signed in; in process (Flask's test client), SQLite; {args.requests} "
        "requests counted after 31 warm ones; PYTHONHASHSEED=0; valgrind --tool=callgrind.",
        "",
        "| code | instructions per request |",
        "|---|---|",
        *(f"| {name} | {value:,} |" for name, value in counts.items()),
    ]
    if args.base:
        ratio = counts["working tree"] / counts[f"base {args.base}"]
        lines += ["", f"Working tree / base: {ratio:.3f}."]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    from bench.common import add_no_record, publish

    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--base", help="a commit to count in the same run")
    add_no_record(parser)
    args = parser.parse_args()
    publish("instructions-forum", "Instructions per thread page (callgrind)", run(args), record=not args.no_record)


if __name__ == "__main__":
    main()
