import { RESERVED_LENGTH_BYTES } from "./bep3-handshake.js";
import { WireError } from "./wire-error.js";

/*
 * Where each extension lives in the 8 reserved handshake bytes. Bits are numbered the way the
 * BEPs describe them: byte index into the reserved field, then a mask within that byte.
 */
/** BEP 10: the 20th bit from the right, 0x10 in reserved[5]. */
const EXTENSION_PROTOCOL = { byte: 5, mask: 0x10 } as const;
/** BEP 6: the third least significant bit, 0x04 in reserved[7]. */
const FAST = { byte: 7, mask: 0x04 } as const;
/** BEP 5: the last bit, 0x01 in reserved[7]. */
const DHT = { byte: 7, mask: 0x01 } as const;

interface ReservedBit {
  readonly byte: number;
  readonly mask: number;
}

export interface ReservedBitOptions {
  extensionProtocol?: boolean;
  fast?: boolean;
  dht?: boolean;
}

/** Reads and builds the extension bits of a handshake's reserved field. */
export const RESERVED_BITS = {
  /** BEP 10: the peer understands extended messages (id 20). */
  extensionProtocol(reserved: Uint8Array): boolean {
    return isSet(reserved, EXTENSION_PROTOCOL);
  },
  /** BEP 6: the peer understands have_all, have_none, suggest, reject and allowed_fast. */
  fast(reserved: Uint8Array): boolean {
    return isSet(reserved, FAST);
  },
  /** BEP 5: the peer runs a DHT node and may send a port message. */
  dht(reserved: Uint8Array): boolean {
    return isSet(reserved, DHT);
  },
  /** Builds the 8 reserved bytes with the chosen bits set and every other bit zero. */
  make(opts: ReservedBitOptions): Uint8Array {
    const reserved = Buffer.alloc(RESERVED_LENGTH_BYTES);
    if (opts.extensionProtocol === true) reserved[EXTENSION_PROTOCOL.byte] |= EXTENSION_PROTOCOL.mask;
    if (opts.fast === true) reserved[FAST.byte] |= FAST.mask;
    if (opts.dht === true) reserved[DHT.byte] |= DHT.mask;
    return reserved;
  },
} as const;

function isSet(reserved: Uint8Array, bit: ReservedBit): boolean {
  if (reserved.length !== RESERVED_LENGTH_BYTES) {
    throw new WireError(
      "INVALID_ARGUMENT",
      `reserved field has ${reserved.length} bytes, expected ${RESERVED_LENGTH_BYTES}`,
      { context: { length: reserved.length, expected: RESERVED_LENGTH_BYTES } },
    );
  }
  return (reserved[bit.byte] & bit.mask) !== 0;
}
