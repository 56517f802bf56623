"""SIGHUP: ferryd re-reads config.toml and the users file for new sessions; sessions in
progress carry on with what they started with; a broken new configuration is refused with
a logged error and the running one stays in force."""

import ftplib
import hashlib
import os
import signal
import socket
import unittest

from ferryd_harness import FerryServer, close_quietly, fs_local_mounts, make_users_file


class ReloadTest(unittest.TestCase):
    def start(self, **kw):
        srv = FerryServer(mounts=fs_local_mounts(), **kw)
        srv.start()
        self.addCleanup(srv.cleanup)
        return srv

    def rewrite_config(self, srv, old, new):
        with open(srv.config_path) as f:
            text = f.read()
        self.assertIn(old, text)
        with open(srv.config_path, "w") as f:
            f.write(text.replace(old, new, 1))

    def hangup(self, srv, outcome):
        """SIGHUP by PID, then wait for the reload's outcome line; returns it."""
        mark = srv.log_mark()
        srv.proc.send_signal(signal.SIGHUP)
        line = srv.wait_for_log(outcome, timeout=10, start=mark)
        self.assertIsNotNone(line, f"no /{outcome}/ after SIGHUP; log:\n{srv.log_text()}")
        return line

    def banner(self, srv):
        with socket.create_connection((srv.host, srv.port), timeout=10) as s:
            return s.makefile("rb").readline().decode()

    def test_new_sessions_get_the_new_config_and_users_while_old_ones_carry_on(self):
        srv = self.start()
        root = srv.user_root()
        payload = os.urandom(24 * 1024 * 1024)
        with open(os.path.join(root, "big.bin"), "wb") as f:
            f.write(payload)

        old = srv.ftp()
        self.addCleanup(close_quietly, old)
        # A download in progress across the reload: read a little, reload, read the rest.
        old.voidcmd("TYPE I")
        conn = old.transfercmd("RETR big.bin")
        conn.settimeout(10)
        first = conn.recv(65536)
        self.assertTrue(first)

        self.rewrite_config(srv, 'banner = "ferry ready"', 'banner = "ferry reloaded"')
        os.unlink(srv.users_path)
        make_users_file(srv.users_path, "bob", "bob-password")
        self.hangup(srv, r"reloaded .*config\.toml: new sessions use it, 1 session\(s\) in progress")

        received = bytearray(first)
        while True:
            chunk = conn.recv(1 << 20)
            if not chunk:
                break
            received += chunk
        conn.close()
        self.assertTrue(old.voidresp().startswith("226"))
        self.assertEqual(hashlib.sha256(received).digest(), hashlib.sha256(payload).digest())
        # The old session is still logged in as alice, with her mounts.
        self.assertIn("big.bin", old.nlst())

        self.assertTrue(self.banner(srv).startswith("220 ferry reloaded"))
        refused = srv.ftp(login=False)
        self.addCleanup(close_quietly, refused)
        with self.assertRaises(ftplib.error_perm):  # alice is no longer in the users file
            refused.login(srv.user, srv.password)
        bob = srv.ftp(login=False)
        self.addCleanup(close_quietly, bob)
        self.assertTrue(bob.login("bob", "bob-password").startswith("230"))

    def test_a_broken_config_is_refused_and_the_running_one_stays(self):
        srv = self.start()
        self.rewrite_config(srv, 'banner = "ferry ready"', 'banner = "half\nwritten')
        line = self.hangup(srv, r"reload failed")
        self.assertIn("config.toml:", line)  # names the file and the line
        self.assertTrue(self.banner(srv).startswith("220 ferry ready"))
        f = srv.ftp()
        self.addCleanup(close_quietly, f)
        self.assertEqual(f.pwd(), "/")

    def test_a_plugin_that_refuses_its_new_options_keeps_the_running_config(self):
        srv = self.start()
        self.rewrite_config(srv, 'image = "ferry.png"', 'image = "missing.png"')
        line = self.hangup(srv, r"reload failed")
        self.assertIn("missing.png", line)
        f = srv.ftp()
        self.addCleanup(close_quietly, f)
        self.assertIn("ferry.png", f.nlst("/welcome"))
        # Fixed on disk, the next SIGHUP takes it.
        self.rewrite_config(srv, 'image = "missing.png"', 'image = "ferry.png"')
        self.hangup(srv, r"reloaded ")

    def start_with_fixture_plugins(self):
        """A server whose plugin_dir also holds the broken fixture plugins."""
        srv = FerryServer(mounts=fs_local_mounts(), fixture_plugins=True)
        self.addCleanup(srv.cleanup)
        srv.start()
        return srv

    def assert_reload_with_broken_plugin_is_refused(self, plugin, reason):
        """Adds a mount of the broken `plugin` and reloads: the reload is refused with
        `reason`, an open session keeps working, and ferryd still stops cleanly."""
        srv = self.start_with_fixture_plugins()
        old = srv.ftp()
        self.addCleanup(close_quietly, old)
        with open(srv.config_path, "a") as f:
            f.write(f'\n[[mount]]\npath = "/broken"\nplugin = "{plugin}"\n')
        line = self.hangup(srv, r"reload failed")
        self.assertIn(reason, line)
        with open(srv.config_path) as f:
            plugin_line = f.read().splitlines().index(f'plugin = "{plugin}"') + 1
        self.assertRegex(line, rf"config\.toml:{plugin_line}: \[\[mount\]\] path = \"/broken\" plugin '{plugin}': ")
        self.assertIsNone(srv.proc.poll(), f"ferryd died on the reload; log:\n{srv.log_text()}")
        self.assertIn("ferry.png", old.nlst("/welcome"))
        new = srv.ftp()
        self.addCleanup(close_quietly, new)
        with self.assertRaises(ftplib.error_perm):  # the running configuration has no /broken
            new.cwd("/broken")
        close_quietly(old)
        close_quietly(new)
        self.assertEqual(srv.stop(), 0, srv.log_text())
        return line

    def test_a_plugin_whose_entry_point_throws_is_refused_and_the_server_keeps_running(self):
        self.assert_reload_with_broken_plugin_is_refused("throwing_entry", "its entry point threw: entry blew up")

    def test_a_plugin_exporting_a_plain_function_is_refused_and_the_server_keeps_running(self):
        self.assert_reload_with_broken_plugin_is_refused("plain_export",
                                                         "ferry_plugin is not exported with FERRY_PLUGIN(...)")

    def test_a_missing_certificate_refuses_the_reload_with_its_position(self):
        srv = self.start()
        with open(srv.config_path, "a") as f:
            f.write('\n[tls]\ncertificate = "nope.pem"\nprivate_key = "nope.pem"\n')
        with open(srv.config_path) as f:
            cert_line = f.read().splitlines().index('certificate = "nope.pem"') + 1
        line = self.hangup(srv, r"reload failed")
        self.assertRegex(line, rf"config\.toml:{cert_line}:\d+: \[tls\] certificate .*nope\.pem")
        self.assertTrue(self.banner(srv).startswith("220 ferry ready"))

    def test_what_needs_a_restart_is_named_and_the_rest_applies(self):
        srv = self.start()
        self.rewrite_config(srv, 'listen = ["127.0.0.1:0"]', 'listen = ["127.0.0.1:1"]')
        self.rewrite_config(srv, "login_timeout = 30", "login_timeout = 31\nmax_sessions_per_ip = 1")
        mark = srv.log_mark()
        self.hangup(srv, r"reloaded ")
        self.assertIsNotNone(srv.wait_for_log(r"server\.listen changed; that takes effect only when ferryd is restarted",
                                              start=mark))
        # Still on the port it had, and the new per-address limit holds.
        first = srv.ftp()
        self.addCleanup(close_quietly, first)
        with self.assertRaises(ftplib.error_temp) as cm:
            srv.ftp(login=False)
        self.assertTrue(str(cm.exception).startswith("421"))

    def test_the_transfer_log_is_reopened_for_log_rotation(self):
        srv = FerryServer(mounts=fs_local_mounts(), config_extra='[log]\nxferlog = "xfer.log"\n')
        srv.start()
        self.addCleanup(srv.cleanup)
        log_path = os.path.join(srv.dir, "xfer.log")
        f = srv.ftp()
        self.addCleanup(close_quietly, f)
        f.retrbinary("RETR /welcome/ferry.png", lambda b: None)
        os.rename(log_path, log_path + ".1")
        self.hangup(srv, r"reloaded ")
        f.retrbinary("RETR /welcome/ferry.png", lambda b: None)
        with open(log_path + ".1") as old, open(log_path) as new:
            self.assertEqual(len(old.read().splitlines()), 1)
            self.assertEqual(len(new.read().splitlines()), 1)

    def test_a_transfer_log_that_cannot_be_opened_refuses_the_reload(self):
        # As at start-up: a reload must not quietly go on without the transfer log it names.
        srv = FerryServer(mounts=fs_local_mounts(),
                          config_extra='[log]\nxferlog = "xfer.log"\n')
        srv.start()
        self.addCleanup(srv.cleanup)
        self.rewrite_config(srv, 'banner = "ferry ready"', 'banner = "ferry reloaded"')
        self.rewrite_config(srv, 'xferlog = "xfer.log"', 'xferlog = "no/such/dir/xfer.log"')
        line = self.hangup(srv, r"reload failed")
        self.assertRegex(line, r"config\.toml:\d+:\d+: \[log\] xferlog: ")  # positioned, as the README says
        self.assertIn("no/such/dir/xfer.log", line)
        self.assertTrue(self.banner(srv).startswith("220 ferry ready"))  # the running config stays
        f = srv.ftp()
        self.addCleanup(close_quietly, f)
        f.retrbinary("RETR /welcome/ferry.png", lambda b: None)
        f.quit()
        with open(os.path.join(srv.dir, "xfer.log")) as log:
            self.assertEqual(len(log.read().splitlines()), 1)


if __name__ == "__main__":
    unittest.main()
