"""A libtorrent peer (seed or leecher) for tests, in its own process.

usage: lt_seed.py --torrent T --save DIR --ip IP --port P --state FILE
                  [--mode seed|leech] [--upload-rate-limit BYTES_PER_S] [--skip-check]
                  [--download-rate-limit BYTES_PER_S] [--pex]

seed: the data is already in DIR; libtorrent hash-checks it (or trusts it with --skip-check,
seed_mode) and seeds. leech: downloads into DIR. The torrent's trackers are announced to.
Runs until SIGTERM. FILE is rewritten (atomically) whenever something changes, as JSON:
  {"pid", "ready", "seeding", "announced", "progress", "uploaded", "downloaded", "peers",
   "failed_bytes", "errors": [str]}
ready: a seed is seeding and a tracker answered; a leecher is announced.
"""
import argparse
import os
import signal
import sys
import time

import libtorrent as lt

from lt_common import add_params, make_session, write_json

# Short enough for the Node side to see changes promptly, long enough to cost nothing.
STATE_INTERVAL_S = 0.1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--torrent", required=True)
    ap.add_argument("--save", required=True)
    ap.add_argument("--ip", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--mode", choices=["seed", "leech"], default="seed")
    ap.add_argument("--upload-rate-limit", type=int, default=0)
    ap.add_argument("--skip-check", action="store_true")
    ap.add_argument("--download-rate-limit", type=int, default=0)
    ap.add_argument("--pex", action="store_true", help="exchange peers (ut_pex) with peers that speak it")
    ap.add_argument("--encryption", choices=["default", "forced", "disabled"], default="default")
    a = ap.parse_args()

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    ses = make_session(a.ip, a.port, a.upload_rate_limit, a.encryption, a.download_rate_limit)
    atp = add_params(a.torrent, a.save, pex=a.pex)
    if a.mode == "seed" and a.skip_check:
        atp.flags |= lt.torrent_flags.seed_mode
    h = ses.add_torrent(atp)
    state = {"pid": os.getpid(), "ready": False, "seeding": False, "announced": False, "progress": 0.0,
             "uploaded": 0, "downloaded": 0, "peers": 0, "failed_bytes": 0, "errors": []}

    def refresh():
        st = h.status()
        state.update(
            seeding=bool(st.is_seeding),
            progress=st.progress,
            uploaded=st.total_payload_upload,
            downloaded=st.total_payload_download,
            peers=st.num_peers,
            failed_bytes=st.total_failed_bytes,
        )
        state["ready"] = state["announced"] and (state["seeding"] or a.mode == "leech")

    last = None
    while not stop:
        for al in ses.pop_alerts():
            if isinstance(al, lt.tracker_reply_alert):
                state["announced"] = True
            elif isinstance(al, (lt.tracker_error_alert, lt.tracker_warning_alert, lt.file_error_alert,
                                 lt.listen_failed_alert, lt.torrent_error_alert, lt.hash_failed_alert)):
                msg = al.message()
                print(f"lt_seed {a.ip}:{a.port}: {msg}", file=sys.stderr, flush=True)
                state["errors"] = (state["errors"] + [msg])[-20:]
            elif isinstance(al, lt.listen_succeeded_alert):
                print(f"lt_seed: listening on {al.address}:{al.port}", file=sys.stderr, flush=True)
        refresh()
        snapshot = repr(sorted(state.items()))
        if snapshot != last:
            write_json(a.state, state)
            last = snapshot
        ses.wait_for_alert(int(STATE_INTERVAL_S * 1000))

    refresh()
    write_json(a.state, state)
    # Leave the swarm politely: the 'stopped' announce waits at most stop_tracker_timeout.
    ses.pause()
    del ses


if __name__ == "__main__":
    main()
