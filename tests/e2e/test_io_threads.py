"""The I/O threads' busy poll and the RETR fast path, seen from outside.

- After a burst of commands an I/O thread polls for `busy_poll_us` before it sleeps: an
  idle server must still go quiet (a poll that never ends would burn a CPU per thread).
- A RETR sends what the data socket takes right behind its 150, without waiting, and a
  small file's 226 follows at once; a file larger than the socket buffers goes on in the
  watched transfer loop. Either way the client gets every byte and "150" then "226",
  whether it reads the reply or the data first.
- Data sockets join the event loop only when a call would block: a passive connection
  made after the command, an upload whose bytes come late, a download the client reads
  slowly all take that path and must work as the direct one does.
"""

import hashlib
import os
import socket
import time
import unittest

from ferryd_harness import NET_TIMEOUT, FerryServer, RawControl, fs_local_mounts


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime, all threads


def expect(reply, code):
    if not reply.startswith(code + " "):
        raise AssertionError(f"expected {code}, got {reply!r}")
    return reply


def logged_in(server):
    """A raw control connection, logged in, in binary mode."""
    control = RawControl(server.host, server.port)
    expect(control.login(server.user, server.password), "230")
    expect(control.cmd("TYPE I"), "200")
    return control


def passive_data(control):
    return socket.create_connection(("127.0.0.1", control.epsv_port()), timeout=NET_TIMEOUT)


def late_data(control, command):
    """EPSV, then the command, then (0.3 s later: the server is waiting) the data connection;
    the 150 read. Returns the data socket."""
    port = control.epsv_port()
    control.send(command.encode() + b"\r\n")
    time.sleep(0.3)
    data = socket.create_connection(("127.0.0.1", port), timeout=NET_TIMEOUT)
    expect(control.reply(), "150")
    return data


def read_all(sock):
    received = bytearray()
    while chunk := sock.recv(1 << 16):
        received += chunk
    sock.close()
    return bytes(received)


def retrieve(control, name, read_reply_first):
    """RETR, reading the 150 before the data (as ftplib does) or the data first."""
    data = passive_data(control)
    control.send(f"RETR {name}\r\n".encode())
    opening = expect(control.reply(), "150") if read_reply_first else None
    received = read_all(data)
    if opening is None:
        opening = expect(control.reply(), "150")
    expect(control.reply(), "226")
    return received, opening


class IoThreadsTest(unittest.TestCase):
    def test_an_idle_server_stops_polling(self):
        with FerryServer(server_extra="busy_poll_us = 1000\n") as server:
            control = logged_in(server)
            try:
                for _ in range(200):
                    expect(control.cmd("NOOP"), "200")
                # The control connection stays open and quiet: no event, so no poll.
                time.sleep(0.2)
                before = cpu_ticks(server.proc.pid)
                time.sleep(1.0)
                used = cpu_ticks(server.proc.pid) - before
                # A thread that kept polling would use ~100 ticks a second; a sleeping one 0.
                self.assertLess(used, 10, f"an idle ferryd used {used} CPU ticks in one second")
                expect(control.cmd("NOOP"), "200")  # and it still answers
            finally:
                control.close()

    def test_small_and_large_files_arrive_whole_with_150_before_226(self):
        with FerryServer(mounts=fs_local_mounts(writable=False)) as server:
            root = server.user_root()
            files = {"small": os.urandom(4096), "empty": b"", "large": os.urandom(24 << 20)}
            for name, body in files.items():
                with open(os.path.join(root, name), "wb") as f:
                    f.write(body)
            control = logged_in(server)
            try:
                for name, body in files.items():
                    for read_reply_first in (True, False):
                        got, opening = retrieve(control, name, read_reply_first)
                        self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(body).hexdigest(),
                                         f"{name}, reply read {'first' if read_reply_first else 'last'}")
                        self.assertIn(f"({len(body)} bytes)", opening)
                # A restart offset takes the same path.
                expect(control.cmd("REST 1000"), "350")
                data = passive_data(control)
                control.send(b"RETR small\r\n")
                rest = read_all(data)
                self.assertIn("(3096 bytes)", expect(control.reply(), "150"))
                expect(control.reply(), "226")
                self.assertEqual(rest, files["small"][1000:])
                # A missing file is refused before any data connection is used.
                data = passive_data(control)
                expect(control.cmd("RETR missing"), "550")
                data.close()
                expect(control.cmd("NOOP"), "200")
            finally:
                control.close()

    def test_late_connections_and_late_bytes_take_the_waiting_path(self):
        with FerryServer(mounts=fs_local_mounts(writable=True)) as server:
            root = server.user_root()
            body = os.urandom(3 << 20)
            with open(os.path.join(root, "file"), "wb") as f:
                f.write(body)
            control = logged_in(server)
            try:
                # RETR before the data connection: the server waits for it.
                data = late_data(control, "RETR file")
                # Read late, so the server finds the socket full and waits.
                time.sleep(0.3)
                self.assertEqual(read_all(data), body)
                expect(control.reply(), "226")

                # STOR before the data connection, and the bytes after a pause, in pieces.
                upload = os.urandom(1 << 20)
                data = late_data(control, "STOR up")
                time.sleep(0.3)
                for piece in (upload[:1000], upload[1000:]):
                    data.sendall(piece)
                    time.sleep(0.1)
                data.close()
                expect(control.reply(), "226")
                with open(os.path.join(root, "up"), "rb") as f:
                    self.assertEqual(f.read(), upload)

                # A listing over a connection made late.
                data = late_data(control, "NLST")
                names = read_all(data).decode().split()
                self.assertTrue({"file", "up"} <= set(names), names)
                expect(control.reply(), "226")
            finally:
                control.close()


if __name__ == "__main__":
    unittest.main()
