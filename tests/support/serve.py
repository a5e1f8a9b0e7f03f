"""Run a real Hearth server for tests: `python -m tests.support.serve PORT` (config from FORUM_* env)."""

from __future__ import annotations

import sys

from forum import create_app
from forum.extensions import db, socketio
from forum.seeding import seed_boards


def main() -> None:
    port = int(sys.argv[1])
    app = create_app()
    with app.app_context():
        db.create_all()
        seed_boards()
    socketio.run(app, host="127.0.0.1", port=port, allow_unsafe_werkzeug=True, use_reloader=False, log_output=False)


if __name__ == "__main__":
    main()
