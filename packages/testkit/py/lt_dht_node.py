"""A libtorrent DHT node for tests, in its own process, optionally seeding one torrent into the DHT.

usage: lt_dht_node.py --ip IP --port P --state FILE [--nodes ip:port,...] [--torrent T --save DIR]

The node runs libtorrent's DHT on IP:P (UDP; TCP too for a seed's peers) with every check that
refuses loopback nodes turned off. --nodes are added with add_dht_node, as ordinary nodes:
libtorrent never puts its bootstrap routers (dht_bootstrap_nodes) in its routing table, so a
little DHT whose nodes name each other as routers would never fill any table. With --torrent the
data in DIR is seeded and announced into the DHT (no tracker), every few seconds.
Runs until SIGTERM. FILE is rewritten (atomically) when something changes, as JSON:
  {"pid", "ready", "nodes", "seeding", "get_peers": [hex], "announces": [[hex, ip, port]], "errors": [str]}
ready: the routing table holds a node (and a seed is seeding).
get_peers: info hashes other nodes asked this one for; announces: announce_peer it received.
"""
import argparse
import os
import signal
import sys
import time

import libtorrent as lt

from lt_common import session_settings, write_json

# At most this many distinct info hashes and announces are recorded (a test needs a handful).
MAX_RECORDED = 500
# How often the seed announces into the DHT: seconds, so a test does not wait 15 minutes.
ANNOUNCE_EVERY_S = 3
# How often a node with an empty routing table adds its --nodes again.
READD_EVERY_S = 2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ip", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--nodes", default="")
    ap.add_argument("--torrent")
    ap.add_argument("--save")
    a = ap.parse_args()

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    s = session_settings(a.ip, a.port)
    s.update({
        "enable_dht": True,
        "dht_bootstrap_nodes": "",
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "dht_announce_interval": ANNOUNCE_EVERY_S,
        "alert_mask": s["alert_mask"] | lt.alert.category_t.dht_notification | lt.alert.category_t.stats_notification,
    })
    known = lt.default_settings()
    for k, v in {"dht_enforce_node_id": False, "dht_ignore_dark_internet": False, "dht_prevent_sybil": False}.items():
        if k in known:
            s[k] = v
    ses = lt.session(s)
    nodes = []
    for n in filter(None, a.nodes.split(",")):
        host, port = n.rsplit(":", 1)
        nodes.append((host, int(port)))
    for n in nodes:
        ses.add_dht_node(n)

    h = None
    if a.torrent:
        atp = lt.add_torrent_params()
        atp.ti = lt.torrent_info(a.torrent)
        atp.save_path = a.save
        atp.flags &= ~(lt.torrent_flags.auto_managed | lt.torrent_flags.paused)
        atp.flags |= lt.torrent_flags.disable_lsd | lt.torrent_flags.disable_pex
        h = ses.add_torrent(atp)

    state = {"pid": os.getpid(), "ready": False, "nodes": 0, "seeding": False, "get_peers": [], "announces": [], "errors": []}
    seen = set()
    last = None
    last_stats = 0.0
    last_announce = 0.0
    last_readd = time.monotonic()
    while not stop:
        now = time.monotonic()
        # A node named before it was up missed our ping: ask again while the table is empty.
        if state["nodes"] == 0 and now - last_readd >= READD_EVERY_S:
            for n in nodes:
                ses.add_dht_node(n)
            last_readd = now
        if now - last_stats >= 0.5:
            ses.post_dht_stats()
            last_stats = now
        if h is not None and state["seeding"] and state["nodes"] > 0 and now - last_announce >= ANNOUNCE_EVERY_S:
            h.force_dht_announce()
            last_announce = now
        for al in ses.pop_alerts():
            if isinstance(al, lt.dht_stats_alert):
                state["nodes"] = sum(b["num_nodes"] for b in al.routing_table)
            elif isinstance(al, lt.dht_get_peers_alert):
                ih = str(al.info_hash)
                if ih not in seen and len(state["get_peers"]) < MAX_RECORDED:
                    seen.add(ih)
                    state["get_peers"] = state["get_peers"] + [ih]
            elif isinstance(al, lt.dht_announce_alert):
                entry = [str(al.info_hash), str(al.ip), al.port]
                if entry not in state["announces"] and len(state["announces"]) < MAX_RECORDED:
                    state["announces"] = state["announces"] + [entry]
            elif isinstance(al, (lt.listen_failed_alert, lt.torrent_error_alert, lt.file_error_alert)):
                msg = al.message()
                print(f"lt_dht_node {a.ip}:{a.port}: {msg}", file=sys.stderr, flush=True)
                state["errors"] = (state["errors"] + [msg])[-20:]
        if h is not None:
            state["seeding"] = bool(h.status().is_seeding)
        state["ready"] = state["nodes"] > 0 and (h is None or state["seeding"])
        snapshot = repr(sorted((k, repr(v)) for k, v in state.items()))
        if snapshot != last:
            write_json(a.state, state)
            last = snapshot
        ses.wait_for_alert(100)

    write_json(a.state, state)
    del ses


if __name__ == "__main__":
    main()
