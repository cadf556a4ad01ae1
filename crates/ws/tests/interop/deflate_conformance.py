"""The conformance probe's equivalents of Autobahn's sections 12 and 13
(permessage-deflate), run by Python's `websockets` as the client of a
server that echoes every message.

  deflate_conformance.py ws://HOST:PORT/ws [COUNT]

Section 12: for each of five kinds of data, eighteen cases of COUNT
messages each (Autobahn sends 1,000; the default here is 1,000 too), with
the default offer: payloads of 16 B to 128 KiB sent whole, and 8 KiB to
128 KiB sent in fragments of 256 B to 32 KiB. Section 13: the same
eighteen cases with JSON, under each of Autobahn's seven offers (no
context takeover asked or not, the server's window 8 or 15 bits asked or
not, and three offers at once).

Each case is a new connection. Every message must come back with its kind
and bytes (checked by SHA-1, as Autobahn does) before the next is sent;
the case ends with a clean close (1000). A case whose offer the server
declines (it may: RFC 7692 lets it) is "declined", as Autobahn's
"unimplemented", and its echo is still checked without compression.

The data are made here, deterministically, in place of Autobahn's files
(Goethe's Faust, a bitmap, a PDF, a JSON and an HTML file): text, a
grey-scale bitmap, random bytes (what a PDF's compressed streams are),
JSON and HTML, 256 KiB each; messages are cut from each in turn, wrapping
around, as Autobahn cuts them.

Prints one line per case and a summary per section; exits 1 if any case
failed.
"""

import hashlib
import random
import sys
import time

from websockets.exceptions import ConnectionClosed
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    PerMessageDeflate,
)
from websockets.sync.client import connect

# (payload size, auto-fragment size): Autobahn's MSG_SIZES.
MSG_SIZES = [
    (16, 0), (64, 0), (256, 0), (1024, 0), (4096, 0), (8192, 0), (16384, 0),
    (32768, 0), (65536, 0), (131072, 0),
    (8192, 256), (16384, 256), (32768, 256), (65536, 256), (131072, 256),
    (131072, 1024), (131072, 4096), (131072, 32768),
]

DATA_SIZE = 256 << 10

WORDS = (
    "der die das und ist nicht ein zu mit auf Faust Mephistopheles Gretchen "
    "Welt Geist Natur Himmel Erde Herz Nacht Tag Licht über Größe schön "
    "the of and to in a is that for it as was with be by on not he this are "
    "or his from at which but have an they you were her she there been one "
    "all we their has would when if so no what up out about into than them"
).split()


def text(rng):
    out, line = [], []
    while sum(len(w) + 1 for w in out) < DATA_SIZE:
        word = rng.choice(WORDS)
        line.append(word)
        if rng.random() < 0.08:
            line[-1] += rng.choice(".,;!?")
        if len(line) > rng.randint(6, 12):
            out.append(" ".join(line) + "\n")
            line = []
    return "".join(out).encode()[:DATA_SIZE]


def bitmap(rng):
    # A 512 x 512 grey-scale picture: smooth shading and a little noise.
    rows = []
    for y in range(512):
        rows.append(bytes((x * 3 + y * 5 + (x * y >> 7) + rng.randint(0, 6)) & 0xFF for x in range(512)))
    return b"BM" + bytes(52) + b"".join(rows)[: DATA_SIZE - 54]


def random_bytes(rng):
    return bytes(rng.getrandbits(8) for _ in range(DATA_SIZE))


def json_records(rng):
    records = []
    i = 0
    while sum(len(r) + 1 for r in records) < DATA_SIZE:
        words = " ".join(rng.choice(WORDS[10:]) for _ in range(rng.randint(3, 14)))
        words = words.encode("ascii", "ignore").decode()
        records.append(
            '{"id":%d,"user":"user%d","room":"room-%d","text":"%s","ts":%d,"tags":["%s","%s"]}'
            % (i, rng.randint(1, 5000), rng.randint(1, 40), words, 1700000000 + i * 7, rng.choice(WORDS[40:]), rng.choice(WORDS[40:]))
        )
        i += 1
    return ("[" + ",".join(records) + "]").encode()[:DATA_SIZE]


