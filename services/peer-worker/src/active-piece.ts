import type { PeerConnection } from "./connection.js";

export const BLOCK_BYTES = 16 * 1024;
/** Blocks per piece fit in 14 bits for pieces up to 256 MiB, so a block key is index * 2^14 + block. */
const BLOCKS_PER_KEY = 16384;

export const BLOCK_FREE = 0;
export const BLOCK_REQUESTED = 1;
export const BLOCK_RECEIVED = 2;

/**
 * A piece being downloaded by this worker: its claim, its buffer and the state of each block.
 * `owned` is false for an end-game duplicate of a piece another worker holds.
 */
export class ActivePiece {
  readonly blockCount: number;
  /** Per block: BLOCK_FREE, BLOCK_REQUESTED or BLOCK_RECEIVED. */
  readonly blocks: Uint8Array;
  /** Connections a requested block was asked of (more than one only in end-game). */
  readonly requesters = new Map<number, PeerConnection[]>();
  /** Per block, the peer whose bytes are in the buffer: the ones blamed if the hash fails. */
  readonly blockFrom: (string | undefined)[];
  buf: Buffer | undefined;
  received = 0;
  requested = 0;
  lastProgressAt: number;
  /** Since when none of our connections can serve it; undefined while one can. */
  sourcelessSince: number | undefined;
  /**
   * Set for a piece a web seed fetches whole (its id, `web:<url>`): connections never request
   * its blocks, and it is not given up for want of a connection.
   */
  source: string | undefined;

  constructor(
    readonly index: number,
    readonly attempt: number,
    readonly length: number,
    readonly owned: boolean,
    now: number,
  ) {
    this.blockCount = Math.ceil(length / BLOCK_BYTES);
    this.blocks = new Uint8Array(this.blockCount);
    this.blockFrom = new Array<string | undefined>(this.blockCount);
    this.lastProgressAt = now;
  }

  blockLength(block: number): number {
    return Math.min(BLOCK_BYTES, this.length - block * BLOCK_BYTES);
  }

  get complete(): boolean {
    return this.received === this.blockCount;
  }

  /** The distinct peers whose blocks are in the buffer. */
  contributors(): string[] {
    return [...new Set(this.blockFrom.filter((p): p is string => p !== undefined))];
  }

  /** Every block arrived from `source` at once (a web seed filled the buffer). */
  receivedWhole(source: string): void {
    this.blocks.fill(BLOCK_RECEIVED);
    this.blockFrom.fill(source);
    this.received = this.blockCount;
    this.requested = 0;
  }

  /** Forgets every block `peer` sent (it was banned): they are downloaded again from others. */
  discardFrom(peer: string): number {
    let n = 0;
    for (let b = 0; b < this.blockCount; b++) {
      if (this.blockFrom[b] !== peer) continue;
      this.blockFrom[b] = undefined;
      if (this.blocks[b] === BLOCK_RECEIVED) {
        this.blocks[b] = BLOCK_FREE;
        this.received--;
        n++;
      }
    }
    return n;
  }

  /** Takes the request of `block` back from `conn`; the block is free again if nobody else asked. */
  dropRequester(block: number, conn: PeerConnection): void {
    const list = this.requesters.get(block);
    if (!list) return;
    const i = list.indexOf(conn);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) {
      this.requesters.delete(block);
      if (this.blocks[block] === BLOCK_REQUESTED) {
        this.blocks[block] = BLOCK_FREE;
        this.requested--;
      }
    }
  }
}

export function blockKey(index: number, block: number): number {
  return index * BLOCKS_PER_KEY + block;
}

export function splitBlockKey(key: number): { index: number; block: number } {
  const index = Math.floor(key / BLOCKS_PER_KEY);
  return { index, block: key - index * BLOCKS_PER_KEY };
}
