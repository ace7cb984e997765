"""A webhook receiver on 127.0.0.1, in a thread, as a brand's system would write one: it
verifies the signature with standardwebhooks, refuses a bad one with 401, and drops a
message whose webhook-id it has already taken."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Receiver:
    def __init__(self, *, delay: float = 0.0) -> None:
        self.port = free_port()
        self.secret: str | None = None
        self.delay = delay
        self.taken: list[dict[str, Any]] = []  # verified, first time seen
        self.repeats: list[str] = []  # verified webhook-ids seen before
        self.refused = 0  # bad signatures
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/laurel-hooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                if receiver.delay:
                    time.sleep(receiver.delay)
                try:
                    event = Webhook(receiver.secret or "").verify(body, dict(self.headers))
                except WebhookVerificationError:
                    with receiver._lock:
                        receiver.refused += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                msg_id = self.headers["webhook-id"]
                with receiver._lock:
                    if any(t["id"] == msg_id for t in receiver.taken):
                        receiver.repeats.append(msg_id)
                    else:
                        receiver.taken.append(
                            {"id": msg_id, "event": event, "headers": dict(self.headers)}
                        )
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def types(self) -> list[str]:
        return sorted(t["event"]["type"] for t in self.taken)

    def dumps(self) -> str:
        return json.dumps(self.taken, default=str)
