/**
 * Bytes of chunked messages one durable subscription holds at once: fetched, being fetched, or
 * in a handler. Requests are granted in order; one that does not fit waits until enough is
 * released, except that a request is always granted when nothing is held, so a message larger
 * than the whole budget still goes through, alone.
 */
export class ByteBudget {
  private held = 0;
  private readonly waiters: { readonly bytes: number; readonly grant: () => void }[] = [];

  constructor(readonly limitBytes: number) {}

  /** Bytes granted now. */
  get heldBytes(): number {
    return this.held;
  }

  /** Resolves with an idempotent release once `bytes` fit. */
  acquire(bytes: number): Promise<() => void> {
    return new Promise((resolve) => {
      const grant = () => {
        this.held += bytes;
        resolve(this.releaser(bytes));
      };
      if (this.waiters.length === 0 && this.fits(bytes)) grant();
      else this.waiters.push({ bytes, grant });
    });
  }

  private fits(bytes: number): boolean {
    return this.held === 0 || this.held + bytes <= this.limitBytes;
  }

  private releaser(bytes: number): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held -= bytes;
      while (this.waiters.length > 0 && this.fits(this.waiters[0]!.bytes)) this.waiters.shift()!.grant();
    };
  }
}
