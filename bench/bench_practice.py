"""Personal practice pages in process (Flask test client, SQLite): what drawing the mood charts on the server costs.

Measures the mood page with 90 days logged (two SVG charts, two summaries, averages) against the practice
overview and the guide index (baselines, same run), and one journal write (screening included) against one mood
write. No target was set in issue 9; this records where the time goes so a regression is visible.
Usage: python -m bench.bench_practice [--runs 5] [--requests 200]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import timedelta

from bench.common import in_process_app, median, per_request_ms, write_result

PASSWORD = "bench password 123"


def _arrange() -> None:
    from forum.extensions import db
    from forum.models import MoodEntry
    from forum.services import accounts
    from forum.services.practice.days import utc_today

    person = accounts.register("bench_person", PASSWORD)
    today = utc_today()
    for n in range(90):
        tags = ["saw_someone"] if n % 3 == 0 else []
        db.session.add(MoodEntry(user_id=person.id, day=today - timedelta(days=n), mood=1 + n % 10, tags=tags))
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with in_process_app() as app, app.app_context():
        _arrange()
        client = app.test_client()
        client.post("/login", data={"username": "bench_person", "password": PASSWORD})

        def get(path: str) -> Callable[[], object]:
            def fetch() -> object:
                response = client.get(path)
                assert response.status_code == 200, (path, response.status_code)
                return response

            return fetch

        cases: dict[str, Callable[[], object]] = {
            "GET /guides/ (baseline)": get("/guides/"),
            "GET /me/practice (baseline)": get("/me/practice"),
            "GET /me/mood, 90 days logged": get("/me/mood"),
            "POST /me/mood (replace today)": lambda: client.post("/me/mood", data={"mood": "6"}),
            "POST /me/journal/new (screened)": lambda: client.post(
                "/me/journal/new", data={"body": "Called my sister after the argument. It went better."}
            ),
        }
        for action in cases.values():  # warm caches, the guide loader and the screening model
            action()
        results = {
            name: [per_request_ms(action, args.requests) for _ in range(args.runs)] for name, action in cases.items()
        }
        from forum import charts
        from forum.services.accounts import find_user
        from forum.services.practice import mood
        from forum.services.practice.days import utc_today

        user = find_user("bench_person")
        assert user is not None
        entries, summary = mood.window(user, 90, utc_today())
        points = [charts.DayPoint(e.day, e.mood, marked="saw_someone" in e.tags) for e in entries]

        def draw() -> object:
            return charts.daily_line_chart(
                "c", title="t", desc=summary.text, start=summary.start, end=summary.end, points=points
            )

        results["charts.daily_line_chart, 90 points (no HTTP)"] = [
            per_request_ms(draw, args.requests) for _ in range(args.runs)
        ]
    rows = "\n".join(
        f"| {name} | {median(values):.2f} | {min(values):.2f} | {max(values):.2f} |" for name, values in results.items()
    )
    body = (
        f"{args.runs} runs of {args.requests} requests each, in process (Flask test client, SQLite file), "
        "one signed-in person with 90 days of moods.\n\n"
        "| case | median ms/request | best run | worst run |\n|---|---|---|---|\n" + rows
    )
    path = write_result("practice", "Personal practice pages", body)
    print(body)
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
