"""GET /metrics: valid Prometheus text (promtool check metrics), counters that match what
the test did (N logins, M bytes each way, refusals), no user names, and public only with
[admin] metrics_public = true."""

import ftplib
import io
import re
import shutil
import subprocess
import unittest

from console_harness import ConsoleServer
from ferryd_harness import close_quietly, fs_local_mounts


def parse(text):
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


class MetricsTest(unittest.TestCase):
    def test_counters_match_what_the_clients_did(self):
        with ConsoleServer(mounts=fs_local_mounts(writable=True)) as srv:
            api = srv.api()
            logins, downloads, upload = 3, 2, b"x" * 100000
            for i in range(logins):
                f = srv.ftp()
                if i < downloads:
                    f.retrbinary("RETR /welcome/ferry.png", lambda _: None)
                if i == 0:
                    f.storbinary("STOR up.bin", io.BytesIO(upload))
                close_quietly(f)
            for _ in range(2):
                f = srv.ftp(login=False)
                with self.assertRaises(ftplib.error_perm):
                    f.login(srv.user, "wrong")
                close_quietly(f)
            status, headers, text = api.get("/metrics")
            self.assertEqual(status, 200)
            self.assertTrue(headers["content-type"].startswith("text/plain; version=0.0.4"))
            if shutil.which("promtool"):
                check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True,
                                       timeout=30)
                self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
            else:
                self.fail("promtool is missing (Debian package prometheus, tests/deps.d/console.list)")
            m = parse(text)
            self.assertEqual(m['ferry_logins_total{result="ok"}'], logins)
            self.assertEqual(m['ferry_logins_total{result="refused"}'], 2)
            self.assertEqual(m["ferry_login_duration_seconds_count"], logins + 2)
            self.assertEqual(m['ferry_transfers_total{direction="download",result="ok"}'], downloads)
            self.assertEqual(m['ferry_transfer_bytes_total{direction="download"}'], downloads * len(srv.image_bytes))
            self.assertEqual(m['ferry_transfers_total{direction="upload",result="ok"}'], 1)
            self.assertEqual(m['ferry_transfer_bytes_total{direction="upload"}'], len(upload))
            self.assertEqual(m['ferry_transfer_duration_seconds_count{direction="download"}'], downloads)
            self.assertEqual(m['ferry_transfer_duration_seconds_bucket{direction="download",le="+Inf"}'], downloads)
            self.assertEqual(m["ferry_connections_total"], logins + 2)
            self.assertEqual(m["ferry_bans_active"], 0)
            self.assertEqual(m["ferry_config_generation"], 1)
            self.assertIn('ferry_build_info{version="', text)
            self.assertNotIn(srv.user, text)  # no user-name labels
            # A refusal by reason, and a ban by the operator.
            api.request("POST", "/api/v1/bans", {"address": "192.0.2.1"})
            m = parse(api.get("/metrics")[2])
            self.assertEqual(m["ferry_bans_active"], 1)
            self.assertEqual(api.get("/metrics", auth=False)[0], 401)  # not public by default

    def test_metrics_public_needs_no_login(self):
        with ConsoleServer(admin_extra="metrics_public = true\n") as srv:
            anonymous = srv.api(login=False)
            status, _, text = anonymous.get("/metrics")
            self.assertEqual(status, 200)
            self.assertIn("ferry_sessions_active 0", text)
            self.assertEqual(anonymous.get("/api/v1/status")[0], 401)  # the rest still needs a login


if __name__ == "__main__":
    unittest.main()
