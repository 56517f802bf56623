"""PROXY protocol v1/v2 (server.proxy_protocol_from), driven by hand-made headers on
loopback: a test socket bound to 127.0.0.10 plays the balancer and names a client; the
real client address then drives logs, xferlog, bans, per-address limits, PORT/EPRT checks
and the passive data connection's match; headers from anyone else, missing or broken ones
are refused and logged; a header never ends up inside an uploaded file. HAProxy itself
drives the same paths in test_scaleout.py."""

import ftplib
import os
import socket
import ssl
import struct
import subprocess
import time
import unittest

from ferryd_harness import (FerryServer, NET_TIMEOUT, fs_local_mounts, loopback_alias_available, make_test_certificate,
                            toml_str)

PROXY = "127.0.0.10"     # the only address allowed to send headers
STRANGER = "127.0.0.3"   # a direct client that forges one


def proxy_v2(client, server, command=0x21):
    """A PROXY v2 header over TCP4 from client (host, port) to server (host, port)."""
    payload = socket.inet_aton(client[0]) + socket.inet_aton(server[0]) + struct.pack("!HH", client[1], server[1])
    return b"\r\n\r\n\x00\r\nQUIT\n" + bytes([command, 0x11]) + struct.pack("!H", len(payload)) + payload


def proxy_v1(client, server):
    return f"PROXY TCP4 {client[0]} {server[0]} {client[1]} {server[1]}\r\n".encode()


def connect_from(source, port, host="127.0.0.1"):
    return socket.create_connection((host, port), timeout=NET_TIMEOUT, source_address=(source, 0))


class ProxiedFTP(ftplib.FTP):
    """ftplib through a pretend balancer: every connection (control and passive data)
    comes from PROXY and starts with a header naming `client`."""

    def __init__(self, client, data_client=None, version=2, **kw):
        super().__init__(timeout=NET_TIMEOUT, **kw)
        self.client = (client, 40000)
        self.data_client = (data_client or client, 40001)
        self.version = version

    def header(self, client, sock):
        peer = sock.getpeername()
        return (proxy_v2 if self.version == 2 else proxy_v1)(client, (peer[0], peer[1]))

    def connect_via_proxy(self, port):
        sock = connect_from(PROXY, port)
        sock.sendall(self.header(self.client, sock))
        self.sock, self.af = sock, sock.family
        self.file = sock.makefile("r", encoding=self.encoding)
        self.welcome = self.getresp()
        return self.welcome

    def ntransfercmd(self, cmd, rest=None):
        host, port = self.makepasv()
        conn = connect_from(PROXY, port, host)
        conn.sendall(self.header(self.data_client, conn))
        if rest is not None:
            self.sendcmd(f"REST {rest}")
        resp = self.sendcmd(cmd)
        if resp[0] == "2":
            resp = self.getresp()
        if resp[0] != "1":
            conn.close()
            raise ftplib.error_reply(resp)
        return conn, None


def read_until_closed(sock, limit=4096):
    data = b""
    try:
        while len(data) < limit:
            chunk = sock.recv(limit)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    return data


@unittest.skipUnless(loopback_alias_available(PROXY) and loopback_alias_available(STRANGER),
                     "needs 127.0.0.0/8 loopback addresses")
class ProxyProtocolTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = FerryServer(
            server_extra=f'proxy_protocol_from = ["{PROXY}", "10.99.0.0/16"]\nmax_sessions_per_ip = 3\n'
                         "ban_failures = 2\nban_window = 60\nban_duration = 60\nmax_login_failures = 5",
            mounts=fs_local_mounts(writable=True, welcome=False),
            config_extra='[log]\nxferlog = "xferlog"\n')
        cls.server.write_files()
        make_test_certificate(cls.server.dir)
        with open(cls.server.config_path, "a") as f:
            f.write('[tls]\ncertificate = "cert.pem"\nprivate_key = "key.pem"\nimplicit_listen = ["127.0.0.1:0"]\n')
        cls.server.start()
        line = cls.server.wait_for_log(r"listening \(implicit FTPS\) on 127\.0\.0\.1:\d+", timeout=10)
        cls.implicit_port = int(line.rsplit(":", 1)[1])
        cls.root = cls.server.user_root()

    @classmethod
    def tearDownClass(cls):
        rc = cls.server.stop()
        log = cls.server.log_text()
        cls.server.cleanup()
        if rc != 0:
            raise AssertionError(f"ferryd exit code {rc!r}; log:\n{log}")

    def proxied(self, client, **kw):
        f = ProxiedFTP(client, **kw)
        f.connect_via_proxy(self.server.port)
        self.addCleanup(self.close, f)
        return f

    @staticmethod
    def close(f):
        try:
            f.close()
        except OSError:
            pass

    def login(self, f):
        f.login(self.server.user, self.server.password)

    # ---- the control connection -----------------------------------------------------
    def test_v2_header_makes_the_client_the_peer_of_logs(self):
        mark = self.server.log_mark()
        f = self.proxied("192.0.2.7")
        self.assertTrue(f.welcome.startswith("220"))
        self.login(f)
        self.assertTrue(self.server.wait_for_log(r"connected from 192\.0\.2\.7 via proxy 127\.0\.0\.10", start=mark))
        self.assertTrue(self.server.wait_for_log(r"login ok: user alice from 192\.0\.2\.7", start=mark))
        self.assertIn("192.0.2.7", f.sendcmd("STAT"))

    def test_v1_header_too(self):
        mark = self.server.log_mark()
        f = self.proxied("192.0.2.8", version=1)
        self.login(f)
        self.assertTrue(self.server.wait_for_log(r"login ok: user alice from 192\.0\.2\.8", start=mark))

    def test_header_from_a_stranger_is_refused_and_logged(self):
        for header in (proxy_v2(("192.0.2.9", 1), ("127.0.0.1", 21)), proxy_v1(("192.0.2.9", 1), ("127.0.0.1", 21))):
            mark = self.server.log_mark()
            with connect_from(STRANGER, self.server.port) as s:
                s.settimeout(NET_TIMEOUT)
                banner = s.recv(1024)
                self.assertTrue(banner.startswith(b"220"))
                s.sendall(header + b"USER alice\r\n")
                self.assertEqual(read_until_closed(s), b"", "a forged header got an answer")
            self.assertTrue(self.server.wait_for_log(
                r"refused connection from 127\.0\.0\.3: a PROXY header from an address not in "
                r"server\.proxy_protocol_from", start=mark))

    def test_missing_or_broken_header_from_the_proxy_closes_without_a_banner(self):
        cases = [(b"USER alice\r\n", r"not a PROXY header"),
                 (b"PROXY TCP4 192.0.2.1 127.0.0.1 99999 21\r\n", r"PROXY v1 header with an invalid port"),
                 (b"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x09\x00", r"PROXY v2 header too long"),
                 (b"PROXY TCP4 192.0.2.1", r"connection closed before a complete PROXY header")]
        for sent, reason in cases:
            mark = self.server.log_mark()
            with connect_from(PROXY, self.server.port) as s:
                s.sendall(sent)
                if reason.startswith("connection closed"):
                    s.shutdown(socket.SHUT_WR)
                self.assertEqual(read_until_closed(s), b"", f"{sent!r} got an answer")
            self.assertTrue(self.server.wait_for_log(
                r"refused connection from 127\.0\.0\.10: from a proxy: " + reason, start=mark), sent)

    def test_silent_proxy_connection_times_out(self):
        mark = self.server.log_mark()
        started = time.monotonic()
        with connect_from(PROXY, self.server.port) as s:
            s.settimeout(15)
            self.assertEqual(read_until_closed(s), b"")
        self.assertLess(time.monotonic() - started, 10)
        self.assertTrue(self.server.wait_for_log(r"from a proxy: no PROXY header \(timed out\)", start=mark))

    def test_local_header_is_the_proxys_own_connection(self):
        with connect_from(PROXY, self.server.port) as s:
            s.sendall(proxy_v2(("0.0.0.0", 0), ("0.0.0.0", 0), command=0x20))
            s.settimeout(NET_TIMEOUT)
            self.assertTrue(s.recv(1024).startswith(b"220"))

    def test_bans_follow_the_real_client(self):
        for _ in range(2):
            f = self.proxied("192.0.2.66")
            with self.assertRaises(ftplib.error_perm):
                f.login(self.server.user, "wrong")
            self.close(f)
        self.assertTrue(self.server.wait_for_log(r"banned 192\.0\.2\.66 for 60 s"))
        banned = ProxiedFTP("192.0.2.66")
        with self.assertRaises(ftplib.error_temp):
            banned.connect_via_proxy(self.server.port)
        self.close(banned)
        # Another client behind the same balancer is not held back.
        self.login(self.proxied("192.0.2.67"))

    def test_per_address_limit_counts_the_real_client(self):
        held = [self.proxied("192.0.2.80") for _ in range(3)]
        fourth = ProxiedFTP("192.0.2.80")
        with self.assertRaises(ftplib.error_temp) as refused:
            fourth.connect_via_proxy(self.server.port)
        self.close(fourth)
        self.assertIn("Too many connections from your address", str(refused.exception))
        self.login(self.proxied("192.0.2.81"))
        del held

    def test_eprt_must_name_the_real_client(self):
        f = self.proxied("127.0.0.2")
        self.login(f)
        with self.assertRaises(ftplib.error_perm):
            f.sendcmd("EPRT |1|127.0.0.10|40000|")
        self.assertTrue(f.sendcmd("EPRT |1|127.0.0.2|40000|").startswith("200"))

    # ---- passive data through the balancer -------------------------------------------
    def test_download_and_upload_through_the_proxy_without_the_header_in_the_file(self):
        payload = os.urandom(300_000)
        with open(os.path.join(self.root, "get.bin"), "wb") as out:
            out.write(payload)
        f = self.proxied("192.0.2.20")
        self.login(f)
        chunks = []
        f.retrbinary("RETR get.bin", chunks.append)
        self.assertEqual(b"".join(chunks), payload)
        import io
        f.storbinary("STOR put.bin", io.BytesIO(payload))
        with open(os.path.join(self.root, "put.bin"), "rb") as got:
            self.assertEqual(got.read(), payload)
        self.assertTrue(self.server.wait_for_log(r"transfer ok: STOR /put\.bin user alice"))
        with open(os.path.join(self.server.dir, "xferlog")) as log:
            lines = [line for line in log if "/put.bin" in line]
        self.assertTrue(lines and " 192.0.2.20 " in lines[-1], lines)

    def test_data_connection_naming_another_client_is_refused(self):
        f = self.proxied("192.0.2.21")
        self.login(f)
        # The intruder's connection comes first, through the balancer, naming someone else.
        host, port = f.makepasv()
        intruder = connect_from(PROXY, port, host)
        intruder.sendall(proxy_v2(("192.0.2.99", 1234), (host, port)))
        good = connect_from(PROXY, port, host)
        good.sendall(proxy_v2(("192.0.2.21", 1235), (host, port)))
        f.sendcmd("TYPE I")
        self.assertTrue(f.sendcmd("STOR intruded.bin").startswith("150"))
        good.sendall(b"right data")
        good.close()
        self.assertTrue(f.getresp().startswith("226"))
        self.assertEqual(read_until_closed(intruder), b"")
        intruder.close()
        with open(os.path.join(self.root, "intruded.bin"), "rb") as got:
            self.assertEqual(got.read(), b"right data")
        self.assertTrue(self.server.wait_for_log(
            r"refused data connection from 192\.0\.2\.99 via proxy 127\.0\.0\.10 \(control connection is from 192\.0\.2\.21\)"))

    def test_broken_header_on_a_data_connection_is_refused_not_stored(self):
        f = self.proxied("192.0.2.22")
        self.login(f)
        host, port = f.makepasv()
        broken = connect_from(PROXY, port, host)
        broken.sendall(b"PROXY TCP4 192.0.2.22 127.0.0.1 1 x\r\nnot the file")
        good = connect_from(PROXY, port, host)
        good.sendall(proxy_v1(("192.0.2.22", 7), (host, port)))
        f.sendcmd("TYPE I")
        self.assertTrue(f.sendcmd("STOR clean.bin").startswith("150"))
        good.sendall(b"the file")
        good.close()
        self.assertTrue(f.getresp().startswith("226"))
        broken.close()
        with open(os.path.join(self.root, "clean.bin"), "rb") as got:
            self.assertEqual(got.read(), b"the file")
        self.assertTrue(self.server.wait_for_log(
            r"refused connection from 127\.0\.0\.10: data connection from a proxy: PROXY v1 header with an invalid port"))

    def test_header_on_a_direct_data_connection_never_reaches_the_file(self):
        # No balancer involved: a client (direct, 127.0.0.1) whose data connection starts
        # with a header, as when HAProxy's send-proxy is on but ferryd does not expect it.
        f = ftplib.FTP(timeout=NET_TIMEOUT)
        f.connect("127.0.0.1", self.server.port)
        self.addCleanup(self.close, f)
        self.login(f)
        f.sendcmd("TYPE I")
        host, port = f.makepasv()
        data = socket.create_connection((host, port), timeout=NET_TIMEOUT)
        self.assertTrue(f.sendcmd("STOR forged.bin").startswith("150"))
        data.sendall(proxy_v2(("192.0.2.1", 1), (host, port)) + b"file body")
        data.close()
        with self.assertRaises(ftplib.error_temp) as failed:
            f.getresp()
        self.assertTrue(str(failed.exception).startswith("426"))
        self.assertFalse(os.path.exists(os.path.join(self.root, "forged.bin")))
        self.assertTrue(self.server.wait_for_log(r"transfer failed: STOR /forged\.bin.*started with a PROXY header"))

    # ---- implicit FTPS: the header comes before the TLS handshake ---------------------
    def test_implicit_ftps_reads_the_header_before_the_handshake(self):
        mark = self.server.log_mark()
        raw = connect_from(PROXY, self.implicit_port)
        # Header and ClientHello may arrive in one segment: the header is taken exactly.
        raw.sendall(proxy_v2(("192.0.2.30", 5555), ("127.0.0.1", self.implicit_port)))
        context = ssl.create_default_context(cafile=os.path.join(self.server.dir, "cert.pem"))
        tls = context.wrap_socket(raw, server_hostname="127.0.0.1")
        f = tls.makefile("rb")
        self.assertTrue(f.readline().startswith(b"220"))
        tls.sendall(f"USER {self.server.user}\r\n".encode())
        self.assertTrue(f.readline().startswith(b"331"))
        tls.sendall(f"PASS {self.server.password}\r\n".encode())
        self.assertTrue(f.readline().startswith(b"230"))
        tls.close()
        self.assertTrue(self.server.wait_for_log(r"login ok: user alice from 192\.0\.2\.30", start=mark))




