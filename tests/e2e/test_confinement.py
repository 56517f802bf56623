"""Confinement (server.confine, on by default): once started, ferryd can reach only what its
configuration needs. The escape_attempts fixture plugin tries what a compromised plugin
would; under confinement each attempt fails (EACCES from Landlock, EPERM from seccomp),
ferryd keeps serving and logs what was refused; with confine = false the same attempts
succeed, so the test can fail. A SIGHUP naming a path start-up did not allow is refused."""

import ftplib
import glob
import os
import re
import shutil
import signal
import socket
import tempfile
import unittest

from ferryd_harness import FIXTURE_DIR, FerryServer, close_quietly, toml_str

ATTEMPTS_RE = re.compile(r"escape attempts: shadow=(\S+) beside=(\S+) write=(\S+) execve=(\S+) connect=(\S+)")


def low_port_listener():
    """A listening socket on a loopback port < 1024 (only root can bind one), or None."""
    if os.geteuid() != 0:
        return None
    for port in range(700, 1000):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            s.listen(8)
            return s
        except OSError:
            s.close()
    return None


class ConfinementTest(unittest.TestCase):
    def setUp(self):
        # Beside the config dir, not in it: ferryd may read its configuration's directory.
        self.area = tempfile.mkdtemp(prefix="ferry-confine-")
        self.addCleanup(shutil.rmtree, self.area, True)
        self.root = os.path.join(self.area, "root")
        self.outside = os.path.join(self.area, "outside")
        os.makedirs(self.root)
        os.makedirs(self.outside)
        self.beside = os.path.join(self.area, "secret.txt")
        with open(self.beside, "w") as f:
            f.write("not for ferryd\n")
        self.listener = low_port_listener()
        if self.listener is not None:
            self.addCleanup(self.listener.close)
        self.port = self.listener.getsockname()[1] if self.listener else 1

    def start(self, confine, wrapper=()):
        mounts = (
            '[[mount]]\npath = "/"\nplugin = "fs_local"\n'
            f"root = {toml_str(self.root)}\nwritable = true\n\n"
            '[[mount]]\npath = "/welcome"\nplugin = "send_png"\nimage = "ferry.png"\n\n'
            '[[mount]]\npath = "/probe"\nplugin = "escape_attempts"\n'
            f"root = {toml_str(self.root)}\nbeside = {toml_str(self.beside)}\n"
            f"outside = {toml_str(self.outside)}\nport = {self.port}\n")
        srv = FerryServer(mounts=mounts, fixture_plugins=True, wrapper=wrapper,
                          server_extra="" if confine else "confine = false\n")
        self.addCleanup(srv.cleanup)
        srv.start()
        return srv

    def attempt(self, srv):
        """LIST /probe/escape: the fixture's report, from the refusal ferryd logs."""
        f = srv.ftp()
        self.addCleanup(close_quietly, f)
        mark = srv.log_mark()
        with self.assertRaises(ftplib.error_perm) as caught:
            f.nlst("/probe/escape")
        self.assertTrue(str(caught.exception).startswith("550"), caught.exception)
        line = srv.wait_for_log(ATTEMPTS_RE.pattern, timeout=10, start=mark)
        self.assertIsNotNone(line, srv.log_text())
        return ATTEMPTS_RE.search(line).groups()

    def still_serves(self, srv):
        f = srv.ftp()
        self.addCleanup(close_quietly, f)
        chunks = []
        f.retrbinary("RETR /welcome/ferry.png", chunks.append)
        self.assertEqual(b"".join(chunks), srv.image_bytes)

    def test_confined_every_escape_fails_and_ferryd_keeps_serving(self):
        srv = self.start(confine=True)
        self.assertIsNotNone(srv.wait_for_log(r"confined: Landlock ABI \d+ .*seccomp allow-list of \d+ system calls"),
                             srv.log_text())
        shadow, beside, write, execve, connect = self.attempt(srv)
        self.assertEqual(shadow, "EACCES")
        self.assertEqual(beside, "EACCES")
        self.assertEqual(write, "EACCES")
        self.assertEqual(execve, "EPERM")
        self.assertEqual(connect, "EACCES")
        self.assertEqual(os.listdir(self.outside), [])
        # The seccomp supervisor names the refused call, once.
        self.assertIsNotNone(srv.wait_for_log(r"refused system call execve \(59\)", timeout=5), srv.log_text())
        self.attempt(srv)
        self.assertEqual(len(re.findall(r"refused system call execve", srv.log_text())), 1)
        # Every thread: seccomp filter mode, no_new_privs; and the process is not dumpable.
        for status in glob.glob(f"/proc/{srv.proc.pid}/task/*/status"):
            with open(status) as f:
                text = f.read()
            self.assertIn("Seccomp:\t2", text)
            self.assertIn("NoNewPrivs:\t1", text)
        self.still_serves(srv)
        # What the configuration allows still works: upload, rename, mkdir, delete.
        f = srv.ftp()
        self.addCleanup(close_quietly, f)
        f.storbinary("STOR up.bin", __import__("io").BytesIO(b"x" * 100000))
        f.mkd("sub")
        f.rename("up.bin", "sub/moved.bin")
        self.assertEqual(os.path.getsize(os.path.join(self.root, "sub", "moved.bin")), 100000)
        f.delete("sub/moved.bin")
        f.rmd("sub")
        self.assertEqual(os.listdir(self.root), [])
        self.assertEqual(srv.stop(), 0)

    def test_under_a_foreign_seccomp_listener_the_filter_still_applies_unlogged(self):
        # A container supervisor may hold the one seccomp listener a task may have: ferryd's
        # supervised filter is refused (EBUSY) and the same allow-list applies unsupervised.
        srv = self.start(confine=True, wrapper=[os.path.join(FIXTURE_DIR, "seccomp_listener")])
        self.assertIsNotNone(srv.wait_for_log(r"refused a supervised seccomp filter .*: calls off ferryd's seccomp "
                                              r"allow-list fail with EPERM without a log line"), srv.log_text())
        self.assertIsNotNone(srv.wait_for_log(r"confined: .*seccomp allow-list of \d+ system calls"), srv.log_text())
        shadow, beside, write, execve, connect = self.attempt(srv)
        self.assertEqual(execve, "EPERM")
        self.assertEqual(write, "EACCES")
        self.assertNotIn("refused system call", srv.log_text())
        self.still_serves(srv)
        self.assertEqual(srv.stop(), 0)

    def test_unconfined_the_same_attempts_succeed(self):
        srv = self.start(confine=False)
        self.assertIsNotNone(srv.wait_for_log(r"confinement off \(server\.confine = false\)"), srv.log_text())
        shadow, beside, write, execve, connect = self.attempt(srv)
        if os.geteuid() == 0:  # the harness runs ferryd as whoever runs the tests
            self.assertEqual(shadow, "ok")
        self.assertEqual(beside, "ok")
        self.assertEqual(write, "ok")
        self.assertEqual(execve, "EFAULT")  # allowed: it got as far as reading its (bad) argv
        self.assertEqual(connect, "ok" if self.listener else "ECONNREFUSED")
        self.assertEqual(len(os.listdir(self.outside)), 1)
        self.still_serves(srv)
        self.assertEqual(srv.stop(), 0)


