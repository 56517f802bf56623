"""Python's ftplib against every command ferryd answers, pinning the reply codes."""

import ftplib
import hashlib
import io
import re
import socket
import time
import unittest

from ferryd_harness import IMAGE_MTIME, ServerTestCase, close_quietly

MDTM_STAMP = time.strftime("%Y%m%d%H%M%S", time.gmtime(IMAGE_MTIME))


def code(exc_or_reply):
    return str(exc_or_reply)[:3]


class FtplibTest(ServerTestCase):

    def assertReplyCode(self, want, fn, *args):
        """fn(*args) must end in reply code `want` (raised as ftplib error or returned)."""
        try:
            reply = fn(*args)
        except ftplib.all_errors as e:
            reply = str(e)
        self.assertEqual(code(reply), want, f"{args!r} -> {reply!r}")
        return reply

    def retr(self, ftp, path="ferry.png", rest=None):
        buf = io.BytesIO()
        ftp.retrbinary(f"RETR {path}", buf.write, rest=rest)
        return buf.getvalue()

    # ----- login -------------------------------------------------------------------
    def test_login_ok_230(self):
        f = self.ftp(login=False)
        self.assertTrue(f.getwelcome().startswith("220"))
        self.assertEqual(code(f.login(self.server.user, self.server.password)), "230")

    def test_wrong_password_530_logged_as_refused_without_password(self):
        f = self.ftp(login=False)
        bad = "not-the-password-" + self.server.password[::-1]
        mark = self.server.log_mark()
        with self.assertRaises(ftplib.error_perm) as cm:
            f.login(self.server.user, bad)
        self.assertEqual(code(cm.exception), "530")
        line = self.server.wait_for_log(r"refused", start=mark)
        self.assertIsNotNone(line, "no 'refused' log line for a wrong password:\n" + self.server.log_text())
        self.assertIn(self.server.user, line)
        self.assertNotIn(bad, self.server.log_text())
        self.assertNotIn(self.server.password, self.server.log_text())

    def test_commands_before_login_530(self):
        f = self.ftp(login=False)
        self.assertReplyCode("530", f.sendcmd, "PWD")
        self.assertReplyCode("530", f.sendcmd, "LIST")
        self.assertReplyCode("530", f.sendcmd, "RETR ferry.png")
        self.assertReplyCode("530", f.sendcmd, "NLST")

    def test_unknown_verb_502(self):
        f = self.ftp()
        self.assertReplyCode("502", f.sendcmd, "FROBNICATE x")
        self.assertReplyCode("502", f.sendcmd, "XYZZY")
        self.assertReplyCode("200", f.sendcmd, "NOOP")

    def test_unknown_verb_before_login_502_or_530(self):
        f = self.ftp(login=False)
        reply = _try(f.sendcmd, "XYZZY")
        self.assertIn(code(reply), ("502", "530"), reply)
        self.assertEqual(code(f.login(self.server.user, self.server.password)), "230")

    # ----- informational -----------------------------------------------------------
    def test_syst_215(self):
        self.assertReplyCode("215", self.ftp().sendcmd, "SYST")

    def test_feat_lists_extensions(self):
        reply = self.assertReplyCode("211", self.ftp().sendcmd, "FEAT")
        lines = reply.splitlines()
        self.assertTrue(lines[0].startswith("211-"), reply)
        self.assertTrue(lines[-1].startswith("211 "), reply)
        feats = {ln.strip().split(" ")[0].upper(): ln.strip() for ln in lines[1:-1]}
        for f in ("EPSV", "HASH", "MDTM", "MLST", "REST", "SIZE", "UTF8"):
            self.assertIn(f, feats, reply)
        self.assertEqual(feats["REST"].upper(), "REST STREAM")
        self.assertIn("SHA-256", feats["HASH"])
        for line in lines[1:-1]:
            self.assertTrue(line.startswith(" "), f"feature lines start with a space: {line!r}")

    def test_opts_utf8_on_200(self):
        self.assertReplyCode("200", self.ftp().sendcmd, "OPTS UTF8 ON")

    def test_opts_hash_sha512_then_hash_gives_sha512(self):
        f = self.ftp()
        self.assertReplyCode("200", f.sendcmd, "OPTS HASH SHA-512")
        reply = self.assertReplyCode("213", f.sendcmd, "HASH ferry.png")
        want = hashlib.sha512(self.server.image_bytes).hexdigest()
        m = re.match(r"213 (\S+) (\d+)-(\d+) ([0-9a-fA-F]+) (.+)$", reply)
        self.assertIsNotNone(m, reply)
        self.assertEqual(m.group(1), "SHA-512")
        self.assertEqual(m.group(4).lower(), want)

    def test_opts_hash_unknown_algorithm_refused(self):
        f = self.ftp()
        reply = _try(f.sendcmd, "OPTS HASH CRC-99")
        self.assertTrue(code(reply).startswith("5"), reply)
        # the selection is unchanged: HASH still answers SHA-256
        self.assertIn(" SHA-256 ", f.sendcmd("HASH ferry.png"))

    def test_help_214_multiline(self):
        reply = self.assertReplyCode("214", self.ftp().sendcmd, "HELP")
        self.assertTrue(reply.startswith("214-"), reply)
        self.assertGreater(len(reply.splitlines()), 2)
        self.assertIn("RETR", reply)

    def test_stat_211_multiline(self):
        reply = self.assertReplyCode("211", self.ftp().sendcmd, "STAT")
        self.assertTrue(reply.startswith("211-"), reply)
        self.assertTrue(reply.splitlines()[-1].startswith("211 "), reply)

    def test_stat_path_213(self):
        reply = self.assertReplyCode("213", self.ftp().sendcmd, "STAT ferry.png")
        self.assertIn("ferry.png", reply)
        self.assertIn(str(len(self.server.image_bytes)), reply)

    def test_noop_200(self):
        self.assertReplyCode("200", self.ftp().sendcmd, "NOOP")

    def test_quit_221_and_closes(self):
        f = self.server.ftp()
        try:
            self.assertEqual(code(f.quit()), "221")
        finally:
            f.close()

    # ----- directories -------------------------------------------------------------
    def test_pwd_257_root(self):
        reply = self.assertReplyCode("257", self.ftp().sendcmd, "PWD")
        self.assertIn('"/"', reply)

    def test_xpwd_257(self):
        self.assertReplyCode("257", self.ftp().sendcmd, "XPWD")

    def test_cwd_root_and_cdup_250(self):
        f = self.ftp()
        self.assertReplyCode("250", f.sendcmd, "CWD /")
        self.assertReplyCode("250", f.sendcmd, "CDUP")
        self.assertReplyCode("250", f.sendcmd, "XCWD /")
        self.assertReplyCode("250", f.sendcmd, "XCUP")
        self.assertEqual(f.pwd(), "/")

    def test_cwd_missing_dir_550(self):
        f = self.ftp()
        self.assertReplyCode("550", f.sendcmd, "CWD no-such-dir")
        self.assertEqual(f.pwd(), "/")

    def test_cwd_to_a_file_550(self):
        self.assertReplyCode("550", self.ftp().sendcmd, "CWD ferry.png")

    def test_cwd_dotdot_stays_at_root(self):
        f = self.ftp()
        f.sendcmd("CWD ../../..")
        self.assertEqual(f.pwd(), "/")
        self.assertEqual(self.retr(f, "../../ferry.png"), self.server.image_bytes)

    # ----- transfer parameters -----------------------------------------------------
    def test_type_a_i_200_x_504(self):
        f = self.ftp()
        self.assertReplyCode("200", f.sendcmd, "TYPE A")
        self.assertReplyCode("200", f.sendcmd, "TYPE I")
        self.assertReplyCode("504", f.sendcmd, "TYPE X")

    def test_mode_s_200_b_504(self):
        f = self.ftp()
        self.assertReplyCode("200", f.sendcmd, "MODE S")
        self.assertReplyCode("504", f.sendcmd, "MODE B")

    def test_stru_f_200_r_504(self):
        f = self.ftp()
        self.assertReplyCode("200", f.sendcmd, "STRU F")
        self.assertReplyCode("504", f.sendcmd, "STRU R")

    def test_pasv_227_usable(self):
        f = self.ftp()
        f.af = socket.AF_INET
        f.sendcmd("TYPE I")
        host, port = f.makepasv()  # PASV on IPv4
        self.assertEqual(host, "127.0.0.1")
        with socket.create_connection((host, port), timeout=10) as d:
            self.assertTrue(f.sendcmd("RETR ferry.png").startswith("150"))
            data = _recv_all(d)
        self.assertEqual(code(f.voidresp()), "226")
        self.assertEqual(data, self.server.image_bytes)

    def test_epsv_229_usable(self):
        f = self.ftp()
        f.sendcmd("TYPE I")
        reply = f.sendcmd("EPSV")
        self.assertEqual(code(reply), "229")
        port = int(re.search(r"\(\|\|\|(\d+)\|\)", reply).group(1))
        with socket.create_connection(("127.0.0.1", port), timeout=10) as d:
            self.assertTrue(f.sendcmd("RETR ferry.png").startswith("150"))
            data = _recv_all(d)
        self.assertEqual(code(f.voidresp()), "226")
        self.assertEqual(data, self.server.image_bytes)

    def test_pasv_port_within_configured_range(self):
        f = self.ftp()
        lo, hi = self.server.passive_ports
        for _ in range(3):
            reply = f.sendcmd("EPSV")
            port = int(re.search(r"\|\|\|(\d+)\|", reply).group(1))
            self.assertTrue(lo <= port <= hi, f"{port} not in {lo}-{hi}")

    # ----- listings ----------------------------------------------------------------
    def test_list_ls_l_format(self):
        f = self.ftp()
        lines = []
        f.retrlines("LIST", lines.append)
        self.assertEqual(len(lines), 1, lines)
        fields = lines[0].split()
        self.assertRegex(fields[0], r"^-[r-][w-][x-][r-][w-][x-][r-][w-][x-]$")
        self.assertEqual(fields[4], str(len(self.server.image_bytes)))
        self.assertEqual(fields[-1], "ferry.png")
        # old file (> 6 months): "Mon DD  YYYY"
        t = time.gmtime(IMAGE_MTIME)
        self.assertEqual((fields[5], int(fields[6]), fields[7]),
                         (time.strftime("%b", t), t.tm_mday, str(t.tm_year)))

    def test_list_of_a_file_path(self):
        f = self.ftp()
        lines = []
        f.retrlines("LIST /ferry.png", lines.append)
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].endswith(" ferry.png"), lines)

    def test_nlst(self):
        self.assertEqual(self.ftp().nlst(), ["ferry.png"])

    def test_mlsd_facts(self):
        entries = dict(self.ftp().mlsd())
        self.assertIn("ferry.png", entries)
        facts = entries["ferry.png"]
        self.assertEqual(facts["type"], "file")
        self.assertEqual(facts["size"], str(len(self.server.image_bytes)))
        self.assertEqual(facts["modify"][:14], MDTM_STAMP)
        self.assertEqual(facts["perm"], "r")

    def test_mlst_file(self):
        reply = self.assertReplyCode("250", self.ftp().sendcmd, "MLST ferry.png")
        lines = reply.splitlines()
        self.assertTrue(lines[0].startswith("250-"), reply)
        entry = lines[1]
        self.assertTrue(entry.startswith(" "), reply)
        facts_s, _, name = entry[1:].partition(" ")
        facts = dict(kv.split("=", 1) for kv in facts_s.rstrip(";").split(";"))
        self.assertEqual(name, "/ferry.png")
        self.assertEqual(facts["type"], "file")
        self.assertEqual(facts["size"], str(len(self.server.image_bytes)))
        self.assertEqual(facts["modify"][:14], MDTM_STAMP)

    def test_mlst_missing_550(self):
        self.assertReplyCode("550", self.ftp().sendcmd, "MLST nope.png")

    # ----- size, time, retrieve ----------------------------------------------------
    def test_size_213(self):
        f = self.ftp()
        f.voidcmd("TYPE I")
        self.assertEqual(f.size("ferry.png"), len(self.server.image_bytes))

    def test_size_missing_550(self):
        self.assertReplyCode("550", self.ftp().sendcmd, "SIZE nope.png")

    def test_mdtm_equals_image_mtime_utc(self):
        reply = self.assertReplyCode("213", self.ftp().sendcmd, "MDTM ferry.png")
        self.assertEqual(reply.split()[1][:14], MDTM_STAMP)

    def test_retr_bytes_identical(self):
        self.assertEqual(self.retr(self.ftp()), self.server.image_bytes)

    def test_retr_absolute_path(self):
        self.assertEqual(self.retr(self.ftp(), "/ferry.png"), self.server.image_bytes)

    def test_retr_missing_550(self):
        with self.assertRaises(ftplib.error_perm) as cm:
            self.retr(self.ftp(), "nope.png")
        self.assertEqual(code(cm.exception), "550")

    def test_rest_then_retr_gives_tail(self):
        f = self.ftp()
        n = 1000
        self.assertEqual(self.retr(f, rest=n), self.server.image_bytes[n:])
        # REST applies to one transfer only
        self.assertEqual(self.retr(f), self.server.image_bytes)

    def test_rest_at_size_gives_empty(self):
        f = self.ftp()
        self.assertEqual(self.retr(f, rest=len(self.server.image_bytes)), b"")

    def test_rest_beyond_size_554(self):
        f = self.ftp()
        with self.assertRaises(ftplib.error_perm) as cm:
            self.retr(f, rest=len(self.server.image_bytes) + 1)
        self.assertEqual(code(cm.exception), "554")
        self.assertReplyCode("200", f.sendcmd, "NOOP")

    def test_rest_not_a_number_501(self):
        self.assertReplyCode("501", self.ftp().sendcmd, "REST abc")

    # ----- hashes ------------------------------------------------------------------
    def test_hash_sha256_matches(self):
        reply = self.assertReplyCode("213", self.ftp().sendcmd, "HASH ferry.png")
        size = len(self.server.image_bytes)
        want = hashlib.sha256(self.server.image_bytes).hexdigest()
        m = re.match(r"213 (\S+) (\d+)-(\d+) ([0-9a-fA-F]+) (.+)$", reply)
        self.assertIsNotNone(m, reply)
        self.assertEqual(m.group(1), "SHA-256")
        self.assertEqual((int(m.group(2)), int(m.group(3))), (0, size))
        self.assertEqual(m.group(4).lower(), want)
        self.assertTrue(m.group(5).endswith("ferry.png"), reply)

    def test_xsha256_and_friends(self):
        f = self.ftp()
        img = self.server.image_bytes
        for verb, algo in (("XSHA256", hashlib.sha256), ("XSHA512", hashlib.sha512),
                           ("XSHA1", hashlib.sha1), ("XMD5", hashlib.md5)):
            reply = self.assertReplyCode("213", f.sendcmd, f"{verb} ferry.png")
            self.assertEqual(reply.split()[1].lower(), algo(img).hexdigest(), verb)

    def test_hash_missing_file_550(self):
        f = self.ftp()
        self.assertReplyCode("550", f.sendcmd, "HASH nope.png")
        self.assertReplyCode("550", f.sendcmd, "XSHA256 nope.png")

    # ----- abort -------------------------------------------------------------------
    def test_abor_without_transfer_2xx(self):
        f = self.ftp()
        reply = _try(f.sendcmd, "ABOR")
        self.assertIn(code(reply), ("225", "226"), reply)
        self.assertReplyCode("200", f.sendcmd, "NOOP")

    # ----- writes are refused on the read-only send_png mount ----------------------
    def assertWriteRefused(self, reply):
        self.assertIn(code(reply), ("550", "553"), f"want 550/553 on a read-only mount, got {reply!r}")

    def test_stor_refused_550(self):
        f = self.ftp()
        f.voidcmd("TYPE I")
        try:
            reply = f.storbinary("STOR new.png", io.BytesIO(b"hello"))
        except ftplib.all_errors as e:
            reply = str(e)
        self.assertWriteRefused(reply)
        self.assertEqual(f.nlst(), ["ferry.png"])

    def test_stor_over_image_refused_550(self):
        f = self.ftp()
        f.voidcmd("TYPE I")
        self.assertWriteRefused(_try(f.storbinary, "STOR ferry.png", io.BytesIO(b"x")))
        self.assertEqual(self.retr(f), self.server.image_bytes)

    def test_appe_refused_550(self):
        f = self.ftp()
        f.voidcmd("TYPE I")
        self.assertWriteRefused(_try(f.storbinary, "APPE ferry.png", io.BytesIO(b"x")))
        self.assertEqual(self.retr(f), self.server.image_bytes)

    def test_stou_refused_550(self):
        f = self.ftp()
        f.voidcmd("TYPE I")
        self.assertWriteRefused(_try(f.storbinary, "STOU", io.BytesIO(b"x")))

    def test_dele_refused_550(self):
        f = self.ftp()
        self.assertWriteRefused(_try(f.sendcmd, "DELE ferry.png"))
        self.assertEqual(f.nlst(), ["ferry.png"])

    def test_mkd_refused_550(self):
        f = self.ftp()
        self.assertWriteRefused(_try(f.sendcmd, "MKD newdir"))
        self.assertReplyCode("550", f.sendcmd, "CWD newdir")

    def test_rmd_refused_550(self):
        f = self.ftp()
        self.assertWriteRefused(_try(f.sendcmd, "RMD /"))
        self.assertWriteRefused(_try(f.sendcmd, "RMD nodir"))

    def test_rnfr_rnto_refused(self):
        f = self.ftp()
        reply = _try(f.sendcmd, "RNFR ferry.png")
        if code(reply) == "350":  # accepted the source; the rename itself must fail
            reply = _try(f.sendcmd, "RNTO renamed.png")
        self.assertWriteRefused(reply)
        self.assertEqual(f.nlst(), ["ferry.png"])

    def test_rnto_without_rnfr_503(self):
        self.assertReplyCode("503", self.ftp().sendcmd, "RNTO x.png")


def _try(fn, *args):
    try:
        return fn(*args)
    except ftplib.all_errors as e:
        return str(e)


def _recv_all(sock, limit=10 * 1024 * 1024):
    chunks, total = [], 0
    while total < limit:
        b = sock.recv(65536)
        if not b:
            break
        chunks.append(b)
        total += len(b)
    return b"".join(chunks)


if __name__ == "__main__":
    unittest.main()
