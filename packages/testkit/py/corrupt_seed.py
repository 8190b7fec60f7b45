"""A hostile seed: a small BitTorrent peer (BEP 3) that corrupts the blocks of chosen pieces.

usage: corrupt_seed.py --torrent T --save DIR --ip IP --port P --state FILE [--corrupt 1,5,9]

It accepts connections on IP:PORT, answers the handshake (no extension bits), sends a full
bitfield, unchokes whoever says 'interested', and answers every request from the payload in
DIR. A block of a piece listed in --corrupt is served with every byte inverted, so the piece
fails its hash check. It announces itself to the torrent's http:// and udp:// trackers from IP,
so a tracker lists IP:PORT. Runs until SIGTERM. FILE is rewritten (atomically) as JSON:
  {"pid", "ready", "announced", "served_blocks", "corrupt_blocks", "connections", "errors"}
"""
import argparse
import asyncio
import http.client
import json
import os
import random
import signal
import socket
import struct
import sys
import urllib.parse

import libtorrent as lt

# Requests above 16 KiB are legal but rare; 128 KiB is what libtorrent itself accepts.
MAX_REQUEST_BYTES = 128 * 1024
# A message larger than a full bitfield for 2M pieces plus headroom is not from a real peer.
MAX_MESSAGE_BYTES = 1024 * 1024
HANDSHAKE_TIMEOUT_S = 10
# Re-announce at the tracker's interval, but at least this often so a restarted tracker
# learns about us again within a test's lifetime.
MAX_REANNOUNCE_S = 30
TRACKER_TIMEOUT_S = 5
PSTR = b"BitTorrent protocol"
# Byte-wise inversion table: a corrupt block differs from the real one in every byte.
INVERT = bytes(255 - i for i in range(256))


class Torrent:
    def __init__(self, path, save):
        self.ti = lt.torrent_info(path)
        hashes = self.ti.info_hashes()
        self.hashes = {hashes.v1.to_bytes()} if hashes.has_v1() else set()
        if hashes.has_v2():
            self.hashes.add(hashes.v2.to_bytes()[:20])
        # Hybrid torrents are announced under their v1 hash, as v1 clients know only that one.
        self.announce_hash = hashes.v1.to_bytes() if hashes.has_v1() else hashes.v2.to_bytes()[:20]
        self.fs = self.ti.files()
        self.save = save
        self.num_pieces = self.ti.num_pieces()
        self.total = self.fs.total_size()
        self.handles = {}

    def read(self, piece, begin, length):
        out = bytearray()
        for sl in self.ti.map_block(piece, begin, length):
            if self.fs.file_flags(sl.file_index) & lt.file_storage.flag_pad_file:
                out += bytes(sl.size)
                continue
            f = self.handles.get(sl.file_index)
            if f is None:
                f = open(os.path.join(self.save, self.fs.file_path(sl.file_index)), "rb")
                self.handles[sl.file_index] = f
            f.seek(sl.offset)
            out += f.read(sl.size)
        return bytes(out)


