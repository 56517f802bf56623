"""ftplib against ferryd with a writable fs_local at "/" and send_png at "/welcome".

Every upload/download/file-management command of the "Full FTP" surface, each run four
times: PASV, EPSV, PORT and EPRT data connections (one server per class). Content is
checked on disk under the user's root (sha256), not only through the server.
"""

import calendar
import ftplib
import hashlib
import io
import os
import re
import socket
import stat
import struct
import time
import unittest

from ferryd_harness import ServerTestCase, fs_local_mounts, random_passive_range

GIB4 = 4 << 30


def sha(data):
    return hashlib.sha256(data).hexdigest()


def file_sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def parse_mlst_facts(line):
    """' type=file;size=5;...; name' -> ({'type': 'file', ...}, 'name')."""
    facts_text, _, name = line.strip().partition(" ")
    facts = {}
    for fact in facts_text.split(";"):
        if fact:
            k, _, v = fact.partition("=")
            facts[k.lower()] = v
    return facts, name


class _FtplibInterop:
    """The tests; subclasses pick the data-connection style."""

    MODE = "PASV"
    server_kwargs = {"mounts": fs_local_mounts()}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = cls.server.user_root()

    # ----- helpers ----------------------------------------------------------------
    def ftp(self):
        f = super().ftp(passive=self.MODE in ("PASV", "EPSV"))
        if self.MODE == "EPSV":
            def makepasv(f=f):
                return ftplib.parse229(f.sendcmd("EPSV"), f.sock.getpeername())
            f.makepasv = makepasv
        elif self.MODE == "EPRT":
            f.sendport = f.sendeprt
        # Record every reply (the 150 text of STOU, the 350 of REST, ...).
        f.replies = []
        orig = f.getresp

        def getresp(orig=orig, f=f):
            r = orig()
            f.replies.append(r)
            return r
        f.getresp = getresp
        f.voidcmd("TYPE I")
        return f

    def name(self, suffix=""):
        return f"{self._testMethodName}{suffix}"

    def disk(self, rel):
        return os.path.join(self.root, rel)

    def read_disk(self, rel):
        with open(self.disk(rel), "rb") as f:
            return f.read()

    def stor(self, ftp, name, data, cmd="STOR", rest=None):
        return ftp.storbinary(f"{cmd} {name}" if name else cmd, io.BytesIO(data), blocksize=1 << 16, rest=rest)

    def retr(self, ftp, name, rest=None):
        out = []
        ftp.retrbinary(f"RETR {name}", out.append, blocksize=1 << 16, rest=rest)
        return b"".join(out)

    def assert_code(self, code_prefixes, fn, *args):
        """fn(*args) must fail with a reply starting with one of code_prefixes."""
        with self.assertRaises(ftplib.Error, msg=args) as cm:
            fn(*args)
        text = str(cm.exception)
        self.assertTrue(text.startswith(tuple(code_prefixes)), f"{args}: {text}")
        return text

    def mlst(self, ftp, path):
        resp = ftp.sendcmd(f"MLST {path}")
        lines = resp.splitlines()
        self.assertTrue(lines[0].startswith("250-"), resp)
        self.assertTrue(lines[-1].startswith("250 "), resp)
        return parse_mlst_facts(lines[1])

    def temp_leftovers(self, rel_dir=""):
        return [n for n in os.listdir(self.disk(rel_dir)) if ".ferry-" in n]

    # ----- uploads and downloads ----------------------------------------------------
    def test_binary_round_trips_0_1_and_many_bytes(self):
        ftp = self.ftp()
        for size in (0, 1, (1 << 20) + 7):
            data = os.urandom(size)
            name = self.name(f"-{size}.bin")
            resp = self.stor(ftp, name, data)
            self.assertTrue(resp.startswith("226"), resp)
            self.assertTrue(ftp.replies[-2].startswith("150"), ftp.replies)
            self.assertEqual(file_sha(self.disk(name)), sha(data), name)
            self.assertEqual(os.path.getsize(self.disk(name)), size)
            self.assertEqual(ftp.size(name), size)
            self.assertEqual(sha(self.retr(ftp, name)), sha(data), name)
            self.assertIn(name, ftp.nlst())

    def test_overwrite_replaces_content_and_keeps_no_temp_file(self):
        ftp = self.ftp()
        name = self.name(".bin")
        self.stor(ftp, name, b"old content that is longer")
        new = os.urandom(1000)
        self.stor(ftp, name, new)
        self.assertEqual(self.read_disk(name), new)
        self.assertEqual(self.temp_leftovers(), [])

    def test_utf8_file_name(self):
        ftp = self.ftp()
        name = self.name("-fähre-日本.txt")
        data = "über".encode()
        self.stor(ftp, name, data)
        self.assertEqual(self.read_disk(name), data)
        self.assertIn(name, ftp.nlst())
        self.assertEqual(self.retr(ftp, name), data)

    def test_appe_creates_then_appends(self):
        ftp = self.ftp()
        name = self.name(".log")
        a, b = os.urandom(3000), os.urandom(5000)
        self.assertTrue(self.stor(ftp, name, a, cmd="APPE").startswith("226"))
        self.assertEqual(self.read_disk(name), a)
        self.assertTrue(self.stor(ftp, name, b, cmd="APPE").startswith("226"))
        self.assertEqual(file_sha(self.disk(name)), sha(a + b))

    def test_stou_reports_the_unique_name(self):
        ftp = self.ftp()
        base = self.name(".txt")
        names = []
        for i in range(3):
            data = f"unique {i}".encode()
            resp = self.stor(ftp, base, data, cmd="STOU")
            prelim = ftp.replies[-2]
            m = re.match(r"150 FILE: (\S+)$", prelim)
            self.assertIsNotNone(m, prelim)
            got = m.group(1)
            self.assertTrue(resp.startswith("226"), resp)
            self.assertIn(got, resp)  # 226 names it too
            self.assertEqual(self.read_disk(got), data)
            names.append(got)
        self.assertEqual(names[0], base)
        self.assertEqual(len(set(names)), 3, names)
        # STOU without a name: the server picks one.
        self.stor(ftp, None, b"x", cmd="STOU")
        m = re.match(r"150 FILE: (\S+)$", ftp.replies[-2])
        self.assertIsNotNone(m, ftp.replies[-2])
        self.assertEqual(self.read_disk(m.group(1).lstrip("/")), b"x")

    def test_rest_stor_resumes_an_upload(self):
        ftp = self.ftp()
        name = self.name(".bin")
        data = os.urandom(300_000)
        cut = 123_457
        self.stor(ftp, name, data[:cut])
        self.assertEqual(os.path.getsize(self.disk(name)), cut)
        resp = self.stor(ftp, name, data[cut:], rest=cut)
        self.assertTrue(resp.startswith("226"), resp)
        self.assertEqual(ftp.replies[-3][:3], "350", ftp.replies)  # REST answered 350
        self.assertEqual(file_sha(self.disk(name)), sha(data))

    def test_rest_stor_inside_a_file_truncates_there(self):
        # Documented fs_local behaviour: REST n + STOR truncates to n, then writes.
        ftp = self.ftp()
        name = self.name(".bin")
        self.stor(ftp, name, b"0123456789")
        self.stor(ftp, name, b"AB", rest=4)
        self.assertEqual(self.read_disk(name), b"0123AB")

    def test_rest_beyond_the_end_is_refused(self):
        ftp = self.ftp()
        name = self.name(".bin")
        self.stor(ftp, name, b"0123456789")
        ftp.sendcmd("REST 100")
        self.assert_code(("554", "550"), self.stor, ftp, name, b"zz")
        self.assertEqual(self.read_disk(name), b"0123456789")
        ftp.sendcmd("REST 100")
        self.assert_code(("554", "550"), self.retr, ftp, name)
        # The restart position does not stick to the next command.
        self.assertEqual(self.retr(ftp, name), b"0123456789")

    def test_rest_retr_returns_the_tail(self):
        ftp = self.ftp()
        name = self.name(".bin")
        data = os.urandom(200_000)
        self.stor(ftp, name, data)
        for off in (0, 1, 65_536, 199_999, 200_000):
            self.assertEqual(self.retr(ftp, name, rest=off), data[off:], off)

    # ----- TYPE A ---------------------------------------------------------------
    def test_type_a_converts_line_endings_both_ways(self):
        ftp = self.ftp()
        name = self.name(".txt")
        self.assertTrue(ftp.voidcmd("TYPE A").startswith("200"))
        conn = ftp.transfercmd(f"STOR {name}")
        conn.sendall(b"a\r\nb\r\n")
        conn.close()
        self.assertTrue(ftp.voidresp().startswith("226"))
        self.assertEqual(self.read_disk(name), b"a\nb\n")
        conn = ftp.transfercmd(f"RETR {name}")
        got = b""
        while chunk := conn.recv(4096):
            got += chunk
        conn.close()
        self.assertTrue(ftp.voidresp().startswith("226"))
        self.assertEqual(got, b"a\r\nb\r\n")
        ftp.voidcmd("TYPE I")
        self.assertEqual(self.retr(ftp, name), b"a\nb\n")
        # ftplib's own ASCII helpers agree.
        lines = []
        ftp.retrlines(f"RETR {name}", lines.append)
        self.assertEqual(lines, ["a", "b"])

    # ----- file management --------------------------------------------------------
    def test_mkd_rmd_dele_codes_and_refusals(self):
        ftp = self.ftp()
        d = self.name("-dir")
        resp = ftp.sendcmd(f"MKD {d}")
        self.assertTrue(resp.startswith("257"), resp)
        self.assertIn(f'"/{d}"', resp)
        self.assertTrue(os.path.isdir(self.disk(d)))
        self.assert_code(("550", "553"), ftp.sendcmd, f"MKD {d}")
        self.assertTrue(ftp.sendcmd(f"MKD {d}/sub").startswith("257"))
        self.stor(ftp, f"{d}/sub/f", b"f")
        self.assert_code(("550",), ftp.sendcmd, f"RMD {d}/sub")       # not empty
        self.assert_code(("550",), ftp.sendcmd, f"DELE {d}/sub")      # a directory
        self.assert_code(("550",), ftp.sendcmd, f"DELE {d}/missing")  # missing
        self.assert_code(("550",), ftp.sendcmd, f"RMD {d}/missing")
        self.assertTrue(ftp.sendcmd(f"DELE {d}/sub/f").startswith("250"))
        self.assertFalse(os.path.exists(self.disk(f"{d}/sub/f")))
        self.assertTrue(ftp.sendcmd(f"RMD {d}/sub").startswith("250"))
        self.assertTrue(ftp.sendcmd(f"RMD {d}").startswith("250"))
        self.assertFalse(os.path.exists(self.disk(d)))
        # CWD into a new directory, relative upload, CDUP.
        ftp.sendcmd(f"MKD {d}")
        self.assertTrue(ftp.sendcmd(f"CWD {d}").startswith("250"))
        self.assertEqual(ftp.pwd(), f"/{d}")
        self.stor(ftp, "inner.bin", b"inner")
        self.assertEqual(self.read_disk(f"{d}/inner.bin"), b"inner")
        self.assertTrue(ftp.sendcmd("CDUP").startswith(("200", "250")))
        self.assertEqual(ftp.pwd(), "/")
        self.assert_code(("550",), ftp.sendcmd, f"CWD {d}/inner.bin")

    def test_rnfr_rnto_codes_and_refusals(self):
        ftp = self.ftp()
        a, b = self.name("-a"), self.name("-b")
        data = os.urandom(777)
        self.stor(ftp, a, data)
        self.assertTrue(ftp.sendcmd(f"RNFR {a}").startswith("350"))
        self.assertTrue(ftp.sendcmd(f"RNTO {b}").startswith("250"))
        self.assertFalse(os.path.exists(self.disk(a)))
        self.assertEqual(self.read_disk(b), data)
        self.assert_code(("503",), ftp.sendcmd, f"RNTO {a}")           # no RNFR
        self.assert_code(("550",), ftp.sendcmd, f"RNFR {a}")           # gone
        ftp.sendcmd(f"RNFR {b}")
        ftp.sendcmd("NOOP")
        self.assert_code(("503",), ftp.sendcmd, f"RNTO {a}")           # RNFR not immediately before
        ftp.sendcmd(f"RNFR {b}")
        self.assert_code(("553",), ftp.sendcmd, f"RNTO /welcome/{a}")  # across mounts
        self.assertEqual(self.read_disk(b), data)
        # A directory renames with its contents.
        d1, d2 = self.name("-d1"), self.name("-d2")
        ftp.sendcmd(f"MKD {d1}")
        self.stor(ftp, f"{d1}/x", b"x")
        ftp.sendcmd(f"RNFR {d1}")
        self.assertTrue(ftp.sendcmd(f"RNTO {d2}").startswith("250"))
        self.assertEqual(self.read_disk(f"{d2}/x"), b"x")
        # Renaming the read-only image is refused.
        ftp.sendcmd("RNFR /welcome/ferry.png")  # 350 or a refusal here: either is fine
        self.assert_code(("550", "553"), ftp.sendcmd, "RNTO /welcome/other.png")

    def test_uploads_into_welcome_are_refused(self):
        ftp = self.ftp()
        for cmd in ("STOR", "APPE", "STOU"):
            self.assert_code(("550", "553"), self.stor, ftp, "/welcome/x.bin", b"x", cmd)
        self.assert_code(("550", "553"), self.stor, ftp, "/welcome/ferry.png", b"x")
        for cmd in ("DELE /welcome/ferry.png", "MKD /welcome/d", "RMD /welcome"):
            self.assert_code(("550", "553"), ftp.sendcmd, cmd)
        self.assertEqual(self.retr(ftp, "/welcome/ferry.png"), self.server.image_bytes)

    def test_mfmt_then_mdtm_round_trip(self):
        ftp = self.ftp()
        name = self.name(".bin")
        self.stor(ftp, name, b"time")
        resp = ftp.sendcmd(f"MFMT 20200102030405 {name}")
        self.assertTrue(resp.startswith("213"), resp)
        self.assertIn("20200102030405", resp)
        self.assertEqual(ftp.sendcmd(f"MDTM {name}"), "213 20200102030405")
        want = calendar.timegm(time.strptime("20200102030405", "%Y%m%d%H%M%S"))
        self.assertEqual(int(os.stat(self.disk(name)).st_mtime), want)  # UTC on disk
        facts, _ = self.mlst(ftp, name)
        self.assertEqual(facts["modify"][:14], "20200102030405")
        self.assert_code(("550",), ftp.sendcmd, f"MFMT 20200102030405 {self.name('-missing')}")
        self.assert_code(("501",), ftp.sendcmd, f"MFMT 2020 {name}")

    def test_site_chmod_then_mlst_and_list(self):
        ftp = self.ftp()
        name = self.name(".bin")
        self.stor(ftp, name, b"mode")
        self.assertTrue(ftp.sendcmd(f"SITE CHMOD 600 {name}").startswith("200"))
        self.assertEqual(stat.S_IMODE(os.stat(self.disk(name)).st_mode), 0o600)
        lines = []
        ftp.retrlines(f"LIST {name}", lines.append)
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].startswith("-rw------- "), lines)
        self.assertTrue(lines[0].endswith(" " + name), lines)
        facts, _ = self.mlst(ftp, name)
        self.assertIn("r", facts["perm"])
        self.assertTrue(ftp.sendcmd(f"SITE CHMOD 444 {name}").startswith("200"))
        self.assertEqual(stat.S_IMODE(os.stat(self.disk(name)).st_mode), 0o444)
        lines = []
        ftp.retrlines(f"LIST {name}", lines.append)
        self.assertTrue(lines[0].startswith("-r--r--r-- "), lines)
        facts, _ = self.mlst(ftp, name)
        if os.geteuid() != 0:  # root may write anyway, so the perm fact keeps "w" then
            self.assertNotIn("w", facts["perm"])
        self.assert_code(("550",), ftp.sendcmd, f"SITE CHMOD 600 {self.name('-missing')}")

    def test_mlsd_and_mlst_facts(self):
        ftp = self.ftp()
        d = self.name("-dir")
        ftp.sendcmd(f"MKD {d}")
        ftp.sendcmd(f"MKD {d}/sub")
        self.stor(ftp, f"{d}/f1", b"12345")
        self.stor(ftp, f"{d}/f2", b"")
        entries = {name: facts for name, facts in ftp.mlsd(d, facts=["type", "size", "modify", "perm", "unique"])}
        entries = {n: f for n, f in entries.items() if f.get("type") not in ("cdir", "pdir")}
        self.assertEqual(sorted(entries), ["f1", "f2", "sub"])
        self.assertEqual(entries["f1"]["type"], "file")
        self.assertEqual(entries["f1"]["size"], "5")
        self.assertEqual(entries["f2"]["size"], "0")
        self.assertEqual(entries["sub"]["type"], "dir")
        for n, f in entries.items():
            for fact in ("modify", "perm", "unique"):
                self.assertIn(fact, f, (n, f))
            self.assertRegex(f["modify"], r"^\d{14}(\.\d+)?$")
        self.assertEqual(len({f["unique"] for f in entries.values()}), 3, entries)
        self.assertIn("w", entries["f1"]["perm"])
        self.assertIn("c", entries["sub"]["perm"])
        facts, name = self.mlst(ftp, f"{d}/f1")
        self.assertEqual(name, f"/{d}/f1")
        self.assertEqual(facts["unique"], entries["f1"]["unique"])  # stable
        self.assertEqual(facts["size"], "5")
        mtime = int(os.stat(self.disk(f"{d}/f1")).st_mtime)
        self.assertEqual(facts["modify"][:14], time.strftime("%Y%m%d%H%M%S", time.gmtime(mtime)))

    def test_hash_of_an_upload(self):
        ftp = self.ftp()
        name = self.name(".bin")
        data = os.urandom(50_000)
        self.stor(ftp, name, data)
        self.assertIn(sha(data), ftp.sendcmd(f"HASH {name}"))
        self.assertEqual(ftp.sendcmd(f"XSHA256 {name}"), f"213 {sha(data)}")
        self.assertTrue(ftp.sendcmd("ALLO 100000").startswith(("200", "202")))

    # ----- > 4 GiB, sparse --------------------------------------------------------
    def test_sparse_file_beyond_4gib(self):
        name = self.name(".sparse")
        path = self.disk(name)
        size = GIB4 + 4096
        with open(path, "wb") as f:
            f.truncate(size)
        fd = os.open(path, os.O_RDWR)
        try:
            os.pwrite(fd, b"HEAD", 0)
            os.pwrite(fd, b"MARK-4G", GIB4 + 100)
            os.pwrite(fd, b"END!", size - 4)
        finally:
            os.close(fd)
        ftp = self.ftp()
        self.assertEqual(ftp.sendcmd(f"SIZE {name}"), f"213 {size}")
        facts, _ = self.mlst(ftp, name)
        self.assertEqual(facts["size"], str(size))
        off = GIB4 + 90
        tail = self.retr(ftp, name, rest=off)
        want = bytearray(size - off)
        want[10:17] = b"MARK-4G"
        want[-4:] = b"END!"
        self.assertEqual(len(tail), size - off)
        self.assertEqual(bytes(tail), bytes(want))
        # REST past 4 GiB + STOR: the file is cut there and the new tail written (documented
        # fs_local resume semantics); everything before the offset is untouched.
        off2 = GIB4 + 200
        new_tail = os.urandom(3000)
        resp = self.stor(ftp, name, new_tail, rest=off2)
        self.assertTrue(resp.startswith("226"), resp)
        st = os.stat(path)
        self.assertEqual(st.st_size, off2 + len(new_tail))
        self.assertLess(st.st_blocks * 512, 1 << 24, "the sparse file was filled in")
        fd = os.open(path, os.O_RDONLY)
        try:
            self.assertEqual(os.pread(fd, 4, 0), b"HEAD")
            self.assertEqual(os.pread(fd, 7, GIB4 + 100), b"MARK-4G")
            self.assertEqual(os.pread(fd, 80, off2 - 80), bytes(80))
            self.assertEqual(os.pread(fd, len(new_tail) + 10, off2), new_tail)
        finally:
            os.close(fd)
        self.assertEqual(ftp.sendcmd(f"SIZE {name}"), f"213 {off2 + len(new_tail)}")
        self.assertEqual(self.retr(ftp, name, rest=off2 - 2), b"\0\0" + new_tail)
        os.remove(path)

    # ----- ABOR during an upload ---------------------------------------------------
    def _abort_upload(self, name, data, sent):
        ftp = self.ftp()
        conn = ftp.transfercmd(f"STOR {name}")
        try:
            conn.sendall(data[:sent])
            time.sleep(0.2)
            first = ftp.abort()
            self.assertTrue(first.startswith("426"), first)
            second = ftp.getresp()
            self.assertTrue(second.startswith("226"), second)
        finally:
            conn.close()
        self.assertEqual(ftp.voidcmd("NOOP")[:3], "200")
        return ftp

    def _no_temp_files_soon(self):
        deadline = time.monotonic() + 3
        while self.temp_leftovers() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.temp_leftovers(), [])

    def test_abor_during_stor_keeps_the_old_file(self):
        name = self.name(".bin")
        old = os.urandom(100_000)
        ftp = self.ftp()
        self.stor(ftp, name, old)
        data = os.urandom(16 << 20)
        ftp2 = self._abort_upload(name, data, 4 << 20)
        self.assertEqual(file_sha(self.disk(name)), sha(old))
        self._no_temp_files_soon()
        self.assertEqual(sha(self.retr(ftp2, name)), sha(old))
        self.server.wait_for_log(r"transfer failed: STOR /" + re.escape(name))

    def test_abor_during_stor_of_a_new_file_leaves_a_resumable_part(self):
        name = self.name(".bin")
        data = os.urandom(16 << 20)
        ftp = self._abort_upload(name, data, 4 << 20)
        have = os.path.getsize(self.disk(name))
        self.assertLessEqual(have, 4 << 20)
        self.assertEqual(file_sha(self.disk(name)), sha(data[:have]))
        self.assertEqual(ftp.size(name), have)
        resp = self.stor(ftp, name, data[have:], rest=have)
        self.assertTrue(resp.startswith("226"), resp)
        self.assertEqual(file_sha(self.disk(name)), sha(data))

    # ----- a data connection reset (no ABOR) during an upload ----------------------
    def _reset_upload(self, ftp, name, data):
        conn = ftp.transfercmd(f"STOR {name}")
        conn.sendall(data)
        time.sleep(0.1)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()  # RST, not FIN: the server must not take this for the end of the file
        with self.assertRaises(ftplib.Error) as cm:
            ftp.voidresp()
        self.assertTrue(str(cm.exception).startswith(("426", "451")), str(cm.exception))
        self.assertEqual(ftp.voidcmd("NOOP")[:3], "200")

    def test_reset_during_an_overwrite_keeps_the_old_file(self):
        ftp = self.ftp()
        name = self.name(".bin")
        old = os.urandom(50_000)
        self.stor(ftp, name, old)
        self._reset_upload(ftp, name, os.urandom(2 << 20))
        self.assertEqual(file_sha(self.disk(name)), sha(old))
        self._no_temp_files_soon()
        self.server.wait_for_log(r"transfer failed: STOR /" + re.escape(name) + r" .*reset by peer")

    def test_reset_during_a_new_upload_leaves_a_resumable_part(self):
        ftp = self.ftp()
        name = self.name(".bin")
        data = os.urandom(4 << 20)
        self._reset_upload(ftp, name, data[:1 << 20])
        have = os.path.getsize(self.disk(name))
        self.assertEqual(file_sha(self.disk(name)), sha(data[:have]))
        self.stor(ftp, name, data[have:], cmd="APPE")
        self.assertEqual(file_sha(self.disk(name)), sha(data))

    # ----- more refusals ------------------------------------------------------------
    def test_rename_and_upload_edge_cases(self):
        ftp = self.ftp()
        a, b, d = self.name("-a"), self.name("-b"), self.name("-d")
        self.stor(ftp, a, b"new")
        self.stor(ftp, b, b"old")
        ftp.sendcmd(f"RNFR {a}")
        self.assertEqual(ftp.sendcmd(f"RNTO {b}")[:3], "250")  # replaces an existing file
        self.assertEqual(self.read_disk(b), b"new")
        self.assertFalse(os.path.exists(self.disk(a)))
        ftp.sendcmd(f"MKD {d}")
        ftp.sendcmd(f"MKD {d}/sub")
        ftp.sendcmd(f"RNFR {d}")
        self.assert_code(("550", "553"), ftp.sendcmd, f"RNTO {d}/sub/inside")  # into itself
        ftp.sendcmd(f"RNFR {b}")
        self.assert_code(("550", "553"), ftp.sendcmd, f"RNTO {d}")             # onto a directory
        self.assertEqual(self.read_disk(b), b"new")
        self.assert_code(("550", "553"), self.stor, ftp, d, b"x")               # STOR onto a directory
        self.assert_code(("550",), ftp.sendcmd, f"MKD {self.name('-x')}/y/z")  # missing parents
        for cmd in ("RMD /", "DELE /", "RMD /welcome", "DELE /welcome"):
            self.assert_code(("550", "553"), ftp.sendcmd, cmd)
        self.assertTrue(os.path.isdir(self.disk(f"{d}/sub")))


