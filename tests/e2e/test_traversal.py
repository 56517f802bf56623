"""Path traversal against fs_local: "..", absolute paths, %2e%2e taken literally, symlinks
out of the user's root (to /etc, to a decoy directory, to a file), another user's root,
and a writable = false mount.

After every test, nothing outside the user's root may have changed: the server's temp dir
(config, users file, image, the decoy, the read-only tree, bob's root) is compared by
content, mode and mtime, and /etc gains no file. Refusals of paths leaving the root are
logged by the server as "<user>: <path>: ... outside the user's root".
"""

import ftplib
import hashlib
import io
import os
import re
import shutil
import unittest

from ferryd_harness import FerryServer, ServerTestCase, fs_local_mounts, make_users_file

RO_MOUNT = '[[mount]]\npath = "/ro"\nplugin = "fs_local"\nroot = "ro"\nwritable = false\n'
REFUSED = ("550", "553")


def snapshot(base, skip):
    """{relative path: (kind, mode, mtime_ns, sha256 or link target)} below base, minus skip."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) != skip]
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            if os.path.islink(p):
                what = ("link", os.readlink(p))
            elif os.path.isdir(p):
                what = ("dir", None)
            else:
                with open(p, "rb") as f:
                    what = ("file", hashlib.sha256(f.read()).hexdigest())
            out[os.path.relpath(p, base)] = (what, st.st_mode, st.st_mtime_ns)
    return out


class TraversalTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        srv = FerryServer(mounts=fs_local_mounts(extra_mounts=RO_MOUNT))
        cls.server = srv
        try:
            srv.write_files()
            cls.bob_password = "bob-" + os.urandom(6).hex()
            make_users_file(srv.users_path, "bob", cls.bob_password)
            cls.root = srv.user_root()
            d = srv.dir
            # A decoy outside every root, a read-only tree, bob's root.
            cls.outside = os.path.join(d, "outside")
            os.makedirs(os.path.join(cls.outside, "sub"))
            with open(os.path.join(cls.outside, "canary"), "w") as f:
                f.write("canary\n")
            os.makedirs(os.path.join(d, "ro", "sub"))
            with open(os.path.join(d, "ro", "f.txt"), "w") as f:
                f.write("read only\n")
            bob = srv.user_root(user="bob")
            with open(os.path.join(bob, "secret"), "w") as f:
                f.write("bob's secret\n")
            # Inside alice's root: links out, a link that stays in, literal %2e%2e names.
            r = cls.root
            os.symlink("/etc", os.path.join(r, "etc"))
            os.symlink("../../outside", os.path.join(r, "out"))
            os.symlink(cls.outside, os.path.join(r, "outabs"))
            os.symlink("../../outside/canary", os.path.join(r, "relfile"))
            os.symlink("../bob", os.path.join(r, "bob"))
            os.makedirs(os.path.join(r, "sub"))
            with open(os.path.join(r, "sub", "f"), "wb") as f:
                f.write(b"inside\n")
            os.symlink("sub", os.path.join(r, "inlink"))
            os.makedirs(os.path.join(r, "%2e%2e"))
            with open(os.path.join(r, "%2e%2e", "lit"), "wb") as f:
                f.write(b"literal\n")
            srv.start()
        except BaseException:
            srv.cleanup()
            raise

    def setUp(self):
        self.before = snapshot(self.server.dir, skip=self.root)
        self.etc_before = sorted(os.listdir("/etc"))
        self.mark = self.server.log_mark()

    def tearDown(self):
        self.assertEqual(snapshot(self.server.dir, skip=self.root), self.before,
                         "something outside the user's root changed")
        self.assertEqual(sorted(os.listdir("/etc")), self.etc_before)

    # ----- helpers ----------------------------------------------------------------
    def ftp(self, **kw):
        f = super().ftp(**kw)
        f.voidcmd("TYPE I")
        return f

    def refused(self, ftp, cmd, codes=REFUSED, data=None):
        """cmd must be refused; with data, it is an upload command; else RETR/LIST... as a
        transfer when it names one, or a plain command."""
        with self.assertRaises(ftplib.Error, msg=cmd) as cm:
            verb = cmd.split()[0].upper()
            if data is not None:
                ftp.storbinary(cmd, io.BytesIO(data))
            elif verb in ("RETR", "LIST", "NLST", "MLSD"):
                ftp.retrbinary(cmd, lambda b: self.fail(f"{cmd}: data arrived: {b[:80]!r}"))
            else:
                ftp.sendcmd(cmd)
        text = str(cm.exception)
        self.assertTrue(text.startswith(codes), f"{cmd}: {text}")
        self.assertNotIn("root:", text)  # nothing of /etc/passwd in a reply
        return text

    def retr(self, ftp, path):
        out = []
        ftp.retrbinary(f"RETR {path}", out.append)
        return b"".join(out)

    def nlst(self, ftp, path=""):
        lines = []
        ftp.retrlines(f"NLST {path}".strip(), lines.append)
        return lines

    def logged(self, pattern):
        line = self.server.wait_for_log(pattern, timeout=3, start=self.mark)
        self.assertIsNotNone(line, f"no log line matching {pattern!r}; log:\n{self.server.log_text()}")
        return line

    # ----- ".." -------------------------------------------------------------------
    def test_dotdot_never_leaves_the_root(self):
        ftp = self.ftp()
        for p in ("../../config.toml", "../../../../../../../../etc/shadow", "../users.passwd",
                  "sub/../../../config.toml", "..\\..\\config.toml", "./../ferry.png"):
            self.refused(ftp, f"RETR {p}")
            self.refused(ftp, f"SIZE {p}")
        self.assertEqual(ftp.sendcmd("CWD ../../..")[:3], "250")
        self.assertEqual(ftp.pwd(), "/")
        self.assertEqual(ftp.sendcmd("CDUP")[:3], "250")
        self.assertEqual(ftp.pwd(), "/")
        names = set(self.nlst(ftp, "../../.."))
        self.assertIn("sub", names)          # the user's root ...
        self.assertNotIn("config.toml", names)  # ... not the server's directory
        self.assertNotIn("alice", names)
        # Writes through ".." land inside the root.
        ftp.storbinary("STOR ../../escape.bin", io.BytesIO(b"x"))
        self.assertTrue(os.path.isfile(os.path.join(self.root, "escape.bin")))
        self.assertTrue(ftp.sendcmd("MKD ../../../escdir").startswith("257"))
        self.assertTrue(os.path.isdir(os.path.join(self.root, "escdir")))
        ftp.sendcmd("RNFR escape.bin")
        self.assertEqual(ftp.sendcmd("RNTO ../../../escaped.bin")[:3], "250")
        self.assertTrue(os.path.isfile(os.path.join(self.root, "escaped.bin")))
        self.assertEqual(ftp.sendcmd("DELE ../escaped.bin")[:3], "250")
        self.assertEqual(ftp.sendcmd("RMD ../../escdir")[:3], "250")
        self.assertEqual(ftp.sendcmd("CWD sub")[:3], "250")
        self.assertEqual(self.retr(ftp, "../sub/../../sub/f"), b"inside\n")

    def test_absolute_paths_are_inside_the_root(self):
        ftp = self.ftp()
        for p in ("/etc/passwd", "/etc/hostname", "/proc/self/environ", "/usr/bin/env",
                  self.server.config_path, self.server.users_path, "/" + os.path.relpath(self.server.config_path, "/")):
            self.refused(ftp, f"RETR {p}")
        for cmd in ("CWD /usr", "CWD /etc", "MLST /etc/passwd", "MDTM /etc/passwd", "LIST /etc", "NLST /usr"):
            self.refused(ftp, cmd)
        self.assertEqual(ftp.pwd(), "/")
        self.assertEqual(self.retr(ftp, "/sub/f"), b"inside\n")

    # ----- %2e%2e -------------------------------------------------------------------
    def test_percent_encoding_is_literal(self):
        ftp = self.ftp()
        self.assertEqual(self.retr(ftp, "%2e%2e/lit"), b"literal\n")
        self.assertEqual(self.retr(ftp, "/%2e%2e/lit"), b"literal\n")
        self.assertEqual(self.retr(ftp, "sub/../%2e%2e/lit"), b"literal\n")
        for p in ("%2e%2e/%2e%2e/config.toml", "%2e%2e%2fconfig.toml", "%2E%2E/%2E%2E/users.passwd",
                  "..%2f..%2fconfig.toml", "%252e%252e/config.toml"):
            self.refused(ftp, f"RETR {p}")
        self.assertEqual(ftp.sendcmd("CWD %2e%2e")[:3], "250")
        self.assertEqual(ftp.pwd(), "/%2e%2e")
        self.assertEqual(self.nlst(ftp), ["lit"])
        ftp.sendcmd("CWD /")
        # Creating such names makes literal entries in the root.
        ftp.storbinary("STOR %2e%2e%2fnew.bin", io.BytesIO(b"n"))
        self.assertTrue(os.path.isfile(os.path.join(self.root, "%2e%2e%2fnew.bin")))
        self.assertTrue(ftp.sendcmd("MKD %2e%2e%2fdir").startswith("257"))
        self.assertTrue(os.path.isdir(os.path.join(self.root, "%2e%2e%2fdir")))
        ftp.sendcmd("DELE %2e%2e%2fnew.bin")
        ftp.sendcmd("RMD %2e%2e%2fdir")

    # ----- symlinks -----------------------------------------------------------------
    def test_symlink_to_etc_is_refused(self):
        ftp = self.ftp()
        for cmd in ("RETR etc/passwd", "RETR etc/hostname", "LIST etc", "NLST etc", "MLSD etc",
                    "LIST etc/passwd", "CWD etc", "SIZE etc/passwd", "MDTM etc/passwd",
                    "MLST etc/passwd", "MLST etc", "HASH etc/passwd", "XSHA256 etc/passwd",
                    "STAT etc/passwd", "RNFR etc/passwd", "RNFR etc/hostname", "DELE etc/hostname",
                    "MKD etc/ferry-evil-dir", "RMD etc/ferry-evil-dir", "SITE CHMOD 600 etc/hostname",
                    "MFMT 20000101000000 etc/hostname", "RETR /etc/passwd"):
            self.refused(ftp, cmd)
        for cmd in ("STOR etc/ferry-evil", "APPE etc/ferry-evil", "STOU etc/ferry-evil",
                    "STOR etc/hostname", "APPE etc/hostname"):
            self.refused(ftp, cmd, data=b"evil\n")
        ftp.sendcmd("RNFR sub/f")
        self.refused(ftp, "RNTO etc/ferry-evil")
        self.assertEqual(ftp.pwd(), "/")
        self.assertTrue(os.path.isfile(os.path.join(self.root, "sub", "f")))
        self.logged(r"alice: etc/passwd: .*outside the user's root")
        self.logged(r"alice: etc/ferry-evil: .*outside the user's root")

    def test_symlinks_to_a_decoy_directory_are_refused(self):
        ftp = self.ftp()
        for link in ("out", "outabs"):
            for cmd in (f"RETR {link}/canary", f"LIST {link}", f"NLST {link}", f"CWD {link}",
                        f"CWD {link}/sub", f"SIZE {link}/canary", f"MLST {link}/canary", f"HASH {link}/canary",
                        f"DELE {link}/canary", f"RNFR {link}/canary", f"MKD {link}/newdir", f"RMD {link}/sub",
                        f"SITE CHMOD 777 {link}/canary", f"MFMT 20000101000000 {link}/canary"):
                self.refused(ftp, cmd)
            for cmd in (f"STOR {link}/canary", f"APPE {link}/canary", f"STOR {link}/new", f"STOU {link}/new"):
                self.refused(ftp, cmd, data=b"evil\n")
            ftp.sendcmd("RNFR sub/f")
            self.refused(ftp, f"RNTO {link}/moved")
            self.logged(rf"alice: {link}/canary: .*outside the user's root")
        self.assertEqual(ftp.pwd(), "/")

    def test_symlink_to_an_outside_file(self):
        ftp = self.ftp()
        for cmd in ("RETR relfile", "SIZE relfile", "MDTM relfile", "HASH relfile"):
            self.refused(ftp, cmd)
        # MFMT sets the time of the link itself (utimensat without following): it stays
        # inside the root; the canary's mtime is checked by tearDown.
        try:
            ftp.sendcmd("MFMT 20000101000000 relfile")
        except ftplib.error_perm as e:
            self.assertTrue(str(e).startswith(REFUSED), str(e))
        # fchmodat on the link itself (never followed): Linux cannot chmod a symlink, and
        # the server answers 504 "not supported here" (a refusal all the same).
        self.refused(ftp, "SITE CHMOD 777 relfile", codes=REFUSED + ("504",))
        self.refused(ftp, "APPE relfile", data=b"evil\n")
        self.logged(r"alice: relfile: .*outside the user's root")
        # STOR over the link replaces the link itself (never written through) ...
        link = os.path.join(self.root, "relfile")
        try:
            ftp.storbinary("STOR relfile", io.BytesIO(b"new\n"))
            self.assertFalse(os.path.islink(link))
            with open(link, "rb") as f:
                self.assertEqual(f.read(), b"new\n")
        finally:
            if not os.path.islink(link):
                os.remove(link)
                os.symlink("../../outside/canary", link)
        # ... and DELE removes only the link.
        self.assertEqual(ftp.sendcmd("DELE relfile")[:3], "250")
        self.assertFalse(os.path.lexists(link))
        os.symlink("../../outside/canary", link)

    def test_symlink_staying_inside_the_root_works(self):
        ftp = self.ftp()
        self.assertEqual(self.retr(ftp, "inlink/f"), b"inside\n")
        self.assertEqual(ftp.sendcmd("CWD inlink")[:3], "250")
        self.assertEqual(self.nlst(ftp), ["f"])

    def test_mfmt_and_chmod_through_an_inside_symlink_act_on_the_target(self):
        ftp = self.ftp()
        target = os.path.join(self.root, "sub", "f")
        os.symlink("sub/f", os.path.join(self.root, "infile"))
        self.addCleanup(os.remove, os.path.join(self.root, "infile"))
        mode = os.stat(target).st_mode
        self.addCleanup(os.chmod, target, mode)
        # Reads follow the link to the file inside the root ...
        self.assertEqual(self.retr(ftp, "infile"), b"inside\n")
        # ... so MFMT and SITE CHMOD should change what MDTM and LIST then show.
        self.assertEqual(ftp.sendcmd("MFMT 20000101000000 infile")[:3], "213")
        self.assertEqual(ftp.sendcmd("MDTM infile"), "213 20000101000000")
        self.assertEqual(ftp.sendcmd("SITE CHMOD 600 infile")[:3], "200")
        self.assertEqual(os.stat(target).st_mode & 0o777, 0o600)

    def test_names_with_line_breaks_are_left_out_of_listings(self):
        # A local user can make such a name; on the data connection it would end its line and
        # forge an entry (or a reply-looking line) after it.
        d = os.path.join(self.root, "crlf")
        os.makedirs(d, exist_ok=True)
        forged = "b\r\n-rw-r--r--   1 ferry ferry 5 Jan  1  2020 evil.exe"
        for name in ("plain.txt", forged, "c\n226 fake", "d\re"):
            with open(os.path.join(d, name), "wb") as f:
                f.write(b"x")
        f = self.ftp()
        self.addCleanup(f.close)
        self.assertEqual(self.nlst(f, "crlf"), ["plain.txt"])
        lines = []
        f.retrlines("LIST crlf", lines.append)
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].endswith(" plain.txt"), lines)
        self.assertEqual([name for name, _ in f.mlsd("crlf")], ["plain.txt"])
        status = f.sendcmd("STAT crlf")
        self.assertNotIn("evil.exe", status)
        self.assertNotIn("fake", status)

    def test_another_users_root_is_unreachable(self):
        ftp = self.ftp()
        for cmd in ("RETR ../bob/secret", "RETR bob/secret", "CWD bob", "LIST bob", "CWD ../bob",
                    "DELE bob/secret", "RNFR bob/secret"):
            self.refused(ftp, cmd)
        self.refused(ftp, "STOR bob/planted", data=b"x")
        # bob himself sees his file (and not alice's).
        bob = ftplib.FTP(timeout=10)
        bob.connect(self.server.host, self.server.port)
        try:
            bob.login("bob", self.bob_password)
            out = []
            bob.retrbinary("RETR secret", out.append)
            self.assertEqual(b"".join(out), b"bob's secret\n")
            self.assertNotIn("sub", bob.nlst())
        finally:
            bob.quit()

    # ----- writable = false ---------------------------------------------------------
    def test_read_only_mount_refuses_every_change(self):
        ftp = self.ftp()
        self.assertEqual(self.retr(ftp, "/ro/f.txt"), b"read only\n")
        self.assertEqual(sorted(self.nlst(ftp, "/ro")), ["f.txt", "sub"])
        facts = ftp.sendcmd("MLST /ro/f.txt")
        self.assertNotRegex(facts, r"perm=[^;]*[wadfm]")
        for cmd in ("STOR /ro/new", "STOR /ro/f.txt", "APPE /ro/f.txt", "APPE /ro/new", "STOU /ro/new",
                    "STOR /ro/sub/new"):
            self.refused(ftp, cmd, codes=("550",), data=b"evil\n")
        ftp.sendcmd("REST 2")
        self.refused(ftp, "STOR /ro/f.txt", codes=("550",), data=b"evil\n")
        ftp.cwd("/ro")
        text = self.refused(ftp, "STOU", codes=("550",), data=b"evil\n")  # no name: the server's pick
        self.assertTrue(text.startswith("550 ferry.upload: "), text)
        ftp.cwd("/")
        for cmd in ("DELE /ro/f.txt", "MKD /ro/newdir", "MKD /ro/sub/newdir", "RMD /ro/sub",
                    "SITE CHMOD 777 /ro/f.txt", "MFMT 20000101000000 /ro/f.txt"):
            self.refused(ftp, cmd, codes=("550",))
        for src, dst in (("/ro/f.txt", "/ro/g.txt"), ("/ro/sub", "/ro/sub2"), ("/ro/f.txt", "/ro/sub/f.txt")):
            try:
                ftp.sendcmd(f"RNFR {src}")
            except ftplib.error_perm as e:  # refusing at RNFR is fine too
                self.assertTrue(str(e).startswith("550"), str(e))
                continue
            self.refused(ftp, f"RNTO {dst}", codes=("550",))
        # Moving a file out of or into the read-only mount crosses mounts.
        ftp.sendcmd("RNFR /ro/f.txt")
        self.refused(ftp, "RNTO /moved.txt")
        ftp.sendcmd("RNFR /sub/f")
        self.refused(ftp, "RNTO /ro/f2")
        self.assertTrue(os.path.isfile(os.path.join(self.root, "sub", "f")))
        self.logged(r"alice: /ro/f\.txt: read-only file system")


class TraversalWalkTest(TraversalTest):
    """The same with fs_local's component-by-component walk (the fallback for kernels or
    seccomp filters without openat2), forced by FERRY_FS_LOCAL_WALK=1."""

    @classmethod
    def setUpClass(cls):
        old = os.environ.get("FERRY_FS_LOCAL_WALK")
        os.environ["FERRY_FS_LOCAL_WALK"] = "1"
        try:
            super().setUpClass()
        finally:
            if old is None:
                del os.environ["FERRY_FS_LOCAL_WALK"]
            else:
                os.environ["FERRY_FS_LOCAL_WALK"] = old


if __name__ == "__main__":
    unittest.main()
