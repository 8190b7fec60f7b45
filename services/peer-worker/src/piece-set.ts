/**
 * A set of piece indices with constant-time add, delete and membership, whose members also sit in
 * a dense array: walking it costs its size, not the torrent's piece count. Order is not kept
 * (deleting moves the last member into the hole). Memory is 8 bytes per piece of the torrent.
 */
export class PieceSet {
  private readonly members: Uint32Array;
  /** Per piece, its position in `members` plus one; 0 when it is not a member. */
  private readonly slots: Uint32Array;
  private count = 0;

  constructor(pieceCount: number) {
    this.members = new Uint32Array(pieceCount);
    this.slots = new Uint32Array(pieceCount);
  }

  get size(): number {
    return this.count;
  }

  has(piece: number): boolean {
    return this.slots[piece] !== 0;
  }

  /** Returns false when it was a member already. */
  add(piece: number): boolean {
    if (this.slots[piece] !== 0) return false;
    this.members[this.count] = piece;
    this.slots[piece] = ++this.count;
    return true;
  }

  /** Returns false when it was not a member. */
  delete(piece: number): boolean {
    const at = this.slots[piece]!;
    if (at === 0) return false;
    const last = this.members[--this.count]!;
    this.members[at - 1] = last;
    this.slots[last] = at;
    this.slots[piece] = 0;
    return true;
  }

  /** The members, as a view that is valid until the set changes. */
  view(): Uint32Array {
    return this.members.subarray(0, this.count);
  }
}
