/**
 * Headroom: bytes in front of a byte view that the view's holder lends to the bus, so a bus
 * adapter that frames a message as header then bytes can write its header there and send
 * header and bytes as one view of the same memory, instead of copying the bytes behind a fresh
 * header (for a 1 MiB piece that copy was a tenth of a peer-worker's CPU).
 *
 * A loan is for one view object and one holding of it: the holder lends the room when it takes
 * the memory (a buffer pool, on every hand-out) and the loan is replaced by the next one. The
 * rules, for holders and adapters alike:
 * - The room belongs to the holder of the view; nobody else may hold a view into it.
 * - A body an adapter built in the room aliases the view: the holder may change or reuse the
 *   memory only once the publish that sent it resolved (the client no longer needs the body),
 *   never after one that failed, since the client may still hold the body queued.
 * - Publishing the same payload again (a retry) is allowed, and must put the same header in the
 *   room, because an earlier try may still be queued: the adapter writes the room at most once
 *   per loan with one header, and copies for any other header.
 */
export interface HeadroomLoan {
  /** The bytes right in front of the view that may be written. */
  readonly bytes: number;
}

const loans = new WeakMap<Uint8Array, HeadroomLoan>();

/**
 * Lends the `bytes` bytes in front of `view` (in its buffer, from `view.byteOffset - bytes`) to
 * whoever encodes this view object into a message, replacing an earlier loan. Throws RangeError
 * when the buffer has no such bytes in front of the view.
 */
export function lendHeadroom(view: Uint8Array, bytes: number): void {
  if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > view.byteOffset) {
    throw new RangeError(`cannot lend ${bytes} bytes of headroom in front of a view at offset ${view.byteOffset}`);
  }
  loans.set(view, { bytes });
}

/** The loan on `view` (this object, not an equal view), if its holder made one. */
export function headroomOf(view: Uint8Array): HeadroomLoan | undefined {
  return loans.get(view);
}
