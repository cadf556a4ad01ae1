"""Interop for permessage-deflate: Python's `websockets` (it implements RFC
7692's four parameters) against switchyard's server, or as the server for
switchyard's client.

  deflate_peer.py client ws://HOST:PORT/ws MAX_MESSAGE
      Connects with every combination of the offer's parameters and checks
      that compression is agreed and that messages from empty to 1 MiB,
      text and binary, whole and fragmented, come back; that a message over
      the server's maximum, compressed, closes with 1009. Prints one line
      per check and "N passed, N failed"; exits 1 on any failure.

  deflate_peer.py server
      Serves an echo with compression on a free port and prints
      "listening on HOST:PORT". A message "extensions?" is answered with
      the names of the extensions agreed on that connection.
"""

import itertools
import sys

from websockets.exceptions import ConnectionClosed
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    PerMessageDeflate,
    ServerPerMessageDeflateFactory,
)


def agreed(ws):
    return [e for e in ws.protocol.extensions if isinstance(e, PerMessageDeflate)]


def run_client(url, max_message):
    from websockets.sync.client import connect

    results = []

    def check(name, fn):
        try:
            fn()
            results.append(True)
            print(f"ok - {name}")
        except Exception as e:  # report every failure, then go on
            results.append(False)
            print(f"FAILED - {name}: {e!r}")

    json = b'{"topic":"news","text":"the same words again and again"},'
    sizes = [0, 1, 200, 4096, 65536, max_message]
    combos = list(itertools.product([False, True], [False, True], [None, 10, 15], [None, True, 12]))

    def with_params(snct, cnct, smwb, cmwb):
        factory = ClientPerMessageDeflateFactory(
            server_no_context_takeover=snct,
            client_no_context_takeover=cnct,
            server_max_window_bits=smwb,
            client_max_window_bits=cmwb,
        )

        def echo_every_size():
            with connect(url, extensions=[factory], compression=None, max_size=None) as ws:
                assert agreed(ws), f"not agreed: {ws.response.headers.get('Sec-WebSocket-Extensions')}"
                for size in sizes:
                    body = (json * (size // len(json) + 1))[:size]
                    for message in (body, body.decode()):
                        ws.send(message)
                        reply = ws.recv(timeout=10)
                        assert reply == message, f"{size} bytes, {type(message).__name__}"
                    # Fragmented: three frames, RSV1 on the first only.
                    third = max(1, size // 3)
                    parts = [body[:third], body[third : 2 * third], body[2 * third :]]
                    ws.send(parts)
                    assert ws.recv(timeout=10) == body, f"{size} bytes in fragments"

        return echo_every_size

    for snct, cnct, smwb, cmwb in combos:
        name = f"echo, server_no_context_takeover={snct} client_no_context_takeover={cnct} server_max_window_bits={smwb} client_max_window_bits={cmwb}"
        check(name, with_params(snct, cnct, smwb, cmwb))

    def oversize_closes_with_1009():
        with connect(url, compression="deflate", max_size=None) as ws:
            assert agreed(ws)
            ws.send(b"\0" * (max_message + 1))  # a few KiB on the wire
            try:
                ws.recv(timeout=5)
                raise AssertionError("no close after an over-size message")
            except ConnectionClosed as closed:
                assert closed.rcvd is not None and closed.rcvd.code == 1009, closed.rcvd

    check("a compressed message over the maximum closes with 1009", oversize_closes_with_1009)

    passed, failed = results.count(True), results.count(False)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


def run_server():
    from websockets.sync.server import serve

    def echo(ws):
        try:
            for message in ws:
                if message == "extensions?":
                    ws.send(",".join(e.name for e in ws.protocol.extensions))
                else:
                    ws.send(message)
        except ConnectionClosed:
            pass

    factory = ServerPerMessageDeflateFactory(server_max_window_bits=12)
    with serve(echo, "127.0.0.1", 0, extensions=[factory], compression=None, max_size=None) as server:
        host, port = server.socket.getsockname()[:2]
        print(f"listening on {host}:{port}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    if sys.argv[1] == "client":
        run_client(sys.argv[2], int(sys.argv[3]))
    else:
        run_server()
