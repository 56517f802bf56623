"""Protocol conformance in the less-travelled paths (RFC 959, 2389, 3659), as real clients
use them: each test pins a reply or behaviour a client depends on."""

import ftplib
import io
import os
import time
import unittest

from ferryd_harness import ServerTestCase, fs_local_mounts


class MlstFactSelectionTest(ServerTestCase):
    """OPTS MLST picks the facts MLST and MLSD show (RFC 3659 7.9)."""

    def test_opts_mlst_selects_the_facts_shown(self):
        ftp = self.ftp()
        self.assertEqual(ftp.sendcmd("OPTS MLST type;SIZE;nosuchfact;"), "200 MLST OPTS type;size;")
        entry = ftp.sendcmd("MLST ferry.png").splitlines()[1]
        self.assertEqual(entry, f" type=file;size={len(self.server.image_bytes)}; /ferry.png")
        self.assertIn(" MLST type*;size*;modify;perm;unique;", ftp.sendcmd("FEAT").splitlines())
        # ftplib's mlsd(facts=...) sends its own OPTS MLST, as lftp and FileZilla do.
        entries = dict(ftp.mlsd(facts=["type", "modify"]))
        self.assertEqual(set(entries["ferry.png"]), {"type", "modify"})

    def test_empty_opts_mlst_selects_no_facts(self):
        ftp = self.ftp()
        self.assertEqual(ftp.sendcmd("OPTS MLST"), "200 MLST OPTS")
        self.assertEqual(ftp.sendcmd("MLST ferry.png").splitlines()[1], "  /ferry.png")

    def test_rein_restores_every_fact(self):
        ftp = self.ftp()
        ftp.sendcmd("OPTS MLST size;")
        ftp.sendcmd("REIN")
        ftp.login(self.server.user, self.server.password)
        self.assertIn("type=file;size=", ftp.sendcmd("MLST ferry.png"))


class ListingNamesTest(ServerTestCase):
    """NLST names what it lists as ls does: what ftp(1)'s mget depends on."""

    server_kwargs = {"mounts": fs_local_mounts()}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        root = cls.server.user_root()
        os.makedirs(os.path.join(root, "sub"), exist_ok=True)
        for name in ("sub/a.txt", "sub/b.txt", "sub/c.bin", "sub/.hidden.txt", "top.txt", "[x].txt"):
            with open(os.path.join(root, name), "wb") as f:
                f.write(name.encode())

    def mget(self, ftp, argument):
        """What ftp(1)'s mget does: NLST the argument, then RETR every name it returns."""
        got = {}
        for name in ftp.nlst(argument):
            buf = io.BytesIO()
            ftp.retrbinary(f"RETR {name}", buf.write)
            got[name] = buf.getvalue()
        return got

    def test_nlst_of_a_file_names_it_as_written(self):
        ftp = self.ftp()
        self.assertEqual(self.mget(ftp, "sub/a.txt"), {"sub/a.txt": b"sub/a.txt"})
        self.assertEqual(ftp.nlst("/sub/b.txt/"), ["/sub/b.txt"])
        self.assertEqual(ftp.nlst("top.txt"), ["top.txt"])

    def test_nlst_of_a_directory_gives_bare_names(self):
        self.assertEqual(sorted(self.ftp().nlst("sub")), [".hidden.txt", "a.txt", "b.txt", "c.bin"])

    def test_a_pattern_lists_what_it_matches(self):
        ftp = self.ftp()
        self.assertEqual(self.mget(ftp, "sub/*.txt"), {"sub/a.txt": b"sub/a.txt", "sub/b.txt": b"sub/b.txt"})
        self.assertEqual(ftp.nlst("t?p.*"), ["top.txt"])
        self.assertEqual(ftp.nlst("[x].txt"), ["[x].txt"])  # a name that exists is not a pattern
        lines = []
        ftp.retrlines("LIST -l sub/*.bin", lines.append)
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].endswith(" c.bin"), lines)
        with self.assertRaisesRegex(ftplib.error_perm, "^550"):
            ftp.nlst("sub/*.zip")


