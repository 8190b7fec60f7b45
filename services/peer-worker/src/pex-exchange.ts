import type { PeerAddress } from "@shoal/coordination";
import type { Logger } from "@shoal/service-kit";
import { PEX_FLAGS, SHOAL_UT_PEX_ID, UT_PEX, decodePexMessage, encodePexMessage, type ExtensionHandshake, type Message, type PexAdded } from "@shoal/wire";
import { splitPeerKey } from "./address-book.js";
import { MAX_PEX_PAYLOAD_BYTES, PEX_SEND_INTERVAL_MS, learnedPeers, pexDelta, pexReceiveVerdict } from "./pex-policy.js";

/** What the exchange needs of a connection (a PeerConnection is one). */
export interface PexConnection {
  /** `ip:port` dialled, or the address an accepted connection came from. */
  readonly key: string;
  readonly outgoing: boolean;
  readonly encrypted: boolean;
  readonly closed: boolean;
  readonly bitfield: { isComplete(): boolean };
  send(msg: Message): void;
}

/** What the exchange needs of the swarm. */
export interface PexHost {
  /** The swarm's live connections. */
  connections(): Iterable<PexConnection>;
  /** One of our own listen addresses. */
  isOwnAddress(ip: string, port: number): boolean;
  /** Every piece we want is here. */
  complete(): boolean;
  /** Peers a PEX message named that are worth dialling. */
  learn(peers: readonly PeerAddress[]): void;
}

/** Per connection: the peer's side of ut_pex and what we told it. */
interface PeerPex {
  /** The id the peer wants ut_pex sent with; undefined when it does not speak it. */
  id?: number;
  /** Its listen port (BEP 10 `p`): how an accepted connection is advertised to others. */
  listenPort?: number;
  /** What it was told and not told dropped since, by address. */
  readonly advertised: Map<string, PexAdded>;
  lastSentAt?: number;
  lastReadAt?: number;
}

/** Counts for status and tests. */
export interface PexStats {
  /** Messages read (decoded and used). */
  read: number;
  /** Messages ignored: too large, too frequent, or for a private torrent. */
  ignored: number;
  /** Peers passed on to the address book. */
  learned: number;
  /** Messages sent. */
  sent: number;
}

/**
 * Peer exchange (BEP 11, ut_pex) for one torrent in one worker. It reads what peers tell us,
 * within limits (see pex-policy.ts), and tells each peer that speaks it which peers we are
 * connected to: a first message as soon as there is something to say after its handshake, then
 * what changed, at most once a minute. A private torrent (BEP 27) neither offers nor reads nor
 * sends it: its peers must come from its trackers only.
 *
 * What we advertise is this worker's connections only, never another worker's address: see
 * docs/DESIGN-NOTES.md, "Peer exchange (BEP 11)".
 */
export class PexExchange {
  readonly stats: PexStats = { read: 0, ignored: 0, learned: 0, sent: 0 };
  private readonly peers = new WeakMap<PexConnection, PeerPex>();

  constructor(
    private readonly enabled: boolean,
    private readonly host: PexHost,
    private readonly now: () => number,
    private readonly logger: Logger,
  ) {}

  /** What our extension handshake offers: ut_pex, or nothing for a private torrent. */
  handshakeFields(): Record<string, number> {
    return this.enabled ? { [UT_PEX]: SHOAL_UT_PEX_ID } : {};
  }

  /** The peer's extension handshake: its ut_pex id and listen port; our first message when it has one. */
  onHandshake(conn: PexConnection, hs: ExtensionHandshake): void {
    const state = this.stateOf(conn);
    if (hs.listenPort !== undefined) state.listenPort = hs.listenPort;
    const id = hs.extensions.get(UT_PEX);
    if (id === undefined || !this.enabled) return;
    state.id = id;
    this.sendDue(conn, state);
  }

  /**
   * An extended message with our ut_pex id. Too large or too frequent ones are ignored; a
   * malformed one throws WireError BAD_EXTENSION_MESSAGE (the peer broke the protocol).
   */
  onMessage(conn: PexConnection, payload: Uint8Array): void {
    if (!this.enabled) {
      this.stats.ignored++;
      return;
    }
    const state = this.stateOf(conn);
    const now = this.now();
    const verdict = pexReceiveVerdict(payload.length, state.lastReadAt, now);
    if (verdict !== "read") {
      this.stats.ignored++;
      this.logger.debug({ peer: conn.key, bytes: payload.length, verdict }, "ut_pex message ignored");
      return;
    }
    state.lastReadAt = now;
    // The size cap bounds the entries; the decoder's own count limit would only make a long but
    // small message an error instead of the first 50 entries read.
    const msg = decodePexMessage(payload, Math.ceil(MAX_PEX_PAYLOAD_BYTES / 6));
    this.stats.read++;
    const learned = learnedPeers(msg, { isOwnAddress: (ip, port) => this.host.isOwnAddress(ip, port), complete: this.host.complete() });
    if (learned.length === 0) return;
    this.stats.learned += learned.length;
    this.logger.debug({ peer: conn.key, peers: learned.length }, "peers learnt through ut_pex");
    this.host.learn(learned.map((p) => ({ ip: p.ip, port: p.port })));
  }

  /** Sends every peer that speaks ut_pex what changed, where its minute is up. */
  tick(): void {
    if (!this.enabled) return;
    for (const conn of this.host.connections()) {
      const state = this.peers.get(conn);
      if (state?.id !== undefined) this.sendDue(conn, state);
    }
  }

  private stateOf(conn: PexConnection): PeerPex {
    let state = this.peers.get(conn);
    if (!state) this.peers.set(conn, (state = { advertised: new Map() }));
    return state;
  }

  private sendDue(conn: PexConnection, state: PeerPex): void {
    if (conn.closed || state.id === undefined) return;
    const now = this.now();
    if (state.lastSentAt !== undefined && now - state.lastSentAt < PEX_SEND_INTERVAL_MS) return;
    const { added, dropped } = pexDelta(state.advertised, this.view(conn));
    // Nothing new: no message, and the next change may go out at once.
    if (added.length === 0 && dropped.length === 0) return;
    for (const p of added) state.advertised.set(`${p.ip}:${p.port}`, p);
    for (const p of dropped) state.advertised.delete(`${p.ip}:${p.port}`);
    state.lastSentAt = now;
    this.stats.sent++;
    conn.send({ type: "extended", id: state.id, payload: encodePexMessage({ added, dropped }) });
  }

  /**
   * The peers we are connected to, as others can dial them, but `to` itself: a dialled peer at
   * the address we dialled, an accepted one at its IP and the listen port its handshake gave
   * (left out without one: the port it came from is nobody's listen port).
   */
  private view(to: PexConnection): Map<string, PexAdded> {
    const out = new Map<string, PexAdded>();
    const toAddress = this.addressOf(to);
    for (const conn of this.host.connections()) {
      if (conn === to || conn.closed) continue;
      const address = this.addressOf(conn);
      if (address === undefined || address === toAddress) continue;
      const [ip, port] = splitPeerKey(address);
      let flags = 0;
      if (conn.encrypted) flags |= PEX_FLAGS.encryption;
      if (conn.bitfield.isComplete()) flags |= PEX_FLAGS.seed;
      if (conn.outgoing) flags |= PEX_FLAGS.outgoing;
      out.set(address, { ip, port, flags });
    }
    return out;
  }

  private addressOf(conn: PexConnection): string | undefined {
    if (conn.outgoing) return conn.key;
    const port = this.peers.get(conn)?.listenPort;
    return port === undefined ? undefined : `${splitPeerKey(conn.key)[0]}:${port}`;
  }
}
