import { decodeMetadataMessage, encodeMetadataMessage, METADATA_PIECE_BYTES, SHOAL_UT_METADATA_ID, UT_METADATA, type ExtensionHandshake } from "@shoal/wire";
import type { PeerConnection } from "./connection.js";

/**
 * A peer asking for the same metadata again and again is wasting our upload: each connection
 * gets the whole info dict a few times over at most, then rejections.
 */
const MAX_PIECES_SERVED_FACTOR = 4;

/**
 * Serves the torrent's info dict to peers that ask (BEP 9), so peers that joined from a magnet
 * link can start: every torrent but a private one (BEP 27 forbids it). Requests past the end,
 * or past a per-connection allowance, are rejected as the BEP describes.
 */
export class MetadataServer {
  private readonly peerIds = new WeakMap<PeerConnection, number>();
  private readonly served = new WeakMap<PeerConnection, number>();
  private readonly pieces: number;

  constructor(private readonly info: Uint8Array | undefined) {
    this.pieces = info ? Math.ceil(info.length / METADATA_PIECE_BYTES) : 0;
  }

  /** What our extension handshake offers: ut_metadata and its size, or nothing for a private torrent. */
  handshakeFields(): { extensions?: Record<string, number>; metadataSize?: number } {
    return this.info ? { extensions: { [UT_METADATA]: SHOAL_UT_METADATA_ID }, metadataSize: this.info.length } : {};
  }

  /** Remembers the id the peer wants ut_metadata messages sent with. */
  onHandshake(conn: PeerConnection, hs: ExtensionHandshake): void {
    const id = hs.extensions.get(UT_METADATA);
    if (id !== undefined) this.peerIds.set(conn, id);
  }

  /** Handles an extended message with our ut_metadata id; anything malformed is the peer's fault (throws WireError). */
  onMessage(conn: PeerConnection, id: number, payload: Uint8Array): void {
    if (id !== SHOAL_UT_METADATA_ID || !this.info) return;
    const peerId = this.peerIds.get(conn);
    if (peerId === undefined) return;
    const msg = decodeMetadataMessage(payload);
    if (msg.type !== "request") return;
    const served = this.served.get(conn) ?? 0;
    if (msg.piece >= this.pieces || served >= MAX_PIECES_SERVED_FACTOR * this.pieces) {
      conn.send({ type: "extended", id: peerId, payload: encodeMetadataMessage({ type: "reject", piece: msg.piece }) });
      return;
    }
    this.served.set(conn, served + 1);
    const data = this.info.subarray(msg.piece * METADATA_PIECE_BYTES, Math.min(this.info.length, (msg.piece + 1) * METADATA_PIECE_BYTES));
    conn.send({ type: "extended", id: peerId, payload: encodeMetadataMessage({ type: "data", piece: msg.piece, totalSize: this.info.length, data }) });
  }
}
