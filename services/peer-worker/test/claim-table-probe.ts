import { MemoryClaimTable, type ClaimTable } from "@shoal/coordination";

/**
 * The memory claim table behind a probe: it counts calls per method and round trips in flight,
 * and can hold every call until `release`, so a test sees what the worker asks and when.
 */
export class ClaimTableProbe {
  readonly inner: MemoryClaimTable;
  readonly table: ClaimTable;
  readonly calls = new Map<string, number>();
  inFlight = 0;
  maxInFlight = 0;
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;

  constructor(now?: () => number) {
    this.inner = new MemoryClaimTable(now);
    const inner = this.inner;
    this.table = new Proxy(inner, {
      get: (target, prop, receiver) => {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== "function" || typeof prop !== "string") return value;
        return async (...args: unknown[]) => {
          this.calls.set(prop, (this.calls.get(prop) ?? 0) + 1);
          this.inFlight++;
          this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
          try {
            if (this.gate) await this.gate;
            return await (value as (...a: unknown[]) => Promise<unknown>).apply(inner, args);
          } finally {
            this.inFlight--;
          }
        };
      },
    });
  }

  count(method: keyof ClaimTable): number {
    return this.calls.get(method) ?? 0;
  }

  /** Calls from now on wait until `release`. */
  hold(): void {
    this.gate = new Promise<void>((resolve) => (this.open = resolve));
  }

  release(): void {
    this.gate = undefined;
    this.open?.();
    this.open = undefined;
  }

  /** Waits until no call is in flight, and a turn longer for what its answer set off. */
  async settle(): Promise<void> {
    for (let i = 0; i < 100 && (i === 0 || this.inFlight > 0); i++) await new Promise<void>((resolve) => setImmediate(resolve));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
