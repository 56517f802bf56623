"""ferryd start-up: --check, configuration errors, --listen, IPv6, plugins, SIGTERM, passwd."""

import ftplib
import io
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import unittest

from ferryd_harness import (FERRYD, FIXTURE_DIR, PLUGIN_DIR, SHIPPED_CONFIG, FerryServer,
                            close_quietly, ipv6_available, make_users_file, run_ferryd, toml_str)


def line_of(text, needle):
    """1-based number of the first line of `text` containing `needle`."""
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in config text")


class CheckTest(unittest.TestCase):
    """`ferryd --check` on good and bad configurations."""

    def setUp(self):
        self.srv = FerryServer()
        self.srv.write_files()
        self.addCleanup(self.srv.cleanup)
        self.dir = self.srv.dir

    def write_config(self, text):
        path = os.path.join(self.dir, "config.toml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def check(self, text):
        return run_ferryd(["--config", self.write_config(text), "--check"], timeout=20)

    def assertConfigError(self, text, needle, *, also=(), col=False):
        """--check exits 2 and names config.toml:LINE (the line holding `needle`)."""
        p = self.check(text)
        out = p.stderr + p.stdout
        self.assertEqual(p.returncode, 2, out)
        line = line_of(text, needle)
        pattern = rf"config\.toml:{line}:\d+" if col else rf"config\.toml:{line}\b"
        self.assertRegex(out, pattern, f"message does not name config.toml:{line}: {out!r}")
        for word in also:
            self.assertIn(word, out)
        self.assertNotIn("configuration OK", out)
        return out

    # ----- good ----------------------------------------------------------------------
    def test_check_shipped_config_ok(self):
        p = run_ferryd(["--config", SHIPPED_CONFIG, "--check"], timeout=20)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("configuration OK", p.stdout + p.stderr)

    def test_check_generated_config_ok(self):
        p = self.check(self.srv.config_text())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("configuration OK", p.stdout + p.stderr)

    def test_check_does_not_start_serving(self):
        # --check returns at once: it binds nothing and logs no "listening on"
        p = self.check(self.srv.config_text())
        self.assertNotIn("listening on", p.stdout + p.stderr)

    # ----- configuration errors ------------------------------------------------------
    def test_unknown_key_in_server(self):
        text = self.srv.config_text().replace("workers = 2\n", "workers = 2\nbogus_key = 1\n")
        self.assertConfigError(text, "bogus_key", also=["bogus_key"], col=True)

    def test_wrong_type_workers(self):
        text = self.srv.config_text().replace("workers = 2\n", 'workers = "x"\n')
        self.assertConfigError(text, 'workers = "x"', also=["workers"], col=True)

    def test_toml_syntax_error(self):
        text = self.srv.config_text().replace("workers = 2\n", "workers = = 2\n")
        self.assertConfigError(text, "workers = = 2", col=True)

    def test_missing_image_file(self):
        text = self.srv.config_text().replace('image = "ferry.png"', 'image = "missing.png"')
        self.assertConfigError(text, 'image = "missing.png"', also=["missing.png", "image"])

    def test_image_not_png(self):
        with open(os.path.join(self.dir, "not.png"), "w") as f:
            f.write("this is text, not an image\n")
        text = self.srv.config_text().replace('image = "ferry.png"', 'image = "not.png"')
        self.assertConfigError(text, 'image = "not.png"', also=["not.png", "PNG"])

    def test_missing_users_file(self):
        text = self.srv.config_text().replace('users = "users.passwd"', 'users = "nobody.passwd"')
        self.assertConfigError(text, 'users = "nobody.passwd"', also=["nobody.passwd"])

    def test_users_file_with_plain_text_password(self):
        with open(os.path.join(self.dir, "plain.passwd"), "w") as f:
            f.write("bob:hunter2\n")
        text = self.srv.config_text().replace('users = "users.passwd"', 'users = "plain.passwd"')
        out = self.assertConfigError(text, 'users = "plain.passwd"', also=["plain.passwd", "bob"])
        self.assertNotIn("hunter2", out)

    def test_unknown_plugin_key(self):
        text = self.srv.config_text().replace('image = "ferry.png"', 'image = "ferry.png"\ncolour = "red"')
        self.assertConfigError(text, 'colour = "red"', also=["colour"], col=True)

    # Checked after parsing, but still named by their key's line and column.
    def test_transfer_log_that_cannot_be_opened(self):
        text = self.srv.config_text() + '[log]\nxferlog = "no/such/dir/xfer.log"\n'
        self.assertConfigError(text, "xferlog =", also=["xferlog", "no/such/dir/xfer.log"], col=True)

    def test_missing_certificate(self):
        text = self.srv.config_text() + '[tls]\ncertificate = "nope.pem"\nprivate_key = "key.pem"\n'
        self.assertConfigError(text, 'certificate = "nope.pem"', also=["[tls] certificate", "nope.pem"], col=True)

    def test_missing_private_key_file(self):
        cert = os.path.join(self.dir, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=x",
                        "-keyout", os.path.join(self.dir, "unused.pem"), "-out", cert],
                       check=True, capture_output=True, timeout=60)
        text = self.srv.config_text() + '[tls]\ncertificate = "cert.pem"\nprivate_key = "nokey.pem"\n'
        self.assertConfigError(text, 'private_key = "nokey.pem"', also=["[tls] private_key", "nokey.pem"], col=True)

    @unittest.skipUnless(os.geteuid() == 0, "server.user is looked up only when started as root")
    def test_no_such_server_user(self):
        text = self.srv.config_text().replace("[server]\n", '[server]\nuser = "ferry-no-such-user"\n', 1)
        self.assertConfigError(text, 'user = "ferry-no-such-user"', also=["server.user", "no such user"], col=True)

    def test_no_such_plugin(self):
        text = self.srv.config_text().replace('plugin = "send_png"', 'plugin = "nope"')
        self.assertConfigError(text, 'plugin = "nope"', also=["nope"])

    def mixed_plugin_dir(self):
        """A plugin dir holding the real plugins and the broken fixtures."""
        pd = os.path.join(self.dir, "plugins")
        os.makedirs(pd)
        for d in (PLUGIN_DIR, FIXTURE_DIR):
            for name in os.listdir(d):
                if name.endswith(".so"):
                    os.symlink(os.path.join(d, name), os.path.join(pd, name))
        return pd

    def test_plugin_with_wrong_api_version(self):
        pd = self.mixed_plugin_dir()
        text = (self.srv.config_text()
                .replace(f"plugin_dir = {toml_str(PLUGIN_DIR)}", f"plugin_dir = {toml_str(pd)}")
                .replace('plugin = "send_png"', 'plugin = "wrong_api"'))
        out = self.assertConfigError(text, 'plugin = "wrong_api"', also=["wrong_api"])
        self.assertRegex(out, r"(?i)API version")

    def test_plugin_without_entry_point(self):
        pd = self.mixed_plugin_dir()
        text = (self.srv.config_text()
                .replace(f"plugin_dir = {toml_str(PLUGIN_DIR)}", f"plugin_dir = {toml_str(pd)}")
                .replace('plugin = "send_png"', 'plugin = "no_entry"'))
        out = self.assertConfigError(text, 'plugin = "no_entry"', also=["no_entry"])
        self.assertIn("not a ferry plugin", out)

    def test_plugin_exporting_a_plain_function_instead_of_the_alias(self):
        # It used to be called through its own code read as a pointer: SIGSEGV (exit -11).
        pd = self.mixed_plugin_dir()
        text = (self.srv.config_text()
                .replace(f"plugin_dir = {toml_str(PLUGIN_DIR)}", f"plugin_dir = {toml_str(pd)}")
                .replace('plugin = "send_png"', 'plugin = "plain_export"'))
        self.assertConfigError(text, 'plugin = "plain_export"',
                               also=["plugin 'plain_export'", "ferry_plugin is not exported with FERRY_PLUGIN(...)"])

    def test_plugin_whose_entry_point_throws(self):
        pd = self.mixed_plugin_dir()
        text = (self.srv.config_text()
                .replace(f"plugin_dir = {toml_str(PLUGIN_DIR)}", f"plugin_dir = {toml_str(pd)}")
                .replace('plugin = "send_png"', 'plugin = "throwing_entry"'))
        out = self.assertConfigError(text, 'plugin = "throwing_entry"',
                                     also=["plugin 'throwing_entry'", "its entry point threw: entry blew up"])
        # The same refusal stops a real start, with exit 2 rather than a crash or exit 1.
        p = run_ferryd(["--config", os.path.join(self.dir, "config.toml")], timeout=20)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("entry blew up", p.stderr)
        self.assertNotIn("listening on", p.stderr)

    def test_fixture_dir_as_plugin_dir(self):
        # plugin_dir = the fixture dir: auth_file is not there, wrong_api is refused
        text = (self.srv.config_text()
                .replace(f"plugin_dir = {toml_str(PLUGIN_DIR)}", f"plugin_dir = {toml_str(FIXTURE_DIR)}")
                .replace('plugin = "send_png"', 'plugin = "wrong_api"'))
        p = self.check(text)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertRegex(p.stderr, r"config\.toml:\d+")

    def test_plugin_of_wrong_kind(self):
        # a mount naming an authenticator
        text = self.srv.config_text().replace('plugin = "send_png"', 'plugin = "auth_file"')
        p = self.check(text)
        self.assertEqual(p.returncode, 2, p.stderr)
        line = len(text[:text.index('plugin = "auth_file"\nimage')].splitlines()) + 1
        self.assertRegex(p.stderr, rf"config\.toml:{line}\b")
        self.assertIn("auth_file", p.stderr)

    def test_config_error_also_stops_a_real_start(self):
        text = self.srv.config_text().replace("workers = 2\n", "workers = 2\nbogus_key = 1\n")
        path = self.write_config(text)
        p = run_ferryd(["--config", path, "--listen", "127.0.0.1:0"], timeout=20)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("bogus_key", p.stderr)
        self.assertNotIn("listening on", p.stderr)

    def test_missing_config_file_exit_2(self):
        p = run_ferryd(["--config", os.path.join(self.dir, "nope.toml"), "--check"], timeout=20)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("nope.toml", p.stderr)

    def test_bad_option_exit_2(self):
        p = run_ferryd(["--no-such-option"], timeout=20)
        self.assertEqual(p.returncode, 2, p.stderr)

    def test_bad_listen_address_exit_2(self):
        p = run_ferryd(["--config", self.write_config(self.srv.config_text()),
                        "--listen", "not-an-address"], timeout=20)
        self.assertEqual(p.returncode, 2, p.stderr)

    def test_listen_addresses_that_overlap_exit_2_before_binding(self):
        # --check judged them good; only binding found out.
        config = self.write_config(self.srv.config_text().replace(
            'listen = ["127.0.0.1:0"]', 'listen = ["127.0.0.1:2121", "0.0.0.0:2121"]'))
        p = run_ferryd(["--config", config, "--check"], timeout=20)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("0.0.0.0:2121 overlaps 127.0.0.1:2121", p.stderr)
        p = run_ferryd(["--config", self.write_config(self.srv.config_text()), "--check",
                        "--listen", "[::1]:2121", "--listen", "[0:0::1]:2121"], timeout=20)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("--listen [0:0::1]:2121 overlaps [::1]:2121", p.stderr)

    def test_version(self):
        p = run_ferryd(["--version"], timeout=20)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout + p.stderr, r"\d+\.\d+\.\d+")


