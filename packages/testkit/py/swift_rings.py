"""Build the account, container and object rings of a one-device Swift cluster.

usage: swift_rings.py SWIFT_DIR DEVICE ACCOUNT_PORT CONTAINER_PORT OBJECT_PORT

Writes SWIFT_DIR/{account,container,object}.ring.gz, each with a single device DEVICE on
127.0.0.1 at the given port. This does in one interpreter what nine swift-ring-builder runs
(create, add, rebalance per ring) do in several seconds, since every run imports all of Swift.
The builder files are not kept: the rings never change after they are made.
"""
import os
import sys

from swift.common.ring import RingBuilder

# 2^6 partitions: the fewest that keep the ring valid while a tiny cluster needs no more.
PART_POWER = 6
# One copy of everything: there is one device, and tests want the data written exactly once.
REPLICAS = 1
# No rebalance is ever repeated, so the minimum hours between part moves do not matter.
MIN_PART_HOURS = 1


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    swift_dir, device = sys.argv[1], sys.argv[2]
    ports = dict(zip(("account", "container", "object"), map(int, sys.argv[3:6])))
    for kind, port in ports.items():
        builder = RingBuilder(PART_POWER, REPLICAS, MIN_PART_HOURS)
        builder.add_dev({
            "id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1", "port": port,
            "replication_ip": "127.0.0.1", "replication_port": port,
            "device": device, "weight": 1, "meta": "",
        })
        builder.rebalance()
        builder.get_ring().save(os.path.join(swift_dir, kind + ".ring.gz"))


if __name__ == "__main__":
    main()
