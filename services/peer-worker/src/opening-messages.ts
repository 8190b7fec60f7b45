import type { Bitfield } from "@shoal/wire";
import type { PeerConnection } from "./connection.js";
import { encodeExtensionHandshake } from "@shoal/wire";

/**
 * Our first messages on a new connection, before we read anything of the peer's (BEP 6 wants
 * our bitfield first): the BEP 10 extension handshake when the peer speaks it, then what we have
 * (have_all or have_none with the fast extension, else a bitfield unless we have nothing).
 */
export function sendOpening(
  conn: PeerConnection,
  have: Bitfield,
  listenPort: number,
  extra: { extensions?: Record<string, number>; metadataSize?: number } = {},
): void {
  if (conn.extended) {
    conn.send({
      type: "extended",
      id: 0,
      payload: encodeExtensionHandshake({ ...extra, listenPort, requestQueue: 1000, client: "shoal/0.1" }),
    });
  }
  if (conn.fast) {
    if (have.count() === 0) conn.send({ type: "have_none" });
    else if (have.isComplete()) conn.send({ type: "have_all" });
    else conn.send({ type: "bitfield", bits: have.toBytes() });
  } else if (have.count() > 0) {
    conn.send({ type: "bitfield", bits: have.toBytes() });
  }
}
