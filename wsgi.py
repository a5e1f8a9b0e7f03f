"""The only module a server imports: `gunicorn -k gevent -w 1 wsgi:app`."""

import os

from forum import create_app
from forum.extensions import socketio

app = create_app()

if __name__ == "__main__":
    # Development server with WebSocket support (threading mode); production uses gunicorn + gevent.
    socketio.run(
        app,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "5000")),
        allow_unsafe_werkzeug=True,
    )
