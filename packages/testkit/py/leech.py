"""A python-libtorrent leecher for tests: downloads one torrent, prints a JSON report.

usage: leech.py --torrent T --out DIR [--ip IP] [--port P] [--peer IP:PORT]...
                [--no-trackers] [--timeout S] [--until complete|hash-failure|every-piece-tried]

Announces to the torrent's trackers unless --no-trackers; --peer dials a peer directly.
--until hash-failure stops at the first piece that fails its hash check. --until
every-piece-tried stops once each piece is either downloaded or has failed its hash check once
(a failed piece is not requested again). Both are for seeds that serve bad pieces. Note that
libtorrent bans a peer at once when it alone sent a piece that failed.
Prints one JSON line: {"complete", "seconds", "downloaded", "failed_bytes",
"hash_failed_pieces", "have_pieces", "num_pieces", "max_peers", "errors", "timed_out"}.
Exit status 0 when the --until condition was met, 1 otherwise.
"""
import argparse
import json
import sys
import time

import libtorrent as lt

from lt_common import add_params, make_session


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--torrent", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--ip", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--peer", action="append", default=[])
    ap.add_argument("--no-trackers", action="store_true")
    ap.add_argument("--encryption", choices=["default", "forced", "disabled"], default="default")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--until", choices=["complete", "hash-failure", "every-piece-tried"], default="complete")
    a = ap.parse_args()

    ses = make_session(a.ip, a.port, encryption=a.encryption)
    atp = add_params(a.torrent, a.out)
    atp.flags |= lt.torrent_flags.paused
    h = ses.add_torrent(atp)
    if a.no_trackers:
        h.replace_trackers([])
    h.resume()
    peers = []
    for p in a.peer:
        ip, port = p.rsplit(":", 1)
        peers.append((ip, int(port)))

    num_pieces = h.torrent_file().num_pieces()
    failed = set()
    errors = []
    max_peers = 0
    t0 = time.monotonic()
    deadline = t0 + a.timeout
    last_dial = 0.0
    done = False
    while time.monotonic() < deadline:
        for al in ses.pop_alerts():
            if isinstance(al, lt.hash_failed_alert):
                failed.add(al.piece_index)
                if a.until == "every-piece-tried":
                    # Do not fetch it again: each retry from a corrupting peer costs it trust,
                    # and libtorrent would ban it before the good pieces are in.
                    h.piece_priority(al.piece_index, 0)
            elif isinstance(al, (lt.torrent_error_alert, lt.file_error_alert, lt.tracker_error_alert,
                                 lt.listen_failed_alert, lt.peer_ban_alert)):
                errors.append(al.message())
        st = h.status()
        max_peers = max(max_peers, st.num_peers)
        if st.is_seeding or st.is_finished or (a.until == "hash-failure" and failed):
            done = True
            break
        if a.until == "every-piece-tried":
            have = st.pieces
            if all(have[i] or i in failed for i in range(num_pieces)):
                done = True
                break
        # Dial the given peers again while not connected (a refused or dropped dial is retried).
        if peers and st.num_peers < len(peers) and time.monotonic() - last_dial > 0.5:
            last_dial = time.monotonic()
            for p in peers:
                h.connect_peer(p)
        ses.wait_for_alert(50)

    st = h.status()
    report = {
        "complete": bool(st.is_seeding or st.is_finished),
        "seconds": round(time.monotonic() - t0, 3),
        "downloaded": st.total_payload_download,
        "failed_bytes": st.total_failed_bytes,
        "hash_failed_pieces": sorted(failed),
        "have_pieces": sum(1 for x in st.pieces if x),
        "num_pieces": num_pieces,
        "max_peers": max_peers,
        "errors": errors[-20:],
        "timed_out": not done,
    }
    print(json.dumps(report), flush=True)
    ses.pause()
    del ses
    return 0 if done else 1


if __name__ == "__main__":
    sys.exit(main())