def html(rng):
    parts = ["<!doctype html><html><head><title>switchyard</title></head><body>"]
    while sum(len(p) for p in parts) < DATA_SIZE:
        words = " ".join(rng.choice(WORDS[25:]) for _ in range(rng.randint(5, 30)))
        words = words.encode("ascii", "ignore").decode()
        tag = rng.choice(["p", "li", "td", "h2", "span"])
        parts.append('<div class="row r%d"><%s id="n%d">%s</%s></div>\n' % (rng.randint(0, 9), tag, rng.randint(0, 99999), words, tag))
    return "".join(parts).encode()[:DATA_SIZE]


# Name, maker, sent as text (its every cut must then be ASCII).
DATA = [
    ("human-readable text", text, False),
    ("grey-scale bitmap", bitmap, False),
    ("random bytes (a PDF's streams)", random_bytes, False),
    ("JSON", json_records, True),
    ("HTML", html, True),
]

# Autobahn's section 13 offers, each a list of (no context takeover
# asked of the server, the server's window asked, 0 for none).
OFFERS_13 = [
    [(False, 0)],
    [(True, 0)],
    [(False, 8)],
    [(False, 15)],
    [(True, 8)],
    [(True, 15)],
    [(True, 8), (True, 0), (False, 0)],
]


def factories(offers):
    return [
        ClientPerMessageDeflateFactory(
            server_no_context_takeover=nct,
            server_max_window_bits=bits or None,
            client_max_window_bits=True,
        )
        for nct, bits in offers
    ]


def run_case(url, data, as_text, size, fragment, count, offers):
    """'OK', 'declined' or 'FAILED: why'."""
    at = 0
    with connect(url, extensions=factories(offers), compression=None, max_size=None, open_timeout=10) as ws:
        agreed = [e for e in ws.protocol.extensions if isinstance(e, PerMessageDeflate)]
        for _ in range(count):
            end = at + size
            msg = data[at:end] if end <= len(data) else data[at:] + data[: end - len(data)]
            at = end % len(data)
            sent = msg.decode() if as_text else msg
            if fragment:
                ws.send([sent[i : i + fragment] for i in range(0, len(sent), fragment)])
            else:
                ws.send(sent)
            reply = ws.recv(timeout=30)
            if isinstance(reply, str) != as_text:
                return "FAILED: the echo's kind differs from what was sent"
            got = reply.encode() if isinstance(reply, str) else reply
            if len(got) != size:
                return f"FAILED: the echo's length is {len(got)}, not {size}"
            if hashlib.sha1(got).digest() != hashlib.sha1(msg).digest():
                return "FAILED: the echo's bytes differ (SHA-1)"
        ws.close(1000)
    if ws.close_code != 1000:
        return f"FAILED: closed with {ws.close_code}, not 1000"
    return "OK" if agreed else "declined"


def main():
    url = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    rng = random.Random(7692)
    made = [(name, make(rng), as_text) for name, make, as_text in DATA]
    cases = []
    for j, (name, data, as_text) in enumerate(made, 1):
        for i, (size, fragment) in enumerate(MSG_SIZES, 1):
            cases.append((f"12.{j}.{i}", name, data, as_text, size, fragment, [(False, 0)]))
    name, data, as_text = made[3]
    for j, offers in enumerate(OFFERS_13, 1):
        for i, (size, fragment) in enumerate(MSG_SIZES, 1):
            cases.append((f"13.{j}.{i}", name, data, as_text, size, fragment, offers))

    tally = {}
    started = time.monotonic()
    for case, name, data, as_text, size, fragment, offers in cases:
        try:
            result = run_case(url, data, as_text, size, fragment, count, offers)
        except (ConnectionClosed, OSError, TimeoutError) as e:
            result = f"FAILED: {e!r}"
        section = case.split(".")[0]
        kind = result.split(":")[0]
        tally.setdefault(section, {}).setdefault(kind, 0)
        tally[section][kind] += 1
        how = f"in fragments of {fragment} B" if fragment else "whole"
        print(f"{case} {result} - {count} x {size} B {name}, {how}, offers {offers}", flush=True)
    for section, kinds in sorted(tally.items()):
        total = sum(kinds.values())
        summary = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        print(f"section {section}: {total} cases: {summary}")
    print(f"{count} messages a case, {time.monotonic() - started:.0f} s")
    sys.exit(1 if any("FAILED" in kinds for kinds in tally.values()) else 0)


if __name__ == "__main__":
    main()
