"""`ferryd passwd` rewriting a users file that is in use: the running server can still read
it on SIGHUP (owner, group and mode kept); several runs at once lose no user; a symlinked
file is updated where the link points, and the link stays."""

import grp
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import unittest

from ferryd_harness import FERRYD, FerryServer, close_quietly, make_users_file

IS_ROOT = os.geteuid() == 0


def passwd(path, user, password, timeout=30):
    """`ferryd passwd PATH USER` with the password on stdin; returns the CompletedProcess."""
    return subprocess.run([FERRYD, "passwd", path, user], input=(password + "\n").encode(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)


class PasswdFileTest(unittest.TestCase):
    def tempdir(self):
        d = tempfile.mkdtemp(prefix="ferry-passwd-")
        self.addCleanup(shutil.rmtree, d, True)
        return d

    @unittest.skipUnless(IS_ROOT, "needs root: the server drops to nobody, the file is root's")
    def test_server_running_as_nobody_still_reloads_the_file_after_passwd(self):
        nogroup = grp.getgrnam("nogroup").gr_gid
        srv = FerryServer(allow_root=False, server_extra='user = "nobody"\ngroup = "nogroup"')
        srv.write_files()
        self.addCleanup(srv.cleanup)
        os.chmod(srv.dir, 0o755)
        os.chown(srv.users_path, 0, nogroup)
        os.chmod(srv.users_path, 0o640)
        srv.start()

        bob_pw = "bob-" + os.urandom(6).hex()
        p = passwd(srv.users_path, "bob", bob_pw)
        self.assertEqual(p.returncode, 0, p.stderr)
        mark = srv.log_mark()
        srv.proc.send_signal(signal.SIGHUP)
        line = srv.wait_for_log(r"reloaded |reload failed", timeout=10, start=mark)
        self.assertIsNotNone(line, srv.log_text())
        self.assertNotIn("reload failed", line)
        f = srv.ftp(login=False)
        self.addCleanup(close_quietly, f)
        self.assertTrue(f.login("bob", bob_pw).startswith("230"))
        st = os.stat(srv.users_path)
        self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)), (0, nogroup, 0o640))

    def test_world_readable_file_is_narrowed_to_0640_with_a_note(self):
        path = os.path.join(self.tempdir(), "users.passwd")
        make_users_file(path, "alice", "alice-pw")
        os.chmod(path, 0o644)
        p = passwd(path, "bob", "bob-pw")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o640)
        self.assertRegex(p.stderr.decode(), r"note: .*0644.*0640")

    def test_parallel_runs_lose_no_user(self):
        path = os.path.join(self.tempdir(), "conc.passwd")
        make_users_file(path, "alice", "alice-pw")
        procs = [subprocess.Popen([FERRYD, "passwd", path, f"user{n}"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for n in range(8)]
        for n, p in enumerate(procs):
            p.stdin.write(f"pw{n}\n".encode())
            p.stdin.close()  # all eight hash, then write, at about the same time
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                for q in procs:
                    q.kill()
                raise
            self.assertEqual(p.returncode, 0, p.stderr.read())
            p.stdout.close()
            p.stderr.close()
        with open(path) as f:
            names = sorted(line.split(":", 1)[0] for line in f if ":" in line)
        self.assertEqual(names, sorted(["alice"] + [f"user{n}" for n in range(8)]))

    def test_symlinked_file_is_updated_and_the_link_kept(self):
        d = self.tempdir()
        os.mkdir(os.path.join(d, "real"))
        target = os.path.join(d, "real", "users")
        link = os.path.join(d, "link.passwd")
        make_users_file(target, "alice", "alice-pw")
        os.symlink("real/users", link)
        p = passwd(link, "bob", "bob-pw")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(os.path.islink(link))
        self.assertEqual(os.readlink(link), "real/users")
        with open(target) as f:
            names = sorted(line.split(":", 1)[0] for line in f if ":" in line)
        self.assertEqual(names, ["alice", "bob"])
        self.assertEqual(sorted(os.listdir(d)), ["link.passwd", "real"])


if __name__ == "__main__":
    unittest.main()
