"""A loopback OpenLineage endpoint for tests: validates every event it receives against the
OpenLineage schema and the privacy facet's schema."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from _support.openlineage_schema import validate_event


class Receiver:
    """A loopback OpenLineage endpoint: stores each POSTed event, answers 200 when it
    validates and 400 (with the error) when it does not."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.invalid: list[str] = []
        self.paths: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.paths.append(self.path)
                try:
                    event = json.loads(body)
                    validate_event(event)
                except Exception as e:
                    receiver.invalid.append(f"{type(e).__name__}: {e}")
                    self.send_response(400)
                else:
                    receiver.events.append(event)
                    self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