class RunTest(unittest.TestCase):
    """A running ferryd: ports, addresses, logs, signals."""

    def test_listen_override_port_0_logs_real_port(self):
        # the config's own listen address is busy: --listen must replace it, not add to it
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen(1)
            busy_port = busy.getsockname()[1]
            srv = FerryServer(listen=["127.0.0.1:0"])
            srv.write_files()
            with open(srv.config_path) as f:
                text = f.read()
            with open(srv.config_path, "w") as f:
                f.write(text.replace('listen = ["127.0.0.1:0"]', f'listen = ["127.0.0.1:{busy_port}"]'))
            with srv:
                self.assertEqual(len(srv.addresses), 1, srv.log_text())
                host, port = srv.addresses[0]
                self.assertEqual(host, "127.0.0.1")
                self.assertNotIn(port, (0, busy_port))
                f = srv.ftp()
                self.assertEqual(f.pwd(), "/")
                close_quietly(f)
        self.assertEqual(srv.returncode, 0)

    def test_two_listen_addresses(self):
        with FerryServer(listen=["127.0.0.1:0", "127.0.0.1:0"]) as srv:
            self.assertEqual(len(srv.addresses), 2, srv.log_text())
            ports = {p for _, p in srv.addresses}
            self.assertEqual(len(ports), 2)
            for host, port in srv.addresses:
                f = srv.ftp(host=host, port=port)
                buf = io.BytesIO()
                f.retrbinary("RETR ferry.png", buf.write)
                self.assertEqual(buf.getvalue(), srv.image_bytes)
                close_quietly(f)
        self.assertEqual(srv.returncode, 0)

    def test_listen_address_in_use_exit_nonzero(self):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen(1)
            port = busy.getsockname()[1]
            srv = FerryServer()
            srv.write_files()
            try:
                p = run_ferryd(["--config", srv.config_path, "--listen", f"127.0.0.1:{port}"], timeout=20)
            finally:
                srv.cleanup()
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(str(port), p.stderr)

    @unittest.skipUnless(ipv6_available(), "no IPv6 loopback")
    def test_ipv6_listen_and_epsv_download(self):
        with FerryServer(listen=["[::1]:0"]) as srv:
            host, port = srv.addresses[0]
            self.assertEqual(host, "::1")
            f = ftplib.FTP(timeout=10)
            f.connect("::1", port, timeout=10)
            self.addCleanup(close_quietly, f)
            f.login(srv.user, srv.password)
            self.assertEqual(f.af, socket.AF_INET6)
            self.assertTrue(f.sendcmd("EPSV").startswith("229"))
            buf = io.BytesIO()
            f.retrbinary("RETR ferry.png", buf.write)  # ftplib uses EPSV on IPv6
            self.assertEqual(buf.getvalue(), srv.image_bytes)
            f.quit()
        self.assertEqual(srv.returncode, 0)

    @unittest.skipUnless(ipv6_available(), "no IPv6 loopback")
    def test_ipv4_and_ipv6_together(self):
        with FerryServer(listen=["127.0.0.1:0", "[::1]:0"]) as srv:
            hosts = sorted(h for h, _ in srv.addresses)
            self.assertEqual(hosts, ["127.0.0.1", "::1"])
            for host, port in srv.addresses:
                f = srv.ftp(host=host, port=port)
                self.assertEqual(f.size("ferry.png"), len(srv.image_bytes))
                close_quietly(f)

    def test_log_names_loaded_plugins_with_versions(self):
        with FerryServer() as srv:
            log = srv.log_text()
        self.assertRegex(log, r"loaded plugin auth_file \d+\.\d+\.\d+")
        self.assertRegex(log, r"loaded plugin send_png \d+\.\d+\.\d+")

    def test_sigterm_exits_0(self):
        srv = FerryServer()
        try:
            srv.start()
            self.assertEqual(srv.stop(), 0, srv.log_text())
        finally:
            srv.cleanup()

    def test_sigterm_with_open_sessions_exits_0_promptly(self):
        srv = FerryServer()
        try:
            srv.start()
            idle = srv.ftp()
            logged_out = srv.ftp(login=False)
            t0 = time.monotonic()
            rc = srv.stop()
            self.assertEqual(rc, 0, srv.log_text())
            self.assertLess(time.monotonic() - t0, 5.0)
            for f in (idle, logged_out):
                f.close()
        finally:
            srv.cleanup()

    def test_password_never_logged(self):
        with FerryServer(log_level="debug") as srv:
            f = srv.ftp()
            close_quietly(f)
            bad = ftplib.FTP(timeout=10)
            bad.connect(srv.host, srv.port, timeout=10)
            with self.assertRaises(ftplib.error_perm):
                bad.login(srv.user, "Wrong-" + srv.password)
            bad.close()
            time.sleep(0.2)
            log = srv.log_text()
        self.assertNotIn(srv.password, log)


