# SPDX-License-Identifier: MIT
"""A client timeout slightly above the server's usual latency: the server usually answers in
70 ms and the client waits 0.1 s, so only a server held up 30 ms more makes it time out."""
import socket
import threading
import time


def test_report_before_deadline():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def serve():
        conn, _ = srv.accept()
        with conn:
            conn.recv(100)
            time.sleep(0.07)        # the server's usual work
            conn.sendall(b"ok")

    t = threading.Thread(target=serve)
    t.start()
    try:
        with socket.create_connection(srv.getsockname(), timeout=0.1) as c:
            c.sendall(b"report")
            assert c.recv(100) == b"ok"
    finally:
        t.join()
        srv.close()
