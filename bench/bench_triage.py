"""Moderation triage pages in process (Flask test client, SQLite): what the queue and dashboard cost at volume.

Arranges 2,000 open review items (a quarter urgent) and 600 decisions across three model versions, then times
the queue page's live-refresh fragment, the queue API, and the dashboard, against the guide index (baseline,
same run). No target was set in issue 4; this records where the time goes so a regression is visible.
Usage: python -m bench.bench_triage [--runs 5] [--requests 20]
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from functools import partial

from bench.common import in_process_app, median, per_request_ms, write_result

PASSWORD = "bench password 123"
ITEMS = 2000
DECISIONS = 600


def _arrange() -> None:
    from forum.extensions import db
    from forum.models import ReviewDecision, ReviewItem, ScreeningRecord, utcnow
    from forum.services import accounts

    person = accounts.register("bench_person", PASSWORD)
    accounts.register("bench_mod", PASSWORD, role="moderator")
    now = utcnow()
    for n in range(ITEMS):
        urgent = n % 4 == 0
        screening = ScreeningRecord(
            target_type="post",
            target_id=n + 1,
            level="crisis" if urgent else "concern",
            score=0.9 if urgent else 0.4,
            signals=[{"kind": "lexicon", "label": "x", "phrase": "phrase", "start": 0, "end": 6}],
            model_version=f"bench-v{n % 3}",
        )
        db.session.add(screening)
        db.session.flush()
        created = now - timedelta(minutes=n)
        item = ReviewItem(
            target_type="user",
            target_id=person.id,
            subject_user_id=person.id,
            priority="urgent" if urgent else "review",
            level=screening.level,
            score=screening.score,
            reasons=[{"source": "screening", "kind": screening.level}],
            screening_id=screening.id,
            waiting_since=created,
            created_at=created,
            first_action_at=created + timedelta(minutes=n % 50) if n % 2 else None,
        )
        db.session.add(item)
        db.session.flush()
        if n < DECISIONS:
            db.session.add(
                ReviewDecision(
                    item_id=item.id,
                    screening_id=screening.id,
                    action="reach_out" if n % 5 else "mark_safe",
                    label=screening.level if n % 5 else "none",
                    screened_level=screening.level,
                    model_version=screening.model_version,
                    agrees=bool(n % 5),
                )
            )
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    with in_process_app() as app:
        with app.app_context():
            _arrange()
        client = app.test_client()
        client.post("/login", data={"username": "bench_mod", "password": PASSWORD})
        targets = {
            "guide index (baseline)": "/guides/",
            "queue fragment, a page of 50 of 2,000 open items": "/moderation/queue/list",
            "queue API, a page of 50 of 2,000 open items": "/api/v1/moderation/queue",
            "dashboard (counts, percentiles, agreement)": "/moderation/dashboard",
        }
        results: dict[str, list[float]] = {name: [] for name in targets}
        for _ in range(args.runs):
            for name, path in targets.items():
                response = client.get(path)
                assert response.status_code == 200, (path, response.status_code)
                results[name].append(per_request_ms(partial(client.get, path), args.requests))
    lines = ["| page | median ms per request | runs |", "|---|---|---|"]
    for name, values in results.items():
        lines.append(f"| {name} | {median(values):.1f} | {len(values)} |")
    body = (
        f"Medians over {args.runs} runs of {args.requests} requests each, in process, SQLite, one thread.\n\n"
        + "\n".join(lines)
    )
    written = write_result("triage", "Moderation triage: queue and dashboard cost", body)
    print(body)
    print(f"written to {written}")


if __name__ == "__main__":
    main()
