import type { Registry } from "prom-client";
import type { BusStats } from "@shoal/bus-nats";
import { TotalsCounter } from "./service-metrics.js";

/**
 * Bus series of every service, by subject name (`piece_staged`, `peers_discovered`, ...: a
 * closed list), read from the bus's counters at each scrape.
 */
export function registerBusMetrics(registry: Registry, busStats: () => BusStats): void {
  // Registered first: its collect samples the bus once for all four counters.
  const published = new TotalsCounter(registry, "shoal_bus_messages_published_total", "Bus messages this process published (durable ones once JetStream stored them)", ["subject"], () => {
    const s = busStats();
    feed(published, s.published);
    feed(received, s.received);
    feed(redelivered, s.redelivered);
    feed(dropped, s.dropped);
  });
  const received = new TotalsCounter(registry, "shoal_bus_messages_received_total", "Bus deliveries handed to a handler here, redeliveries included", ["subject"]);
  const redelivered = new TotalsCounter(
    registry,
    "shoal_bus_redeliveries_total",
    "Durable deliveries that were not the message's first (a handler failed, timed out or died)",
    ["subject"],
  );
  const dropped = new TotalsCounter(registry, "shoal_bus_messages_dropped_total", "Durable messages dropped after their last delivery failed, or undecodable", ["subject"]);
}

function feed(c: TotalsCounter<"subject">, totals: Readonly<Record<string, number | undefined>>): void {
  for (const [subject, n] of Object.entries(totals)) c.observe(subject, n ?? 0, { subject });
}
