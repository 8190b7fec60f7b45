"""One libtorrent session seeding many torrents, for tests that run many jobs at once.

usage: lt_many_seed.py --save DIR --ip IP --port P --state FILE --torrent T [--torrent T ...]

Every torrent's data is already in DIR; libtorrent trusts it (seed_mode) and seeds each torrent,
announcing to its trackers. Runs until SIGTERM. FILE is rewritten (atomically) whenever
something changes, as JSON:
  {"pid", "ready", "torrents", "seeding", "announced", "uploaded", "errors": [str]}
ready: every torrent is seeding and its tracker answered at least once.
"""
import argparse
import os
import signal
import sys

import libtorrent as lt

from lt_common import add_params, make_session, write_json

STATE_INTERVAL_S = 0.2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--torrent", action="append", required=True)
    ap.add_argument("--save", required=True)
    ap.add_argument("--ip", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--state", required=True)
    a = ap.parse_args()

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    ses = make_session(a.ip, a.port)
    # One session serves every torrent: libtorrent's defaults cap active seeds and connections
    # far below what many small torrents at once need.
    ses.apply_settings({"active_seeds": -1, "active_limit": -1, "active_downloads": -1, "connections_limit": 2000})
    handles = []
    for t in a.torrent:
        atp = add_params(t, a.save)
        atp.flags |= lt.torrent_flags.seed_mode
        handles.append(ses.add_torrent(atp))
    announced = set()
    state = {"pid": os.getpid(), "ready": False, "torrents": len(handles), "seeding": 0, "announced": 0,
             "uploaded": 0, "errors": []}

    last = None
    while not stop:
        for al in ses.pop_alerts():
            if isinstance(al, lt.tracker_reply_alert):
                announced.add(str(al.handle.info_hash()))
            elif isinstance(al, (lt.tracker_error_alert, lt.file_error_alert, lt.listen_failed_alert,
                                 lt.torrent_error_alert)):
                msg = al.message()
                print(f"lt_many_seed {a.ip}:{a.port}: {msg}", file=sys.stderr, flush=True)
                state["errors"] = (state["errors"] + [msg])[-20:]
        statuses = [h.status() for h in handles]
        state.update(
            seeding=sum(1 for st in statuses if st.is_seeding),
            announced=len(announced),
            uploaded=sum(st.total_payload_upload for st in statuses),
        )
        state["ready"] = state["seeding"] == len(handles) and state["announced"] == len(handles)
        snapshot = repr(sorted(state.items()))
        if snapshot != last:
            write_json(a.state, state)
            last = snapshot
        ses.wait_for_alert(int(STATE_INTERVAL_S * 1000))

    write_json(a.state, state)
    ses.pause()
    del ses


if __name__ == "__main__":
    main()
