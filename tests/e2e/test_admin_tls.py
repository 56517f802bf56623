"""The console over HTTPS ([admin] tls = true, the [tls] certificate): a Secure cookie, the
API through curl and `ferryd who`; and a reload that re-reads the operators file under
confinement (an operator added by `ferryd passwd` can log in after it)."""

import json
import os
import subprocess
import unittest

from console_harness import ConsoleServer
from ferryd_harness import FERRYD, make_test_certificate, make_users_file


class ConsoleOverTlsTest(unittest.TestCase):
    def test_https_console(self):
        srv = ConsoleServer(admin_extra="tls = true\n",
                            config_extra='[tls]\ncertificate = "cert.pem"\nprivate_key = "key.pem"\n')
        srv.write_files()
        make_test_certificate(srv.dir)
        with srv:
            self.assertIsNotNone(srv.wait_for_log(r"console on https://127\.0\.0\.1:\d+/"))
            url = f"https://127.0.0.1:{srv.console_port}"
            cert = os.path.join(srv.dir, "cert.pem")
            login = subprocess.run(["curl", "-sS", "-i", "--cacert", cert, "-H", "Content-Type: application/json",
                                    "-d", json.dumps({"user": srv.operator, "password": srv.operator_password}),
                                    url + "/api/v1/login"], capture_output=True, text=True, timeout=30)
            self.assertEqual(login.returncode, 0, login.stderr)
            head, _, body = login.stdout.replace("\r\n", "\n").partition("\n\n")
            self.assertIn("HTTP/1.1 200", head)
            cookie = next(line for line in head.split("\n") if line.lower().startswith("set-cookie:"))
            self.assertIn("; Secure", cookie)
            token = json.loads(body)["token"]
            status = subprocess.run(["curl", "-sS", "--cacert", cert, "-H", f"Authorization: Bearer {token}",
                                     url + "/api/v1/status"], capture_output=True, text=True, timeout=30)
            self.assertTrue(json.loads(status.stdout)["tls"])
            plain = subprocess.run(["curl", "-sS", f"http://127.0.0.1:{srv.console_port}/"], capture_output=True,
                                   text=True, timeout=30)
            self.assertNotEqual(plain.returncode, 0)  # plain HTTP on the HTTPS port: nothing
            who = subprocess.run([FERRYD, "who", "--config", srv.config_path], capture_output=True, text=True, timeout=30,
                                 env=dict(os.environ, FERRY_CONSOLE=url, FERRY_OPERATOR=srv.operator,
                                          FERRY_PASSWORD=srv.operator_password), stdin=subprocess.DEVNULL)
            self.assertEqual(who.returncode, 0, who.stderr)
            self.assertIn("0 session(s)", who.stdout)


class OperatorsReloadTest(unittest.TestCase):
    def test_a_new_operator_logs_in_after_a_reload(self):
        with ConsoleServer() as srv:  # confined (server.confine defaults to true)
            self.assertIsNotNone(srv.wait_for_log(r"confined: "))
            api = srv.api()
            make_users_file(os.path.join(srv.dir, "operators.passwd"), "second", "second-password")
            self.assertEqual(srv.api(login=False).login("second", "second-password")[0], 401)
            status, _, body = api.request("POST", "/api/v1/reload")
            self.assertEqual(status, 200, body)
            self.assertEqual(srv.api(login=False).login("second", "second-password")[0], 200)
            # A broken operators file is refused with its position; the old one stays in force.
            with open(os.path.join(srv.dir, "operators.passwd"), "a") as f:
                f.write("broken line without a hash\n")
            status, _, body = api.request("POST", "/api/v1/reload")
            self.assertEqual(status, 422, body)
            self.assertRegex(body["error"], r"config\.toml:\d+:\d+: \[admin\] operators: .*operators\.passwd:\d+: ")
            self.assertEqual(srv.api(login=False).login("second", "second-password")[0], 200)


if __name__ == "__main__":
    unittest.main()
