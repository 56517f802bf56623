"""Privileges: started as root, ferryd binds its ports (a privileged one too), then runs as
server.user for good; it refuses to stay root unless server.allow_root says so."""

import ftplib
import grp
import io
import os
import socket
import subprocess
import unittest

from ferryd_harness import FERRYD, FerryServer, close_quietly, fs_local_mounts, run_ferryd

IS_ROOT = os.geteuid() == 0


def free_privileged_port():
    for port in range(990, 600, -1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise unittest.SkipTest("no free port below 1024 on 127.0.0.1")


def status_ids(pid):
    """(Uid, Gid, Groups) lines of /proc/PID/status, as tuples of ints."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = tuple(int(v) for v in value.split()) if key in ("Uid", "Gid", "Groups") else value
    return fields["Uid"], fields["Gid"], fields["Groups"]


@unittest.skipUnless(IS_ROOT, "needs root: the test is about leaving it")
class PrivilegeTest(unittest.TestCase):
    def server(self, server_extra, **kw):
        srv = FerryServer(allow_root=False, server_extra=server_extra, **kw)
        srv.write_files()
        self.addCleanup(srv.cleanup)
        os.chmod(srv.dir, 0o755)  # the served image must be readable by the unprivileged user
        return srv

    def test_binds_a_privileged_port_then_runs_as_nobody(self):
        port = free_privileged_port()
        srv = self.server('user = "nobody"', mounts=fs_local_mounts(),
                          listen=("127.0.0.1:0", f"127.0.0.1:{port}"))
        root = srv.user_root()  # owned by root, mode 0755: nobody may read, not write
        with open(os.path.join(root, "root-owned.txt"), "wb") as f:
            f.write(b"readable by all")
        srv.start()
        self.assertEqual(srv.addresses[1], ("127.0.0.1", port))
        self.assertIsNotNone(srv.wait_for_log(r"running as user nobody \(uid 65534, gid 65534\)"))
        uid, gid, groups = status_ids(srv.proc.pid)
        self.assertEqual(uid, (65534,) * 4)  # real, effective, saved, filesystem
        self.assertEqual(gid, (65534,) * 4)
        self.assertEqual(groups, (65534,))

        f = srv.ftp(port=port)
        self.addCleanup(close_quietly, f)
        image = io.BytesIO()
        f.retrbinary("RETR /welcome/ferry.png", image.write)
        self.assertEqual(image.getvalue(), srv.image_bytes)
        data = io.BytesIO()
        f.retrbinary("RETR root-owned.txt", data.write)
        self.assertEqual(data.getvalue(), b"readable by all")
        # Root could write here; nobody cannot, and the server says so.
        with self.assertRaises(ftplib.error_perm) as cm:
            f.storbinary("STOR new.txt", io.BytesIO(b"x"))
        self.assertTrue(str(cm.exception).startswith("550"), str(cm.exception))
        self.assertFalse(os.path.exists(os.path.join(root, "new.txt")))
        self.assertEqual(srv.stop(), 0)

    def test_file_permissions_are_judged_as_nobody_not_as_root(self):
        # fs_local is created while ferryd is still root; what it allows must follow the
        # user it serves as, from the first session on (not only after a reload).
        srv = self.server('user = "nobody"', mounts=fs_local_mounts())
        root = srv.user_root()
        os.chown(root, 65534, 65534)  # nobody may write in the directory...
        read_only = os.path.join(root, "read-only.txt")
        with open(read_only, "wb") as f:
            f.write(b"keep me")
        os.chown(read_only, 65534, 65534)
        os.chmod(read_only, 0o444)  # ...but not this file
        secret = os.path.join(root, "secret.txt")
        with open(secret, "wb") as f:
            f.write(b"root only")
        os.chmod(secret, 0o600)
        srv.start()
        f = srv.ftp()
        self.addCleanup(close_quietly, f)
        with self.assertRaises(ftplib.error_perm) as cm:
            f.storbinary("STOR read-only.txt", io.BytesIO(b"overwritten"))
        self.assertTrue(str(cm.exception).startswith("550"), str(cm.exception))
        with open(read_only, "rb") as fh:
            self.assertEqual(fh.read(), b"keep me")
        facts = dict(f.mlsd(facts=["perm"]))
        self.assertNotIn("w", facts["read-only.txt"]["perm"])
        self.assertIn("r", facts["read-only.txt"]["perm"])
        self.assertNotIn("r", facts["secret.txt"]["perm"])
        with self.assertRaises(ftplib.error_perm):
            f.retrbinary("RETR secret.txt", lambda b: None)
        self.assertEqual(srv.stop(), 0)

    def test_group_can_be_named(self):
        srv = self.server('user = "nobody"\ngroup = "daemon"')
        srv.start()
        daemon = grp.getgrnam("daemon").gr_gid
        self.assertIsNotNone(srv.wait_for_log(rf"running as user nobody \(uid 65534, gid {daemon}\)"))
        uid, gid, _ = status_ids(srv.proc.pid)
        self.assertEqual((uid[0], gid[0]), (65534, daemon))

    def test_refuses_to_stay_root_without_allow_root(self):
        srv = self.server("")
        p = run_ferryd(["--config", srv.config_path])
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("refusing to run as root: set server.user", p.stderr)
        self.assertNotIn("listening on", p.stderr)

    def test_unknown_user_or_group_is_a_configuration_error(self):
        srv = self.server('user = "ferry-no-such-user"')
        p = run_ferryd(["--config", srv.config_path, "--check"])
        self.assertEqual(p.returncode, 2)
        self.assertIn("server.user: no such user 'ferry-no-such-user'", p.stderr)
        srv2 = self.server('user = "nobody"\ngroup = "ferry-no-such-group"')
        p = run_ferryd(["--config", srv2.config_path])
        self.assertEqual(p.returncode, 2)
        self.assertIn("server.group: no such group 'ferry-no-such-group'", p.stderr)

    def test_root_as_server_user_needs_allow_root(self):
        srv = self.server('user = "root"')
        p = run_ferryd(["--config", srv.config_path, "--check"])
        self.assertEqual(p.returncode, 2)
        self.assertIn("server.user 'root' is root", p.stderr)

    def test_started_as_server_user_already_it_says_nothing(self):
        # What a systemd unit with User= does: ferryd starts as server.user itself.
        srv = self.server('user = "nobody"')
        os.chmod(srv.users_path, 0o644)  # nobody reads the config's files
        ferryd = FERRYD
        if subprocess.run(["runuser", "-u", "nobody", "--", ferryd, "--version"], capture_output=True).returncode:
            self.skipTest(f"nobody cannot run {ferryd} (the checkout is not readable by others)")
        as_nobody = subprocess.run(["runuser", "-u", "nobody", "--", ferryd, "--config", srv.config_path, "--check"],
                                   capture_output=True, text=True, timeout=30)
        self.assertEqual(as_nobody.returncode, 0, as_nobody.stderr)
        self.assertNotIn("server.user", as_nobody.stderr)
        # Started as another unprivileged user, the key is still ignored with a warning.
        as_daemon = subprocess.run(["runuser", "-u", "daemon", "--", ferryd, "--config", srv.config_path, "--check"],
                                   capture_output=True, text=True, timeout=30)
        self.assertEqual(as_daemon.returncode, 0, as_daemon.stderr)
        self.assertIn('server.user = "nobody" ignored: ferryd was not started as root', as_daemon.stderr)


if __name__ == "__main__":
    unittest.main()
