import { randomBytes } from "node:crypto";
import { jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterEach, describe, expect, it } from "vitest";
import { NATS_MAX_PAYLOAD_BYTES, liveChildCount, startNatsServer } from "../src/index.js";
import type { NatsServer } from "../src/index.js";
import { withFakePath } from "./fake-path.js";

/** A client that fails at once instead of reconnecting in the background while a test waits. */
function connectOnce(server: NatsServer): Promise<NatsConnection> {
  return connect({ servers: server.url, reconnect: false, timeout: 2_000 });
}

async function monitor(server: NatsServer, path: string): Promise<unknown> {
  const res = await fetch(`${server.monitorUrl}${path}`);
  if (!res.ok) throw new Error(`${path} answered ${res.status}`);
  return res.json();
}

describe("nats-server", () => {
  let nats: NatsServer | undefined;
  const clients: NatsConnection[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((nc) => nc.close()));
    await nats?.stop();
    nats = undefined;
    expect(liveChildCount()).toBe(0);
  });

  it("starts with JetStream on free loopback ports and carries a 5 MiB message from publisher to subscriber", async () => {
    nats = await startNatsServer();
    expect(nats.url).toBe(`nats://127.0.0.1:${nats.port}`);
    expect(nats.port).not.toBe(4222);
    expect(await monitor(nats, "/healthz")).toEqual({ status: "ok" });
    expect(await monitor(nats, "/varz")).toMatchObject({ max_payload: NATS_MAX_PAYLOAD_BYTES, port: nats.port });

    const sub = await connectOnce(nats);
    const pub = await connectOnce(nats);
    clients.push(sub, pub);
    expect(pub.info?.max_payload).toBe(NATS_MAX_PAYLOAD_BYTES);
    expect(pub.info?.jetstream).toBe(true);
    // Bigger than the 1 MiB default, so this also proves the configured limit is in force.
    const payload = randomBytes(5 * 1024 * 1024);
    const received = (async () => {
      for await (const m of sub.subscribe("pieces.test", { max: 1 })) return Buffer.from(m.data);
      return undefined;
    })();
    await sub.flush();
    pub.publish("pieces.test", payload);
    expect((await received)?.equals(payload)).toBe(true);
  });

  it("keeps a JetStream stream and its messages across restart(), on the same ports", async () => {
    nats = await startNatsServer();
    const { port, monitorUrl, pid } = nats;
    const nc = await connectOnce(nats);
    clients.push(nc);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "EVENTS", subjects: ["events.>"], storage: StorageType.File });
    const js = jetstream(nc);
    for (const n of [1, 2, 3]) await js.publish(`events.piece.${n}`, Buffer.from(`verified ${n}`));
    await nc.close();

    await nats.restart();
    expect(nats.port).toBe(port);
    expect(nats.monitorUrl).toBe(monitorUrl);
    expect(nats.pid).not.toBe(pid);
    const again = await connectOnce(nats);
    clients.push(again);
    const jsm2 = await jetstreamManager(again);
    const info = await jsm2.streams.info("EVENTS");
    expect(info.state.messages).toBe(3);
    const second = await jsm2.streams.getMessage("EVENTS", { seq: 2 });
    expect(second?.subject).toBe("events.piece.2");
    expect(Buffer.from(second?.data ?? []).toString()).toBe("verified 2");
    expect(await monitor(nats, "/jsz")).toMatchObject({ streams: 1, messages: 3 });
  });

  it("refuses clients after kill9() and serves JetStream again after restart()", async () => {
    nats = await startNatsServer();
    const nc = await connectOnce(nats);
    clients.push(nc);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "JOBS", subjects: ["jobs.>"], storage: StorageType.File });
    await nc.close();

    await nats.kill9();
    await expect(connectOnce(nats)).rejects.toThrow();
    await expect(monitor(nats, "/healthz")).rejects.toThrow();

    await nats.restart();
    const again = await connectOnce(nats);
    clients.push(again);
    const ack = await jetstream(again).publish("jobs.new", Buffer.from("job 1"));
    expect(ack.stream).toBe("JOBS");
  });

  it("names the missing nats-server and the package to install", async () => {
    await withFakePath({}, async () => {
      await expect(startNatsServer()).rejects.toMatchObject({
        code: "MISSING_BINARY",
        message: expect.stringMatching(/apt-get install --no-install-recommends nats-server; .*\/usr\/sbin/),
      });
    });
  });

  it("reports a server that exits while starting, with its log", async () => {
    await withFakePath({ "nats-server": 'echo "nats-server: address already in use" >&2; exit 1' }, async () => {
      await expect(startNatsServer()).rejects.toMatchObject({
        code: "EARLY_EXIT",
        message: expect.stringMatching(/exit code 1[\s\S]*address already in use/),
      });
    });
  });
});