class PasswdTest(unittest.TestCase):
    """`ferryd passwd USERS_FILE USER`."""

    def test_passwd_adds_user_whose_password_works_mode_0600(self):
        srv = FerryServer()
        srv.write_files()
        self.addCleanup(srv.cleanup)
        bob_pw = "bob-" + os.urandom(6).hex()
        make_users_file(srv.users_path, "bob", bob_pw)
        mode = stat.S_IMODE(os.stat(srv.users_path).st_mode)
        self.assertEqual(mode, 0o600, oct(mode))
        with open(srv.users_path) as f:
            content = f.read()
        self.assertNotIn(bob_pw, content)
        self.assertNotIn(srv.password, content)
        self.assertRegex(content, r"(?m)^bob:\$y\$")
        self.assertRegex(content, r"(?m)^alice:\$")
        with srv:
            f = srv.ftp(login=False)
            self.assertTrue(f.login("bob", bob_pw).startswith("230"))
            close_quietly(f)
            f = srv.ftp()  # alice still works
            close_quietly(f)
        self.assertEqual(srv.returncode, 0)

    def test_passwd_creates_new_file_0600(self):
        d = tempfile.mkdtemp(prefix="ferry-passwd-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "new.passwd")
        make_users_file(path, "carol", "carol-secret")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with open(path) as f:
            lines = [ln for ln in f.read().splitlines() if ln and not ln.startswith("#")]
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].startswith("carol:$"), lines)

    def test_passwd_changes_existing_password(self):
        srv = FerryServer()
        srv.write_files()
        self.addCleanup(srv.cleanup)
        old = srv.password
        srv.password = "changed-" + os.urandom(6).hex()
        make_users_file(srv.users_path, srv.user, srv.password)
        with open(srv.users_path) as f:
            self.assertEqual(sum(1 for ln in f if ln.startswith("alice:")), 1)
        with srv:
            close_quietly(srv.ftp())
            f = srv.ftp(login=False)
            with self.assertRaises(ftplib.error_perm):
                f.login(srv.user, old)
            f.close()

    def test_passwd_rejects_bad_user_name(self):
        d = tempfile.mkdtemp(prefix="ferry-passwd-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "u.passwd")
        p = subprocess.run([FERRYD, "passwd", path, "bad:name"], input=b"pw\n", timeout=30,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertNotEqual(p.returncode, 0)
        if os.path.exists(path):
            with open(path) as f:
                self.assertNotIn("bad:name", f.read())

    def test_passwd_empty_password_refused(self):
        d = tempfile.mkdtemp(prefix="ferry-passwd-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "u.passwd")
        p = subprocess.run([FERRYD, "passwd", path, "dave"], input=b"\n", timeout=30,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertNotEqual(p.returncode, 0)


if __name__ == "__main__":
    unittest.main()