class FtplibPassivePasvTest(_FtplibInterop, ServerTestCase):
    MODE = "PASV"


class FtplibPassiveEpsvTest(_FtplibInterop, ServerTestCase):
    MODE = "EPSV"


class FtplibActivePortTest(_FtplibInterop, ServerTestCase):
    MODE = "PORT"


class FtplibActiveEprtTest(_FtplibInterop, ServerTestCase):
    MODE = "EPRT"


class PassivePortReuseTest(ServerTestCase):
    """A passive port must be usable again right after a transfer on it.

    After RETR or LIST the server closes the data connection first, so its side sits in
    TIME_WAIT for a minute; a listener bound without SO_REUSEADDR cannot take that port
    again, and a busy client (wget -r, lftp mirror) then runs out of ports: 425 "No
    passive port available" after (range size) transfers a minute."""

    server_kwargs = {"mounts": fs_local_mounts(), "passive_ports": random_passive_range(4)}

    def test_more_transfers_than_passive_ports(self):
        root = self.server.user_root()
        with open(os.path.join(root, "small.bin"), "wb") as f:
            f.write(b"small")
        ftp = self.ftp()
        ftp.voidcmd("TYPE I")
        for i in range(12):
            out = []
            ftp.retrbinary("RETR small.bin", out.append)
            self.assertEqual(b"".join(out), b"small", i)
            self.assertIn("small.bin", ftp.nlst(), i)


if __name__ == "__main__":
    unittest.main()
