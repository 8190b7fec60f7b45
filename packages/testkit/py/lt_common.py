"""Shared libtorrent session settings for the testkit's seed and leecher."""
import json
import os

import libtorrent as lt


def session_settings(ip, port, upload_rate_limit=0, encryption="default", download_rate_limit=0):
    """libtorrent defaults, with everything that leaves loopback or hides peers turned off.

    Every test peer sits on 127.0.0.0/8, so several connections per IP must be allowed, and
    the peer class filter below must put loopback peers under the global rate limit.
    """
    s = lt.default_settings()
    s.update({
        "listen_interfaces": f"{ip}:{port}",
        # Dial peers and trackers from the peer's own address, so a tracker records that address.
        "outgoing_interfaces": ip,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_incoming_utp": False,
        "enable_outgoing_utp": False,
        "allow_multiple_connections_per_ip": True,
        # Plaintext: dial without MSE, accept both, and pick plaintext when both sides allow it.
        "prefer_rc4": False,
        "out_enc_policy": int(lt.enc_policy.disabled),
        "in_enc_policy": int(lt.enc_policy.enabled),
        "upload_rate_limit": upload_rate_limit,
        "download_rate_limit": download_rate_limit,
        # A stopped test peer waits at most this long for its 'stopped' announce.
        "stop_tracker_timeout": 1,
        "alert_mask": lt.alert.category_t.error_notification
        | lt.alert.category_t.status_notification
        | lt.alert.category_t.tracker_notification
        | lt.alert.category_t.storage_notification
        | lt.alert.category_t.peer_notification,
    })
    if encryption == "forced":
        # MSE/PE required both ways with RC4 only: what peers that refuse plaintext run.
        s.update({
            "out_enc_policy": int(lt.enc_policy.forced),
            "in_enc_policy": int(lt.enc_policy.forced),
            "allowed_enc_level": int(lt.enc_level.rc4),
            "prefer_rc4": True,
        })
    elif encryption == "disabled":
        # Plaintext only: an MSE handshake is read as a bad BEP 3 handshake and dropped.
        s.update({
            "out_enc_policy": int(lt.enc_policy.disabled),
            "in_enc_policy": int(lt.enc_policy.disabled),
        })
    return s


def make_session(ip, port, upload_rate_limit=0, encryption="default", download_rate_limit=0):
    ses = lt.session(session_settings(ip, port, upload_rate_limit, encryption, download_rate_limit))
    # Loopback peers sit in libtorrent's unlimited "local" peer class; move every address into
    # the global class so rate limits apply on 127.0.0.0/8 too.
    f = lt.ip_filter()
    f.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
    ses.set_peer_class_filter(f)
    return ses


def add_params(torrent, save_path, pex=False):
    atp = lt.add_torrent_params()
    atp.ti = lt.torrent_info(torrent)
    atp.save_path = save_path
    atp.flags &= ~(lt.torrent_flags.auto_managed | lt.torrent_flags.paused)
    atp.flags |= lt.torrent_flags.disable_dht | lt.torrent_flags.disable_lsd
    # Peer exchange only when a test asks for it: other tests count on a peer knowing just the
    # peers its tracker names.
    if not pex:
        atp.flags |= lt.torrent_flags.disable_pex
    return atp


def write_json(path, data):
    """Atomic replace, so the Node side never reads half a file."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)
