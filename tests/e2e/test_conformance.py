"""Protocol conformance in the less-travelled paths (RFC 959, 2389, 3659), as real clients
use them: each test pins a reply or behaviour a client depends on."""

import unittest

from ferryd_harness import ServerTestCase


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


if __name__ == "__main__":
    unittest.main()
