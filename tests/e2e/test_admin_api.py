"""The admin console's JSON API against a real ferryd, while real clients (ftplib, curl,
ferry) log in, transfer and are kicked: sessions, transfers, bans, reload, events, logins
with cookie + CSRF token or bearer token."""

import ftplib
import os
import subprocess
import time
import unittest

from console_harness import ConsoleTestCase, EventStream
from ferryd_harness import FERRY, FERRYD, close_quietly, fs_local_mounts

BIG = 64 * 1024 * 1024


class ConsoleApiTest(ConsoleTestCase):
    server_kwargs = dict(mounts=fs_local_mounts(writable=True))

    @classmethod
    def prepare(cls, server):
        with open(os.path.join(server.user_root(), "big.bin"), "wb") as f:
            f.truncate(BIG)

    def session_gone(self, id, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(x["id"] != id for x in self.api.sessions()):
                return True
            time.sleep(0.05)
        return False

    def ftp(self):
        f = self.server.ftp()
        self.addCleanup(close_quietly, f)
        return f

    def test_status_names_the_server(self):
        status, _, body = self.api.get("/api/v1/status")
        self.assertEqual(status, 200)
        self.assertEqual(body["listen"][0]["address"], f"127.0.0.1:{self.server.port}")
        self.assertEqual({p["name"] for p in body["plugins"]}, {"auth_file", "fs_local", "send_png"})
        self.assertGreaterEqual(body["config"]["generation"], 1)
        self.assertIn("limit", body["sessions"])

    def test_a_logged_in_client_appears_and_is_kicked(self):
        f = self.ftp()
        f.cwd("/welcome")
        s = self.api.wait_for_session(lambda s: s["user"] == self.server.user and s["cwd"] == "/welcome")
        self.assertIsNotNone(s, self.api.sessions())
        self.assertEqual(s["peer"], "127.0.0.1")
        self.assertFalse(s["tls"])
        self.assertEqual(s["command"], "CWD")
        status, _, body = self.api.request("DELETE", f"/api/v1/sessions/{s['id']}")
        self.assertEqual(status, 200, body)
        self.assertTrue(self.session_gone(s["id"]))  # the close runs on the session's own thread
        with self.assertRaises((EOFError, ConnectionError, ftplib.error_temp, OSError)):
            f.voidcmd("NOOP")
        self.assertEqual(self.api.request("DELETE", f"/api/v1/sessions/{s['id']}")[0], 404)
        self.assertIsNotNone(self.server.wait_for_log(rf"admin: operator op disconnected session {s['id']}"))

    def test_a_download_shows_progress_and_is_aborted(self):
        f = self.ftp()
        f.voidcmd("TYPE I")
        conn = f.transfercmd("RETR /big.bin")
        self.addCleanup(conn.close)
        conn.recv(65536)  # then read nothing: the server's send stalls part way
        s = self.api.wait_for_session(lambda s: s["transfer"] and s["transfer"]["path"] == "/big.bin")
        self.assertIsNotNone(s)
        t = s["transfer"]
        self.assertEqual((t["verb"], t["direction"], t["size"]), ("RETR", "download", BIG))
        self.assertGreater(t["bytes"], 0)
        self.assertLess(t["bytes"], BIG)
        status, _, _ = self.api.request("DELETE", f"/api/v1/sessions/{s['id']}/transfer")
        self.assertEqual(status, 200)
        conn.close()
        with self.assertRaises(ftplib.error_temp) as caught:  # 426 for the aborted transfer
            f.voidresp()
        self.assertTrue(str(caught.exception).startswith("426"), caught.exception)
        f.voidcmd("NOOP")  # the session carries on
        self.assertEqual(self.api.request("DELETE", f"/api/v1/sessions/{s['id']}/transfer")[0], 409)

    def test_curl_and_ferry_downloads_show_in_the_event_stream(self):
        stream = EventStream(self.server.console_host, self.server.console_port, self.api.token)
        self.addCleanup(stream.close)
        self.assertEqual(stream.status, 200)
        subprocess.run(["curl", "-sS", "-u", f"{self.server.user}:{self.server.password}",
                        f"ftp://127.0.0.1:{self.server.port}/welcome/ferry.png", "-o", os.devnull],
                       check=True, timeout=30)
        hit = stream.wait_for(lambda e, d: e == "event" and d["event"] == "transfer" and d["path"] == "/welcome/ferry.png")
        self.assertIsNotNone(hit)
        self.assertEqual(hit[1]["bytes"], len(self.server.image_bytes))
        out = os.path.join(self.server.dir, "got.png")
        env = dict(os.environ, FERRY_PASSWORD=self.server.password)
        subprocess.run([FERRY, "get", self.server.url("/welcome/ferry.png"), "-o", out], check=True, env=env,
                       timeout=30, capture_output=True)
        hit = stream.wait_for(lambda e, d: e == "event" and d["event"] == "transfer" and d.get("verb") == "RETR")
        self.assertIsNotNone(hit)
        state = stream.wait_for(lambda e, d: e == "state")
        self.assertIn("sessions", state[1]["sessions"])

    def test_bans_are_listed_added_and_lifted(self):
        status, _, body = self.api.request("POST", "/api/v1/bans", {"address": "192.0.2.7", "seconds": 120,
                                                                     "reason": "<script>x</script>"})
        self.assertEqual(status, 201, body)
        bans = self.api.get("/api/v1/bans")[2]["bans"]
        ban = next(b for b in bans if b["address"] == "192.0.2.7")
        self.assertTrue(100 <= ban["seconds_left"] <= 120)
        self.assertEqual(ban["reason"], "by operator op: <script>x</script>")
        status, _, body = self.api.request("POST", "/api/v1/bans", {"address": "2001:db8::1:2:3:4"})
        self.assertEqual((status, body["address"]), (201, "2001:db8::/64"))
        self.assertEqual(self.api.request("DELETE", "/api/v1/bans/2001:db8::%2F64")[0], 200)
        self.assertEqual(self.api.request("DELETE", "/api/v1/bans/192.0.2.7")[0], 200)
        self.assertEqual(self.api.request("DELETE", "/api/v1/bans/192.0.2.7")[0], 404)
        self.assertEqual(self.api.request("POST", "/api/v1/bans", {"address": "not-an-ip"})[0], 400)
        self.assertEqual(self.api.request("POST", "/api/v1/bans", {"address": "192.0.2.8", "seconds": 0})[0], 400)

    def test_reload_reports_success_and_refusal_with_position(self):
        status, _, body = self.api.request("POST", "/api/v1/reload")
        self.assertEqual(status, 200, body)
        generation = body["generation"]
        with open(self.server.config_path) as f:
            good = f.read()
        try:
            with open(self.server.config_path, "w") as f:
                f.write(good.replace('banner = "ferry ready"', "banner = 12"))
            status, _, body = self.api.request("POST", "/api/v1/reload")
            self.assertEqual(status, 422, body)
            self.assertFalse(body["ok"])
            self.assertRegex(body["error"], r"config\.toml:\d+:\d+: 'banner' must be a string")
        finally:
            with open(self.server.config_path, "w") as f:
                f.write(good)
        status, _, body = self.api.request("POST", "/api/v1/reload")
        self.assertEqual((status, body["generation"]), (200, generation + 1))

    def test_cookie_logins_need_the_csrf_token_to_change_anything(self):
        client = self.server.api()
        client.use_cookie = True
        cookie = client.set_cookie_header
        self.assertIn("HttpOnly", cookie)
        self.assertIn("SameSite=Strict", cookie)
        self.assertNotIn("Secure", cookie)  # plain HTTP here
        self.assertEqual(client.get("/api/v1/sessions")[0], 200)  # reading needs no token
        self.assertEqual(client.request("POST", "/api/v1/reload", csrf=False)[0], 403)
        self.assertEqual(client.request("POST", "/api/v1/reload", headers={"X-CSRF-Token": "0" * 64})[0], 403)
        self.assertEqual(client.request("POST", "/api/v1/bans", {"address": "192.0.2.9"}, csrf=False)[0], 403)
        self.assertEqual(client.request("POST", "/api/v1/reload")[0], 200)
        # Logged out, the cookie is worth nothing.
        self.assertEqual(client.request("POST", "/api/v1/logout")[0], 200)
        status, _, body = client.get("/api/v1/sessions")
        self.assertEqual(status, 401)
        self.assertIn("expired", body["error"])

    def test_nothing_without_a_login(self):
        anonymous = self.server.api(login=False)
        for method, path in [("GET", "/api/v1/status"), ("GET", "/api/v1/sessions"), ("GET", "/api/v1/events"),
                             ("DELETE", "/api/v1/sessions/1"), ("POST", "/api/v1/reload"), ("GET", "/metrics"),
                             ("GET", "/api/v1/bans")]:
            self.assertEqual(anonymous.request(method, path)[0], 401, path)
        anonymous.token = "f" * 64
        self.assertEqual(anonymous.get("/api/v1/status")[0], 401)
        status, headers, body = anonymous.get("/")
        self.assertEqual(status, 200)
        self.assertIn("script-src 'self'", headers["content-security-policy"])

    def test_ferryd_who_kick_ban_unban_reload(self):
        f = self.ftp()
        f.cwd("/welcome")
        s = self.api.wait_for_session(lambda s: s["user"] == self.server.user and s["cwd"] == "/welcome")
        env = dict(os.environ, FERRY_CONSOLE=self.server.console_url(), FERRY_OPERATOR=self.server.operator,
                   FERRY_PASSWORD=self.server.operator_password)

        def ferryd(*args):
            return subprocess.run([FERRYD, *args, "--config", self.server.config_path], env=env, capture_output=True,
                                  text=True, timeout=30, stdin=subprocess.DEVNULL)

        who = ferryd("who")
        self.assertEqual(who.returncode, 0, who.stderr)
        self.assertRegex(who.stdout, rf"(?m)^{s['id']}\s+{self.server.user}\s+127\.0\.0\.1")
        r = ferryd("ban", "192.0.2.10", "60")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "banned 192.0.2.10 for 60 s"), r.stderr)
        r = ferryd("unban", "192.0.2.10")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = ferryd("unban", "192.0.2.10")
        self.assertEqual(r.returncode, 1)
        self.assertIn("not banned", r.stderr)
        r = ferryd("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"reloaded: configuration generation \d+")
        r = ferryd("kick", str(s["id"]))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(self.session_gone(s["id"]))
        with self.assertRaises((EOFError, ConnectionError, ftplib.error_temp, OSError)):
            f.voidcmd("NOOP")
        bad = subprocess.run([FERRYD, "who", "--config", self.server.config_path],
                             env=dict(env, FERRY_PASSWORD="wrong"), capture_output=True, text=True, timeout=30)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("login refused (HTTP 401)", bad.stderr)


if __name__ == "__main__":
    unittest.main()
