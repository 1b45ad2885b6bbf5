"""A trivial HTTP/1.1 keep-alive server (asyncio, one fixed answer) to measure the load generator alone.

``python -m bench.trivial_server PORT``: answers every request with ``200 ok`` so fast
that the Locust process, not the server, is the limit.
"""

from __future__ import annotations

import asyncio
import sys

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"


class _Protocol(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        # bodies never come with GETs here: one answer per complete header block
        while b"\r\n\r\n" in self.buffer:
            _, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            self.transport.write(RESPONSE)  # type: ignore[attr-defined]


async def _serve(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(_Protocol, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main() -> None:
    """Serve on 127.0.0.1:PORT until killed."""
    asyncio.run(_serve(int(sys.argv[1])))


if __name__ == "__main__":
    main()
