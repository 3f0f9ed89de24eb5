"""A webhook receiver for the tests: verifies every delivery with the Standard Webhooks
reference library (PyPI `standardwebhooks`), answers as configured, and writes one JSON
line per request to stdout.

Control: PUT /__config with JSON {"secret": "whsec_...", "fail_first": 3, "fail_status": 500,
"hang_first_ms": 0}. Prints "LISTENING <port>" once ready.
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

state = {"secret": None, "fail_first": 0, "fail_status": 500, "hang_first_ms": 0, "seen": 0}
lock = threading.Lock()


def emit(record):
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _body(self):
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length)

    def do_PUT(self):
        body = json.loads(self._body() or b"{}")
        with lock:
            state.update(body)
        self.send_response(204)
        self.end_headers()

    def do_POST(self):
        body = self._body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        with lock:
            state["seen"] += 1
            n = state["seen"]
            secret = state["secret"]
            fail_first = state["fail_first"]
            fail_status = state["fail_status"]
            hang = state["hang_first_ms"] if n == 1 else 0
        record = {"n": n, "id": headers.get("webhook-id"), "path": self.path}
        try:
            payload = Webhook(secret).verify(body, headers)
            record["verified"] = True
            record["type"] = payload.get("type")
            record["data"] = payload.get("data")
        except Exception as e:  # noqa: BLE001 - any failure means "not verified"
            record["verified"] = False
            record["error"] = repr(e)
        if hang:
            emit(dict(record, hanging=True))
            time.sleep(hang / 1000.0)
        status = fail_status if n <= fail_first else 200
        record["answered"] = status
        emit(record)
        reply = ("ok %s" % record["id"]).encode() if status == 200 else b"not today"
        try:
            self.send_response(status)
            self.send_header("content-type", "text/plain")
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)
        except (BrokenPipeError, ConnectionResetError):
            pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
emit({"listening": server.server_address[1]})
server.serve_forever()
