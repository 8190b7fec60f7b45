"""Create a .torrent with libtorrent's create_torrent.

usage: make_torrent.py --path FILE_OR_DIR --out FILE --piece-length BYTES
                       [--tracker TIER URL]... [--web-seed URL]... [--private] [--hybrid]

Without --hybrid the torrent is v1 only (no padding files). With --hybrid it carries both the
v1 info and the v2 file tree (BEP 52), and libtorrent inserts padding files (BEP 47) so every
file starts on a piece boundary. Prints {"v1": hex, "v2": hex|null} on stdout.
"""
import argparse
import json
import os
import sys

import libtorrent as lt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--path", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--piece-length", type=int, required=True)
    ap.add_argument("--tracker", nargs=2, action="append", default=[], metavar=("TIER", "URL"))
    ap.add_argument("--web-seed", action="append", default=[])
    ap.add_argument("--private", action="store_true")
    ap.add_argument("--hybrid", action="store_true")
    a = ap.parse_args()

    path = os.path.abspath(a.path)
    fs = lt.file_storage()
    lt.add_files(fs, path)
    if fs.num_files() == 0:
        sys.exit(f"make_torrent: no files under {path}")
    flags = 0 if a.hybrid else lt.create_torrent.v1_only
    ct = lt.create_torrent(fs, a.piece_length, flags=flags)
    for tier, url in a.tracker:
        ct.add_tracker(url, int(tier))
    for url in a.web_seed:
        ct.add_url_seed(url)
    if a.private:
        ct.set_priv(True)
    ct.set_creator("shoal-testkit")
    # Piece hashes are computed from the files as found under the parent directory.
    lt.set_piece_hashes(ct, os.path.dirname(path))
    data = lt.bencode(ct.generate())
    with open(a.out, "wb") as f:
        f.write(data)
    hashes = lt.torrent_info(a.out).info_hashes()
    v2 = str(hashes.v2) if hashes.has_v2() else None
    print(json.dumps({"v1": str(hashes.v1), "v2": v2}))


if __name__ == "__main__":
    main()
