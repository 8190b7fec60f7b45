/**
 * How long a case waits for an asynchronous event before it fails: generous for a networked
 * backend on a loaded CI machine, and still far below the test runner's own timeout.
 */
export const EVENT_DEADLINE_MS = 5_000;

interface Waiter<T> {
  readonly done: (items: readonly T[]) => boolean;
  readonly resolve: (items: readonly T[]) => void;
}

/**
 * Collects what handlers and listeners receive, and lets a case wait until a condition holds
 * with a deadline instead of sleeping.
 */
export class Inbox<T> {
  readonly items: T[] = [];
  private readonly waiters = new Set<Waiter<T>>();

  push(item: T): void {
    this.items.push(item);
    for (const w of [...this.waiters]) {
      if (w.done(this.items)) {
        this.waiters.delete(w);
        w.resolve(this.items);
      }
    }
  }

  /** Resolves once `done(items)` holds; rejects naming `what` when the deadline passes first. */
  until(done: (items: readonly T[]) => boolean, what: string, deadlineMs = EVENT_DEADLINE_MS): Promise<readonly T[]> {
    if (done(this.items)) return Promise.resolve(this.items);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`waited ${deadlineMs} ms for ${what}; got ${this.items.length} item(s): ${preview(this.items)}`));
      }, deadlineMs);
      const waiter: Waiter<T> = {
        done,
        resolve: (items) => {
          clearTimeout(timer);
          resolve(items);
        },
      };
      this.waiters.add(waiter);
    });
  }

  /** Resolves once at least `n` items arrived. */
  count(n: number, what: string, deadlineMs = EVENT_DEADLINE_MS): Promise<readonly T[]> {
    return this.until((items) => items.length >= n, `${n} ${what}`, deadlineMs);
  }
}

/** The first items as JSON, so a timeout shows what did arrive. */
function preview(items: readonly unknown[]): string {
  const text = JSON.stringify(items.slice(0, 10));
  return items.length > 10 ? `${text.slice(0, -1)},...]` : text;
}