class Seed:
    def __init__(self, args):
        self.args = args
        self.t = Torrent(args.torrent, args.save)
        self.corrupt = {int(x) for x in args.corrupt.split(",") if x.strip()} if args.corrupt else set()
        self.peer_id = b"-TKCS01-" + bytes(random.getrandbits(8) for _ in range(12))
        self.state = {"pid": os.getpid(), "ready": False, "announced": False, "served_blocks": 0,
                      "corrupt_blocks": 0, "connections": 0, "errors": []}
        self.trackers = [t.url for t in self.t.ti.trackers() if t.url.startswith(("http://", "udp://"))]
        self.dirty = True

    def error(self, msg):
        print(f"corrupt_seed {self.args.ip}:{self.args.port}: {msg}", file=sys.stderr, flush=True)
        self.state["errors"] = (self.state["errors"] + [msg])[-20:]
        self.dirty = True

    def bitfield(self):
        n = self.t.num_pieces
        bits = bytearray((n + 7) // 8)
        for i in range(n):
            bits[i // 8] |= 0x80 >> (i % 8)
        return bytes(bits)

    async def serve(self, reader, writer):
        peer = writer.get_extra_info("peername")
        self.state["connections"] += 1
        self.dirty = True
        try:
            hs = await asyncio.wait_for(reader.readexactly(68), HANDSHAKE_TIMEOUT_S)
            if hs[0] != 19 or hs[1:20] != PSTR:
                return self.error(f"{peer}: not a BitTorrent handshake")
            if hs[28:48] not in self.t.hashes:
                return self.error(f"{peer}: unknown info hash {hs[28:48].hex()}")
            writer.write(bytes([19]) + PSTR + bytes(8) + hs[28:48] + self.peer_id)
            bf = self.bitfield()
            writer.write(struct.pack(">IB", 1 + len(bf), 5) + bf)
            await writer.drain()
            unchoked = False
            while True:
                (length,) = struct.unpack(">I", await reader.readexactly(4))
                if length == 0:
                    continue  # keep-alive
                if length > MAX_MESSAGE_BYTES:
                    return self.error(f"{peer}: message of {length} bytes")
                msg = await reader.readexactly(length)
                kind = msg[0]
                if kind == 2 and not unchoked:  # interested
                    writer.write(struct.pack(">IB", 1, 1))
                    unchoked = True
                elif kind == 6:  # request
                    if len(msg) != 13:
                        return self.error(f"{peer}: request of {len(msg)} bytes")
                    index, begin, size = struct.unpack(">III", msg[1:])
                    if index >= self.t.num_pieces or size == 0 or size > MAX_REQUEST_BYTES \
                            or begin + size > self.t.ti.piece_size(index):
                        return self.error(f"{peer}: bad request piece {index} offset {begin} length {size}")
                    if not unchoked:
                        continue
                    block = self.t.read(index, begin, size)
                    if index in self.corrupt:
                        block = block.translate(INVERT)
                        self.state["corrupt_blocks"] += 1
                    self.state["served_blocks"] += 1
                    self.dirty = True
                    writer.write(struct.pack(">IBII", 9 + len(block), 7, index, begin) + block)
                # choke, unchoke, not interested, have, bitfield, cancel and the rest need no answer.
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.TimeoutError):
            pass
        finally:
            writer.close()

    def announce_http(self, url, event):
        u = urllib.parse.urlsplit(url)
        q = urllib.parse.urlencode({
            "info_hash": self.t.announce_hash, "peer_id": self.peer_id, "port": self.args.port,
            "uploaded": 0, "downloaded": 0, "left": 0, "compact": 1, "event": event,
        }, quote_via=urllib.parse.quote)  # %20 rather than '+': opentracker does not decode '+'
        path = (u.path or "/") + ("?" + u.query + "&" if u.query else "?") + q
        conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=TRACKER_TIMEOUT_S,
                                          source_address=(self.args.ip, 0))
        try:
            conn.request("GET", path)
            body = conn.getresponse().read()
        finally:
            conn.close()
        d = lt.bdecode(body)
        if not isinstance(d, dict):
            raise RuntimeError("answer is not a dictionary")
        if b"failure reason" in d:
            raise RuntimeError(d[b"failure reason"].decode(errors="replace"))
        return int(d.get(b"interval", MAX_REANNOUNCE_S))

    def announce_udp(self, url, event):
        u = urllib.parse.urlsplit(url)
        events = {"none": 0, "completed": 1, "started": 2, "stopped": 3}
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((self.args.ip, 0))
            s.settimeout(TRACKER_TIMEOUT_S)
            addr = (u.hostname, u.port)
            tid = random.getrandbits(32)
            s.sendto(struct.pack(">QII", 0x41727101980, 0, tid), addr)  # BEP 15 connect
            resp = s.recv(2048)
            action, rtid, conn_id = struct.unpack(">IIQ", resp[:16])
            if action != 0 or rtid != tid:
                raise RuntimeError("bad connect answer")
            tid = random.getrandbits(32)
            s.sendto(struct.pack(">QII20s20sQQQIIIiH", conn_id, 1, tid, self.t.announce_hash, self.peer_id,
                                 0, 0, 0, events[event], 0, random.getrandbits(32), -1, self.args.port), addr)
            resp = s.recv(65536)
            action, rtid = struct.unpack(">II", resp[:8])
            if action == 3:
                raise RuntimeError(resp[8:].decode(errors="replace"))
            if action != 1 or rtid != tid:
                raise RuntimeError("bad announce answer")
            return struct.unpack(">I", resp[8:12])[0]

    def announce(self, event):
        """Announce to every tracker; returns the smallest interval, None if none answered."""
        best = None
        for url in self.trackers:
            try:
                fn = self.announce_http if url.startswith("http://") else self.announce_udp
                interval = fn(url, event)
                best = interval if best is None else min(best, interval)
            except Exception as e:  # a tracker that is down or refuses us is retried later
                self.error(f"announce {event} to {url}: {e}")
        return best

    async def announcer(self):
        loop = asyncio.get_running_loop()
        event = "started"
        while True:
            interval = await loop.run_in_executor(None, self.announce, event)
            if interval is not None:
                event = "none"
                if not self.state["announced"]:
                    self.state["announced"] = True
                    self.state["ready"] = True
                    self.dirty = True
            await asyncio.sleep(min(interval or 1, MAX_REANNOUNCE_S))

    async def state_writer(self):
        while True:
            if self.dirty:
                self.dirty = False
                tmp = self.args.state + ".tmp"
                with open(tmp, "w") as f:
                    json.dump(self.state, f)
                os.replace(tmp, self.args.state)
            await asyncio.sleep(0.05)

    async def run(self):
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        server = await asyncio.start_server(self.serve, self.args.ip, self.args.port, reuse_address=True)
        print(f"corrupt_seed: listening on {self.args.ip}:{self.args.port}, corrupt pieces "
              f"{sorted(self.corrupt)}", file=sys.stderr, flush=True)
        if not self.trackers:
            self.state["ready"] = True
        tasks = [asyncio.create_task(self.state_writer())]
        if self.trackers:
            tasks.append(asyncio.create_task(self.announcer()))
        await stop.wait()
        server.close()
        for t in tasks:
            t.cancel()
        if self.state["announced"]:
            await loop.run_in_executor(None, self.announce, "stopped")
        self.dirty = True
        tmp = self.args.state + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.state, f)
        os.replace(tmp, self.args.state)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--torrent", required=True)
    ap.add_argument("--save", required=True)
    ap.add_argument("--ip", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--corrupt", default="")
    args = ap.parse_args()
    asyncio.run(Seed(args).run())


if __name__ == "__main__":
    main()