class ListTimesTest(ServerTestCase):
    """LIST shows a date as ls -l does, so clients that parse it get the right year."""

    server_kwargs = {"mounts": fs_local_mounts()}

    def test_a_future_date_shows_its_year(self):
        ftp = self.ftp()
        ftp.storbinary("STOR future.txt", io.BytesIO(b"x"))
        when = time.gmtime(time.time() + 90 * 86400)
        ftp.sendcmd("MFMT " + time.strftime("%Y%m%d%H%M%S", when) + " future.txt")
        lines = []
        ftp.retrlines("LIST future.txt", lines.append)
        # Not "Mar  2 03:33": wget and lftp read a month ahead of now as last year's.
        stamp = time.strftime("%b", when) + f" {when.tm_mday:2d}  {when.tm_year}"
        self.assertIn(f" {stamp} future.txt", lines[0])


class SizeOfSpecialFilesTest(ServerTestCase):
    """SIZE and MDTM answer only for what RETR could send (RFC 3659 4, 3)."""

    server_kwargs = {"mounts": fs_local_mounts()}

    def test_a_fifo_has_no_size(self):
        os.mkfifo(os.path.join(self.server.user_root(), "pipe"))
        ftp = self.ftp()
        for command in ("SIZE pipe", "MDTM pipe"):
            with self.assertRaisesRegex(ftplib.error_perm, "^550", msg=command):
                ftp.sendcmd(command)
        with self.assertRaisesRegex(ftplib.error_perm, "^550"):  # what SIZE has to agree with
            ftp.retrbinary("RETR pipe", lambda b: None)


class StouNamesTheFileTest(ServerTestCase):
    """STOU's replies name the path it wrote (RFC 1123 4.1.2.9), one a client can RETR."""

    server_kwargs = {"mounts": fs_local_mounts()}

    def test_stou_in_another_directory_gives_the_whole_path(self):
        ftp = self.ftp()
        replies = []  # every reply line, the 150 of each transfer included
        getline = ftp.getline
        ftp.getline = lambda: replies.append(getline()) or replies[-1]
        ftp.mkd("sub")
        ftp.storbinary("STOR sub/x", io.BytesIO(b"first"))
        ftp.storbinary("STOU sub/x", io.BytesIO(b"second"))
        self.assertIn("150 FILE: /sub/x.1", replies)
        self.assertIn("226 Transfer complete: /sub/x.1", replies)
        got = io.BytesIO()
        ftp.retrbinary("RETR /sub/x.1", got.write)
        self.assertEqual(got.getvalue(), b"second")
        ftp.cwd("sub")
        ftp.storbinary("STOU x", io.BytesIO(b"third"))  # in the current directory: the bare name
        self.assertIn("150 FILE: x.2", replies)


class RenameSequenceTest(ServerTestCase):
    """RNTO must come right after RNFR (RFC 959 4.1.3): whatever comes between forgets it."""

    server_kwargs = {"mounts": fs_local_mounts()}

    def test_any_line_between_rnfr_and_rnto_forgets_the_source(self):
        ftp = self.ftp()
        ftp.storbinary("STOR a", io.BytesIO(b"a"))
        for between in ("FOO bar", "NOOP", "X" * 5000):
            with self.subTest(between=between[:10]):
                self.assertTrue(ftp.sendcmd("RNFR a").startswith("350"))
                ftp.putcmd(between)
                self.assertRegex(ftp.getline(), "^[25]")  # 502, 200 or 500: answered
                with self.assertRaisesRegex(ftplib.error_perm, "^503"):
                    ftp.sendcmd("RNTO b")
        self.assertEqual(sorted(ftp.nlst()), ["a", "welcome"])
        ftp.sendcmd("RNFR a")
        ftp.sendcmd("RNTO b")  # right after it: renamed
        self.assertEqual(sorted(ftp.nlst()), ["b", "welcome"])


class MfmtReplyTest(ServerTestCase):
    """MFMT's 213 gives the time the file got, which MDTM then agrees with."""

    server_kwargs = {"mounts": fs_local_mounts()}

    def test_mfmt_answers_the_time_the_file_has(self):
        ftp = self.ftp()
        ftp.storbinary("STOR old.txt", io.BytesIO(b"x"))
        # 1900 is before what many file systems store (ext4's small inodes clamp it to 1901).
        for stamp in ("19000101000000", "20200102030405"):
            with self.subTest(stamp=stamp):
                reply = ftp.sendcmd(f"MFMT {stamp} old.txt")
                self.assertRegex(reply, r"^213 Modify=\d{14}; old\.txt$")
                self.assertEqual(reply[len("213 Modify="):][:14], ftp.sendcmd("MDTM old.txt")[4:])


if __name__ == "__main__":
    unittest.main()
