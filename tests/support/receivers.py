"""Notification receivers the alert tests start on loopback and stop afterwards: an HTTP
server that records JSON posts (optionally failing the first ones with 503) and an SMTP server
(aiosmtpd) that records messages."""
import contextlib
import email
import email.policy
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import List


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        server = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with server.lock:
            server.attempts += 1
            fail = server.attempts <= server.fail_first
            if not fail:
                server.received.append({"path": self.path,
                                        "content_type": self.headers.get("Content-Type"),
                                        "body": json.loads(body)})
        self.send_response(503 if fail else 200)
        self.end_headers()
        self.wfile.write(b"busy" if fail else b"ok")

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def http_receiver(fail_first: int = 0):
    """Yields the server: .url, .received (list of {"path", "content_type", "body"}),
    .attempts."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.received, server.attempts, server.fail_first = [], 0, fail_first
    server.lock = threading.Lock()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


class _Mailbox:
    def __init__(self):
        self.messages: List[email.message.Message] = []
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's naming
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content,
                                                       policy=email.policy.default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def smtp_receiver():
    """Yields (port, mailbox): a real SMTP server on 127.0.0.1; mailbox.messages fills up."""
    from aiosmtpd.controller import Controller
    mailbox = _Mailbox()
    # The controller checks readiness by connecting to its own port, so it needs a real one.
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, mailbox
    finally:
        controller.stop()
