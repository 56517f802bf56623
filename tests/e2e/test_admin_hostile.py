"""What was tried against the admin listener, and what each case gets: oversized headers
and bodies, a slowloris, malformed requests, bad JSON, wrong methods, a missing or forged
CSRF token, too many connections, wrong passwords until the address is banned. After each,
the console and the FTP side still serve."""

import ftplib
import socket
import time
import unittest

from console_harness import ConsoleServer, ConsoleTestCase, raw_exchange
from ferryd_harness import NET_TIMEOUT, close_quietly


def status_of(response):
    if not response.startswith(b"HTTP/1.1 "):
        return None
    return int(response[9:12])


class HostileRequestsTest(ConsoleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.host, cls.port = cls.server.console_host, cls.server.console_port

    def tearDown(self):
        # Whatever a case did, the console and FTP still answer.
        self.assertEqual(self.api.get("/api/v1/status")[0], 200)
        f = self.server.ftp()
        close_quietly(f)

    def raw(self, data, **kw):
        return raw_exchange(self.host, self.port, data, **kw)

    def test_oversized_header_gets_431(self):
        request = b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\nX-Junk: " + b"a" * 20000 + b"\r\n\r\n"
        self.assertEqual(status_of(self.raw(request)), 431)

    def test_endless_header_lines_get_431(self):
        request = b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(2000)) + b"\r\n"
        self.assertEqual(status_of(self.raw(request)), 431)

    def test_oversized_body_gets_413(self):
        body = b"{" + b" " * 100000 + b"}"
        request = (b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   b"Content-Length: %d\r\n\r\n" % len(body)) + body
        self.assertEqual(status_of(self.raw(request)), 413)

    def test_malformed_requests_get_400(self):
        for junk in [b"HELLO\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
                     b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,  # a TLS hello on plain HTTP
                     b"POST /api/v1/login HTTP/1.1\r\nContent-Length: -5\r\n\r\n"]:
            with self.subTest(junk=junk[:30]):
                self.assertEqual(status_of(self.raw(junk)), 400)
        # Chunked bodies are refused whole, before any chunk is parsed.
        for chunked in [b"POST /api/v1/login HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                        b"POST /api/v1/login HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"]:
            with self.subTest(chunked=chunked[-20:]):
                self.assertEqual(status_of(self.raw(chunked)), 411)

    def test_slowloris_is_cut_off(self):
        started = time.monotonic()
        with socket.create_connection((self.host, self.port), timeout=NET_TIMEOUT + 10) as s:
            s.sendall(b"GET /api/v1/status HTTP/1.1\r\n")
            answer = b""
            try:
                for _ in range(40):  # a header line every half second, never the end
                    s.sendall(b"X-A: b\r\n")
                    time.sleep(0.5)
            except OSError:
                pass
            s.settimeout(5)
            try:
                while chunk := s.recv(4096):
                    answer += chunk
            except OSError:
                pass
        took = time.monotonic() - started
        self.assertEqual(status_of(answer), 408, answer[:100])
        self.assertLess(took, 16)

    def test_idle_connection_without_a_request_is_closed(self):
        with socket.create_connection((self.host, self.port), timeout=20) as s:
            started = time.monotonic()
            self.assertEqual(s.recv(100), b"")  # closed, no answer
            self.assertLess(time.monotonic() - started, 15)

    def test_bad_json_wrong_type_and_wrong_method(self):
        api = self.api
        self.assertEqual(api.request("POST", "/api/v1/bans", raw_body=b"{not json",
                                     headers={"Content-Type": "application/json"})[0], 400)
        self.assertEqual(api.request("POST", "/api/v1/bans", [1, 2])[0], 400)
        self.assertEqual(api.request("POST", "/api/v1/bans", {"address": 5})[0], 400)
        self.assertEqual(api.request("POST", "/api/v1/bans", raw_body=b"address=1.2.3.4",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})[0], 415)
        status, headers, _ = api.request("PUT", "/api/v1/status")
        self.assertEqual((status, headers.get("allow")), (405, "GET"))
        self.assertEqual(api.request("DELETE", "/api/v1/sessions")[0], 405)
        self.assertEqual(api.request("GET", "/api/v1/reload")[0], 405)
        self.assertEqual(api.request("GET", "/api/v1/nothing")[0], 404)
        self.assertEqual(api.request("GET", "/../../etc/passwd")[0], 404)
        self.assertEqual(api.request("DELETE", "/api/v1/sessions/abc")[0], 404)
        self.assertEqual(api.request("DELETE", "/api/v1/sessions/99999999999999999999999")[0], 404)
        login = self.server.api(login=False)
        self.assertEqual(login.request("POST", "/api/v1/login", raw_body=b"[]",
                                       headers={"Content-Type": "application/json"})[0], 400)

    def test_forged_or_missing_csrf_token_is_refused(self):
        client = self.server.api()
        client.use_cookie = True
        forged = client.csrf[:-1] + ("1" if client.csrf[-1] == "0" else "0")  # one digit off
        for headers in [{}, {"X-CSRF-Token": ""}, {"X-CSRF-Token": forged}, {"X-CSRF-Token": client.token}]:
            with self.subTest(headers=headers):
                status, _, body = client.request("POST", "/api/v1/bans", {"address": "192.0.2.50"}, headers=headers,
                                                 csrf=False)
                self.assertEqual(status, 403, body)
        self.assertEqual([b for b in self.api.get("/api/v1/bans")[2]["bans"] if b["address"] == "192.0.2.50"], [])

    def test_too_many_connections_get_503(self):
        held = []
        try:
            for _ in range(64):
                held.append(socket.create_connection((self.host, self.port), timeout=NET_TIMEOUT))
            time.sleep(0.3)
            answer = self.raw(b"GET /api/v1/status HTTP/1.1\r\n\r\n")
            self.assertEqual(status_of(answer), 503)
        finally:
            for s in held:
                s.close()
        deadline = time.monotonic() + 5
        while self.api.get("/api/v1/status")[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.1)


class WrongPasswordsTest(unittest.TestCase):
    """Wrong operator passwords are slowed as FTP logins are, and ban the address after
    server.ban_failures of them (the same bans as FTP: the FTP port refuses it too)."""

    def test_wrong_passwords_are_slowed_then_banned(self):
        with ConsoleServer(server_extra="ban_failures = 3\nban_window = 600\nban_duration = 60\n") as srv:
            client = srv.api(login=False)
            for attempt in range(3):
                started = time.monotonic()
                status, _, body = client.login(srv.operator, "wrong-" + str(attempt))
                self.assertEqual(status, 401, body)
                self.assertGreaterEqual(time.monotonic() - started, 0.9)
            status, headers, body = client.login(srv.operator, srv.operator_password)  # right, but too late
            self.assertEqual(status, 429, body)
            self.assertEqual(headers.get("retry-after"), "60")
            self.assertEqual(client.login("nobody-such", "x")[0], 429)
            with self.assertRaises(ftplib.error_temp):
                srv.ftp()
            self.assertIsNotNone(srv.wait_for_log(r"banned 127\.0\.0\.1 for 60 s after 3 failed logins"))
            self.assertIsNotNone(srv.wait_for_log(r"admin: console login refused for op from 127\.0\.0\.1"))
            self.assertNotIn(srv.operator_password, srv.log_text())


if __name__ == "__main__":
    unittest.main()
