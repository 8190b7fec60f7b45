import type { Message } from "@shoal/wire";

/** Piece count used by the sample stream; 21 pieces leave 3 spare bits in the bitfield. */
export const SAMPLE_PIECE_COUNT = 21;

/** One message of every type, valid for SAMPLE_PIECE_COUNT pieces and 16 KiB blocks. */
export function sampleMessages(): Message[] {
  return [
    { type: "bitfield", bits: Buffer.from([0b1010_0000, 0xff, 0b1111_1000]) },
    { type: "keep_alive" },
    { type: "choke" },
    { type: "unchoke" },
    { type: "interested" },
    { type: "not_interested" },
    { type: "have", index: 20 },
    { type: "request", index: 3, begin: 16384, length: 16384 },
    { type: "piece", index: 3, begin: 16384, block: Buffer.from("block bytes of piece three", "latin1") },
    { type: "cancel", index: 3, begin: 32768, length: 1 },
    { type: "port", port: 6881 },
    { type: "suggest", index: 0 },
    { type: "have_all" },
    { type: "have_none" },
    { type: "reject", index: 7, begin: 0, length: 16384 },
    { type: "allowed_fast", index: 19 },
    { type: "extended", id: 0, payload: Buffer.from("d1:md11:ut_metadatai3eee", "latin1") },
    { type: "extended", id: 3, payload: Buffer.alloc(0) },
    { type: "piece", index: 20, begin: 0, block: Buffer.alloc(16384, 0xab) },
  ];
}