class ReloadUnderConfinementTest(unittest.TestCase):
    def start(self, **kw):
        srv = FerryServer(**kw)
        self.addCleanup(srv.cleanup)
        srv.start()
        return srv

    def reload(self, srv, old, new, outcome):
        with open(srv.config_path) as f:
            text = f.read()
        self.assertIn(old, text)
        with open(srv.config_path, "w") as f:
            f.write(text.replace(old, new, 1))
        mark = srv.log_mark()
        srv.proc.send_signal(signal.SIGHUP)
        line = srv.wait_for_log(outcome, timeout=10, start=mark)
        self.assertIsNotNone(line, srv.log_text())
        return line

    def test_a_users_file_outside_the_allowed_paths_needs_a_restart(self):
        srv = self.start()
        elsewhere = tempfile.mkdtemp(prefix="ferry-confine-")
        self.addCleanup(shutil.rmtree, elsewhere, True)
        moved = os.path.join(elsewhere, "users.passwd")
        shutil.copyfile(srv.users_path, moved)
        line = self.reload(srv, 'users = "users.passwd"', f"users = {toml_str(moved)}", r"reload failed")
        self.assertRegex(line, r"config\.toml:\d+:\d+: \[auth\] users: .*users\.passwd .*needs a restart")
        f = srv.ftp()  # the running configuration stays in force
        close_quietly(f)

    def test_an_image_outside_the_allowed_paths_needs_a_restart(self):
        srv = self.start()
        elsewhere = tempfile.mkdtemp(prefix="ferry-confine-")
        self.addCleanup(shutil.rmtree, elsewhere, True)
        image = os.path.join(elsewhere, "other.png")
        shutil.copyfile(srv.image_path, image)
        line = self.reload(srv, 'image = "ferry.png"', f"image = {toml_str(image)}", r"reload failed")
        self.assertRegex(line, r"config\.toml:\d+:\d+: \[\[mount\]\] path = \"/\" image: .*other\.png .*needs a restart")
        f = srv.ftp()
        self.addCleanup(close_quietly, f)
        self.assertIn("ferry.png", f.nlst())

    def test_passive_ports_outside_the_allowed_range_need_a_restart(self):
        srv = self.start(passive_ports=(21000, 21009))
        line = self.reload(srv, "passive_ports = [21000, 21009]", "passive_ports = [21000, 21010]", r"reload failed")
        self.assertRegex(line, r"config\.toml:\d+:\d+: server\.passive_ports .*needs a restart")
        # A range inside the allowed one is fine.
        self.reload(srv, "passive_ports = [21000, 21010]", "passive_ports = [21002, 21005]", r"reloaded ")
        f = srv.ftp()
        self.addCleanup(close_quietly, f)
        self.assertIn("ferry.png", f.nlst())


if __name__ == "__main__":
    unittest.main()
