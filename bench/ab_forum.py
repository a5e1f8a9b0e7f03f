"""Two commits' forum pages side by side on this machine: a server of each, measured in turns.

The machine's speed moves from hour to hour (README, "Speed"), so a change is best judged against the code
before it in the same run. This checks out --base in a git worktree, gives each side a database made by its
own bench_forum.prepare_database, starts each with the deployment's gunicorn settings (two gevent workers,
as bench_forum does), signs in to both, and then runs wrk on the chosen page against each side in turn,
alternating which goes first, round after round. The report gives each side's median and the ratio of
every round: a ratio is taken a few seconds apart, so the machine's drift cancels out of it.
Both servers stay up for the whole run; the one not being measured is idle. Both run on this checkout's
.venv: a base whose pinned dependencies differ is measured with today's.

Usage: python -m bench.ab_forum --base COMMIT [--rounds 6] [--seconds 8] [--page thread|board] [--no-record]
(the working tree, uncommitted changes included, is the other side)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from bench.bench_forum import USER_AGENT, check_posts_shown, server_env, session_cookie, start_server, wrk
from bench.common import ROOT, add_no_record, median, publish

PORTS = {"base": 5631, "head": 5632}
PAGES = {"thread": "thread page (50 posts shown, signed in)", "board": "board page"}


def worktree(commit: str, into: Path) -> Path:
    subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(into), commit], cwd=ROOT, check=True)
    return into


def remove_worktree(path: Path) -> None:
    subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, check=False)


def prepare(code: Path, url: str) -> dict[str, object]:
    """The side's own bench_forum.prepare_database, run with its own code (its models make the schema)."""
    script = (
        "import json, sys; from bench.bench_forum import prepare_database; "
        "print(json.dumps(prepare_database(sys.argv[1])))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, url], cwd=code, env=_env(code, url), capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _env(code: Path, url: str) -> dict[str, str]:
    return {**server_env(url), "PYTHONPATH": str(code)}


def run(args: argparse.Namespace) -> str:
    workdir = Path(tempfile.mkdtemp(prefix="hearth-ab-"))
    results: dict[str, list[float]] = {"base": [], "head": []}
    with ExitStack() as stack:
        base = worktree(args.base, workdir / "base")
        stack.callback(remove_worktree, base)
        targets = {}
        for side, code in (("base", base), ("head", ROOT)):
            url = f"sqlite:///{workdir / f'{side}.db'}"
            setup = prepare(code, url)
            server = start_server(_env(code, url), PORTS[side], workdir / f"{side}.log", code)
            stack.callback(server.wait, 20)
            stack.callback(server.terminate)
            targets[side] = _target(args.page, PORTS[side], setup)
        for url, headers in targets.values():
            wrk(url, 3, args.connections, headers)  # warm: kept HTML, connections, the first minute's answers
        for round_number in range(args.rounds):
            order = ("base", "head") if round_number % 2 == 0 else ("head", "base")
            for side in order:
                url, headers = targets[side]
                results[side].append(wrk(url, args.seconds, args.connections, headers)["rps"])
    return report(args, results)


def _target(page: str, port: int, setup: dict[str, object]) -> tuple[str, dict[str, str]]:
    base = f"http://127.0.0.1:{port}"
    if page == "board":
        return f"{base}/b/grief-and-loss", {}
    headers = {"Cookie": session_cookie(port), "User-Agent": USER_AGENT}
    url = f"{base}/t/{setup['thread_id']}?page=1"
    check_posts_shown(url, headers)
    return url, headers


def report(args: argparse.Namespace, results: dict[str, list[float]]) -> str:
    head_commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    ratios = [head / base for base, head in zip(results["base"], results["head"], strict=True)]
    lines = [
        f"{PAGES[args.page]}: base {args.base} against the working tree (HEAD {head_commit.stdout.strip()}), "
        f"gunicorn -c deploy/gunicorn.conf.py -w 2 each, SQLite; wrk -t2 -c{args.connections} "
        f"-d{args.seconds}s, {args.rounds} rounds, sides in alternating order.",
        "",
        "| side | req/s (median) | runs |",
        "|---|---|---|",
        *(f"| {side} | {median(runs):.0f} | {', '.join(f'{r:.0f}' for r in runs)} |" for side, runs in results.items()),
        "",
        f"Working tree / base, per round: {', '.join(f'{r:.2f}' for r in ratios)}; median {median(ratios):.2f}.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True, help="the commit to compare the working tree with")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--page", choices=sorted(PAGES), default="thread")
    add_no_record(parser)
    args = parser.parse_args()
    publish(f"ab-forum-{args.page}", f"A/B: {PAGES[args.page]}", run(args), record=not args.no_record)


if __name__ == "__main__":
    main()
