/**
 * The peer wire messages: BEP 3 (choke to cancel), BEP 5 (port), BEP 6 (suggest to
 * allowed_fast) and the BEP 10 extended envelope. Ids are the single byte after the length
 * prefix.
 */
export const MESSAGE_ID = {
  choke: 0,
  unchoke: 1,
  interested: 2,
  not_interested: 3,
  have: 4,
  bitfield: 5,
  request: 6,
  piece: 7,
  cancel: 8,
  port: 9,
  suggest: 0x0d,
  have_all: 0x0e,
  have_none: 0x0f,
  reject: 0x10,
  allowed_fast: 0x11,
  extended: 20,
} as const;

export type Message =
  | { type: "keep_alive" }
  | { type: "choke" }
  | { type: "unchoke" }
  | { type: "interested" }
  | { type: "not_interested" }
  | { type: "have"; index: number }
  /** The raw wire bytes; wrap them in a `Bitfield` to query them. */
  | { type: "bitfield"; bits: Uint8Array }
  | { type: "request"; index: number; begin: number; length: number }
  /** `block` is a view into the received chunk when the message arrived in one chunk. */
  | { type: "piece"; index: number; begin: number; block: Buffer }
  | { type: "cancel"; index: number; begin: number; length: number }
  | { type: "port"; port: number }
  | { type: "suggest"; index: number }
  | { type: "have_all" }
  | { type: "have_none" }
  | { type: "reject"; index: number; begin: number; length: number }
  | { type: "allowed_fast"; index: number }
  /** `id` is the extended message id (0 is the BEP 10 handshake); `payload` follows it. */
  | { type: "extended"; id: number; payload: Buffer };

export type MessageType = Message["type"];

/** Bytes of the big-endian length prefix in front of every message. */
export const LENGTH_PREFIX_BYTES = 4;
