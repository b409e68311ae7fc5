# SPDX-License-Identifier: MIT
"""An asyncio task ordering assumption: two requests sent 4 ms apart to a server that
answers each in its own thread after the same work; the test assumes the answers come back in
the order the requests were sent."""
import asyncio
import socket
import threading
import time


def test_answers_in_request_order():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(2)
    addr = srv.getsockname()

    def handle(conn):
        with conn:
            req = conn.recv(16)
            time.sleep(0.002)       # the same work for every request
            conn.sendall(req)

    def serve():
        for _ in range(2):
            conn, _ = srv.accept()
            threading.Thread(target=handle, args=(conn,)).start()

    server = threading.Thread(target=serve)
    server.start()

    async def main():
        order = []

        async def ask(name, after):
            await asyncio.sleep(after)
            reader, writer = await asyncio.open_connection(*addr)
            writer.write(name)
            await writer.drain()
            order.append(await reader.read(16))
            writer.close()
            await writer.wait_closed()

        await asyncio.gather(ask(b"first", 0), ask(b"second", 0.004))
        return order

    try:
        assert asyncio.run(main()) == [b"first", b"second"]
    finally:
        server.join()
        srv.close()
