"""Many simultaneous sessions: 50 ftplib clients download the image at once."""

import ftplib
import io
import threading
import time
import unittest

from ferryd_harness import ServerTestCase, close_quietly

CLIENTS = 50


class ConcurrencyTest(ServerTestCase):
    # 50 sessions from one address: above the default per-IP limit of 32
    server_kwargs = {"server_extra": "max_sessions = 200\nmax_sessions_per_ip = 100\n"}

    def test_50_concurrent_clients_get_identical_bytes(self):
        mark = self.server.log_mark()
        results = [None] * CLIENTS
        errors = [None] * CLIENTS
        ready = threading.Barrier(CLIENTS, timeout=30)

        def client(i):
            f = None
            try:
                f = ftplib.FTP(timeout=30)
                f.connect(self.server.host, self.server.port, timeout=30)
                f.login(self.server.user, self.server.password)
                f.voidcmd("TYPE I")
                ready.wait()  # every session logged in before any transfer starts
                buf = io.BytesIO()
                f.retrbinary("RETR ferry.png", buf.write)
                results[i] = buf.getvalue()
                f.quit()
            except Exception as e:  # noqa: BLE001 - collected and reported below
                errors[i] = repr(e)
                try:
                    ready.abort()
                except Exception:  # noqa: BLE001
                    pass
            finally:
                if f is not None:
                    f.close()

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=max(1.0, 90 - (time.monotonic() - t0)))
        self.assertFalse(any(t.is_alive() for t in threads), "clients still running after 90 s")
        failed = {i: e for i, e in enumerate(errors) if e}
        self.assertEqual(failed, {}, "client errors")
        for i, data in enumerate(results):
            self.assertEqual(data, self.server.image_bytes, f"client {i} got different bytes")

        # the server is still healthy afterwards
        f = self.server.ftp()
        try:
            buf = io.BytesIO()
            f.retrbinary("RETR ferry.png", buf.write)
            self.assertEqual(buf.getvalue(), self.server.image_bytes)
        finally:
            close_quietly(f)
        # The log is read from ferryd's stderr by another thread: wait (bounded) for the last line.
        deadline = time.monotonic() + 10
        while True:
            logins = [ln for ln in self.server.log_lines[mark:] if "login ok" in ln]
            if len(logins) >= CLIENTS + 1 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(len(logins), CLIENTS + 1)

    def test_many_sessions_interleaved_commands(self):
        sessions = [self.ftp() for _ in range(20)]
        for round_ in range(3):
            for f in sessions:
                self.assertEqual(f.sendcmd("NOOP")[:3], "200")
                self.assertEqual(f.size("ferry.png"), len(self.server.image_bytes))


class SessionLimitTest(ServerTestCase):
    server_kwargs = {"server_extra": "max_sessions_per_ip = 3\n"}

    def test_per_ip_limit_refuses_with_421_and_frees_slots(self):
        held = [self.server.ftp(login=False) for _ in range(3)]
        try:
            extra = ftplib.FTP(timeout=10)
            try:
                with self.assertRaises(ftplib.error_temp) as cm:
                    extra.connect(self.server.host, self.server.port, timeout=10)
            finally:
                extra.close()
            self.assertTrue(str(cm.exception).startswith("421"), cm.exception)
            self.assertIsNotNone(self.server.wait_for_log(r"refused connection from 127\.0\.0\.1"))
        finally:
            for f in held:
                close_quietly(f)
        # once the sessions are gone, a new one is accepted (bounded retry: closing is async)
        deadline = time.monotonic() + 5
        while True:
            try:
                f = self.server.ftp()
                break
            except (ftplib.error_temp, EOFError, ConnectionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        close_quietly(f)


if __name__ == "__main__":
    unittest.main()
