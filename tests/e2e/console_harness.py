"""A ferryd with its admin console on, and a small HTTP client for the console's API.

    with ConsoleServer() as srv:
        api = srv.api()                  # logged in as the operator (bearer token)
        api.get("/api/v1/sessions")      # -> (status, headers, parsed JSON or text)

The console's port comes from ferryd's "console on http://127.0.0.1:PORT/" line.
"""

import http.client
import json
import os
import re
import socket
import time
import unittest

from ferryd_harness import FerryServer, make_users_file, NET_TIMEOUT

OPERATOR = "op"
_CONSOLE_RE = re.compile(r"console on https?://(\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d+)/")


class ConsoleServer(FerryServer):
    def __init__(self, admin_extra="", operator_password=None, **kw):
        self.operator = OPERATOR
        self.operator_password = operator_password or "op-" + os.urandom(6).hex()
        self.admin_extra = admin_extra
        extra = kw.pop("config_extra", "")
        kw["config_extra"] = extra + ('\n[admin]\nlisten = ["127.0.0.1:0"]\noperators = "operators.passwd"\n'
                                      + admin_extra + "\n")
        super().__init__(**kw)

    def write_files(self):
        super().write_files()
        make_users_file(os.path.join(self.dir, "operators.passwd"), self.operator, self.operator_password)
        return self

    def start(self):
        super().start()
        line = self.wait_for_log(r"console on ", timeout=5)
        if not line:
            raise RuntimeError("ferryd did not log its console address; log:\n" + self.log_text())
        m = _CONSOLE_RE.search(line)
        self.console_host, self.console_port = m.group(1).strip("[]"), int(m.group(2))
        return self

    def console_url(self):
        return f"http://{self.console_host}:{self.console_port}"

    def api(self, login=True):
        client = ConsoleClient(self.console_host, self.console_port)
        if login:
            status, _, body = client.login(self.operator, self.operator_password)
            if status != 200:
                raise AssertionError(f"operator login failed: {status} {body}")
        return client


class ConsoleTestCase(unittest.TestCase):
    """One ferryd with its console per test class, `cls.api` logged in; a clean SIGTERM exit
    and no password in the log are checked at the end."""

    server_kwargs = {}

    @classmethod
    def prepare(cls, server):
        """Files to add beside the configuration before ferryd starts."""

    @classmethod
    def setUpClass(cls):
        cls.server = ConsoleServer(**cls.server_kwargs)
        try:
            cls.prepare(cls.server.write_files())
            cls.server.start()
            cls.api = cls.server.api()
        except BaseException:
            cls.server.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        rc = cls.server.stop()
        log = cls.server.log_text()
        cls.server.cleanup()
        if rc != 0:
            raise AssertionError(f"ferryd exit code {rc!r}; log:\n{log}")
        if cls.server.operator_password in log or cls.server.password in log:
            raise AssertionError("a password appears in ferryd's log")


class ConsoleClient:
    """One request per connection (simple and independent); bearer token or cookie."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.token = None
        self.cookie = None
        self.csrf = None
        self.use_cookie = False

    def login(self, user, password):
        status, headers, body = self.request("POST", "/api/v1/login", {"user": user, "password": password},
                                             auth=False)
        if status == 200:
            self.token, self.csrf = body["token"], body["csrf"]
            cookie = headers.get("set-cookie", "")
            self.cookie = cookie.split(";", 1)[0]
            self.set_cookie_header = cookie
        return status, headers, body

    def request(self, method, path, body=None, headers=None, auth=True, raw_body=None, csrf=True):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=NET_TIMEOUT)
        try:
            h = dict(headers or {})
            data = raw_body
            if body is not None:
                data = json.dumps(body).encode()
                h.setdefault("Content-Type", "application/json")
            if auth and self.use_cookie and self.cookie:
                h.setdefault("Cookie", self.cookie)
                if csrf and method not in ("GET", "HEAD") and self.csrf:
                    h.setdefault("X-CSRF-Token", self.csrf)
            elif auth and self.token:
                h.setdefault("Authorization", "Bearer " + self.token)
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            text = r.read().decode("utf-8", errors="replace")
            out_headers = {k.lower(): v for k, v in r.getheaders()}
            parsed = text
            if out_headers.get("content-type", "").startswith("application/json"):
                parsed = json.loads(text)
            return r.status, out_headers, parsed
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def sessions(self):
        status, _, body = self.get("/api/v1/sessions")
        assert status == 200, (status, body)
        return body["sessions"]

    def wait_for_session(self, predicate, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for s in self.sessions():
                if predicate(s):
                    return s
            time.sleep(0.05)
        return None


def raw_exchange(host, port, data, timeout=NET_TIMEOUT, read=True):
    """Send raw bytes; return what came back until the server closed (or timeout)."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(data)
        if not read:
            return b""
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except socket.timeout:
            pass
        return out


class EventStream:
    """GET /api/v1/events; yields (event, data) pairs as they arrive."""

    def __init__(self, host, port, token):
        self.sock = socket.create_connection((host, port), timeout=NET_TIMEOUT)
        self.sock.sendall((f"GET /api/v1/events HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
                           "Accept: text/event-stream\r\n\r\n").encode())
        self.buffer = b""
        head = self._until(b"\r\n\r\n")
        self.status = int(head.split(b" ", 2)[1])

    def _until(self, marker):
        while marker not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the event stream closed")
            self.buffer += chunk
        part, _, self.buffer = self.buffer.partition(marker)
        return part

    def next(self):
        block = self._until(b"\n\n").decode("utf-8", errors="replace")
        event, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        return event, json.loads("\n".join(data)) if data else None

    def wait_for(self, predicate, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.1, deadline - time.monotonic()))
            event, data = self.next()
            if predicate(event, data):
                return event, data
        return None

    def close(self):
        self.sock.close()