class WithoutProxiesTest(unittest.TestCase):
    """A server with no proxy_protocol_from: uploads are the client's bytes, whatever text they
    start with; only the v2 signature, which no file starts with by chance, is refused."""

    def setUp(self):
        self.server = FerryServer(mounts=fs_local_mounts(writable=True, welcome=False))
        self.addCleanup(self.server.cleanup)
        self.server.start()

    def test_a_file_that_starts_like_a_v1_header_is_stored_as_sent(self):
        body = proxy_v1(("192.0.2.1", 1), ("127.0.0.1", 21)) + b"a text file that starts with PROXY\n"
        f = self.server.ftp()
        self.addCleanup(f.close)
        f.storbinary("STOR proxy.txt", __import__("io").BytesIO(body))
        with open(os.path.join(self.server.user_root(), "proxy.txt"), "rb") as stored:
            self.assertEqual(stored.read(), body)

    def test_a_v2_header_is_refused_not_stored(self):
        f = self.server.ftp()
        self.addCleanup(f.close)
        with self.assertRaises(ftplib.error_temp) as failed:
            f.storbinary("STOR forged.bin", __import__("io").BytesIO(proxy_v2(("192.0.2.1", 1), ("127.0.0.1", 21)) + b"x"))
        self.assertTrue(str(failed.exception).startswith("426"))
        self.assertFalse(os.path.exists(os.path.join(self.server.user_root(), "forged.bin")))


if __name__ == "__main__":
    unittest.main()
