import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";

/**
 * A counter fed from running totals (a status snapshot's byte counts): each collection adds
 * what grew since the last one, per label set, so a total that restarts from zero (a torrent
 * joined again) never makes the counter go down.
 */
export class TotalsCounter<L extends string> {
  private readonly last = new Map<string, number>();
  readonly counter: Counter<L>;

  /** `collect`, when given, runs at each scrape to feed the latest totals. */
  constructor(registry: Registry, name: string, help: string, labelNames: readonly L[] = [], collect?: (self: TotalsCounter<L>) => void) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    this.counter = new Counter({
      name,
      help,
      labelNames: [...labelNames],
      registers: [registry],
      ...(collect ? { collect: () => collect(self) } : {}),
    });
  }

  /** Keys fed so far: a caller can forget those whose source is gone. */
  keys(): IterableIterator<string> {
    return this.last.keys();
  }

  /** Drops the series `key` (labels `labels`): its source is gone for good, and the series would otherwise stay in the process forever. */
  forget(key: string, labels: Partial<Record<L, string>>): void {
    this.last.delete(key);
    this.counter.remove(labels as Record<L, string>);
  }

  /** Feeds the latest total of the series `key` (labels `labels`). */
  observe(key: string, total: number, labels?: Partial<Record<L, string>>): void {
    const prev = this.last.get(key);
    this.last.set(key, total);
    const grew = prev === undefined ? total : total - prev;
    if (grew > 0) {
      if (labels) this.counter.inc(labels as Record<L, string>, grew);
      else this.counter.inc(grew);
    }
  }
}

/** The registry of one service process: Node's process metrics plus `shoal_up`. */
export function serviceRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  new Gauge({ name: "shoal_up", help: "1 while the service runs", registers: [registry] }).set(1);
  return registry;
}
