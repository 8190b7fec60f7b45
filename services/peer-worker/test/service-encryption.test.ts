import { randomBytes } from "node:crypto";
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { HANDSHAKE_LENGTH_BYTES, MSE_METHOD, MessageDecoder, MseHandshake, decodeHandshake, encodeHandshake, encodeMessage, type Message, type MseResult } from "@shoal/wire";
import type { PeerWorkerConfig } from "@shoal/peer-worker";
import { Cleanup, SimCluster, allSocketsClosed } from "../../../test/sim/harness.js";
import { makeFixture } from "../../../test/sim/torrent-fixture.js";
import { until } from "../../../test/sim/wait.js";
import { fakePeerId, ourHandshake } from "../../../test/sim/wire-session.js";

const WITHIN_MS = 5_000;
const fixture = makeFixture({ pieceLength: 32 * 1024, size: 256 * 1024, seed: 77 });

const cleanup = new Cleanup();
afterEach(async () => {
  await cleanup.run();
  await allSocketsClosed();
});

async function worker(encryption: PeerWorkerConfig["encryption"]): Promise<SimCluster> {
  const c = cleanup.add(await SimCluster.start({ fixture, worker: { encryption } }), (x) => x.close());
  await c.begin();
  return c;
}

/**
 * One side of a test connection that speaks MSE with the wire package's machine: everything
 * after the handshake is decrypted (RC4) and decoded as peer messages.
 */
class MsePeer {
  result: MseResult | null = null;
  remoteHandshake: Buffer | null = null;
  readonly messages: Message[] = [];
  closed = false;
  private stream = Buffer.alloc(0);
  private readonly decoder = new MessageDecoder({ pieceCount: fixture.pieceCount }, (m) => this.messages.push(m));

  constructor(
    readonly socket: Socket,
    private readonly machine: MseHandshake,
    /** Responder: what to send once the handshake is done (our BEP 3 handshake and messages). */
    private readonly onDone: (peer: MsePeer) => void = () => undefined,
  ) {
    socket.on("error", () => undefined);
    socket.on("close", () => (this.closed = true));
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    const first = machine.start();
    if (first.length > 0) socket.write(first);
  }

  /** Sends bytes after the handshake, encrypted when RC4 was selected. */
  send(bytes: Uint8Array): void {
    const out = Buffer.from(bytes);
    this.result!.encrypt?.process(out);
    this.socket.write(out);
  }

  private onData(chunk: Buffer): void {
    if (this.result === null) {
      const step = this.machine.push(chunk);
      if (step.send) this.socket.write(step.send);
      if (!step.done) return;
      this.result = step.done;
      this.onDone(this);
      this.take(Buffer.concat([step.done.initialPayload, step.done.rest]));
      return;
    }
    const plain = Buffer.from(chunk);
    this.result.decrypt?.process(plain);
    this.take(plain);
  }

  private take(plain: Buffer): void {
    if (this.remoteHandshake === null) {
      this.stream = Buffer.concat([this.stream, plain]);
      if (this.stream.length < HANDSHAKE_LENGTH_BYTES) return;
      this.remoteHandshake = this.stream.subarray(0, HANDSHAKE_LENGTH_BYTES);
      plain = this.stream.subarray(HANDSHAKE_LENGTH_BYTES);
    }
    if (plain.length > 0) this.decoder.push(plain);
  }
}

function dialRaw(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => resolve(cleanup.add(socket, (s) => s.destroy())));
    socket.once("error", reject);
  });
}

/** A listening peer on loopback; `onSocket` runs for each connection the worker makes. */
async function listen(onSocket: (s: Socket) => void): Promise<{ server: Server; port: number; connections: number }> {
  const state = { connections: 0 };
  const server = createServer((s) => {
    state.connections++;
    s.on("error", () => undefined);
    cleanup.add(s, (x) => x.destroy());
    onSocket(s);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanup.add(server, (s) => new Promise<void>((resolve) => s.close(() => resolve())));
  return {
    server,
    port: (server.address() as { port: number }).port,
    get connections() {
      return state.connections;
    },
  };
}

describe("peer-worker protocol encryption", () => {
  it("answers an MSE initiator that offers RC4 only, with its handshake and messages encrypted", async () => {
    const c = await worker("prefer");
    const socket = await dialRaw(c.workers[0]!.port);
    const peer = new MsePeer(
      socket,
      new MseHandshake({
        role: "initiator",
        allowed: MSE_METHOD.rc4,
        infoHash: fixture.meta.infoHash,
        initialPayload: ourHandshake(fixture.meta.infoHash, { fast: true }),
        randomBytes,
      }),
    );
    // With nothing stored yet a fast peer hears have_none: a message only a decrypting reader sees.
    await until(async () => peer.messages.some((m) => m.type === "have_none"), { timeoutMs: WITHIN_MS, what: "an encrypted have_none" });
    expect(peer.result!.method).toBe("rc4");
    expect(Buffer.from(decodeHandshake(peer.remoteHandshake!).infoHash).equals(Buffer.from(fixture.meta.infoHash))).toBe(true);
    expect(peer.closed).toBe(false);
  });

  it("with encryption required, hangs up on a plaintext handshake without answering", async () => {
    const c = await worker("require");
    const socket = await dialRaw(c.workers[0]!.port);
    const got: Buffer[] = [];
    socket.on("data", (d: Buffer) => got.push(d));
    socket.write(ourHandshake(fixture.meta.infoHash, { fast: true }));
    await new Promise<void>((resolve) => socket.once("close", () => resolve()));
    expect(Buffer.concat(got).length).toBe(0);
  });

  it("with encryption disabled, hangs up on an MSE initiator without answering", async () => {
    const c = await worker("disable");
    const socket = await dialRaw(c.workers[0]!.port);
    const got: Buffer[] = [];
    socket.on("data", (d: Buffer) => got.push(d));
    const a = new MseHandshake({ role: "initiator", allowed: 3, infoHash: fixture.meta.infoHash, initialPayload: new Uint8Array(0), randomBytes });
    socket.write(a.start());
    await new Promise<void>((resolve) => socket.once("close", () => resolve()));
    expect(Buffer.concat(got).length).toBe(0);
  });

  it("dials a peer that takes RC4 only and sends it encrypted messages", async () => {
    const c = await worker("prefer");
    let peer: MsePeer | undefined;
    const seed = await listen((s) => {
      peer = new MsePeer(s, new MseHandshake({ role: "responder", allowed: MSE_METHOD.rc4, infoHashes: [fixture.meta.infoHash], randomBytes }), (p) => {
        p.send(encodeHandshake({ reserved: new Uint8Array(8), infoHash: fixture.meta.infoHash, peerId: fakePeerId() }));
        p.send(encodeMessage({ type: "bitfield", bits: new Uint8Array(Math.ceil(fixture.pieceCount / 8)).fill(0xff) }));
        p.send(encodeMessage({ type: "unchoke" }));
      });
    });
    await c.announce([{ ip: "127.0.0.1", port: seed.port }]);
    // The worker wants every piece: interested, then requests, all of it readable only decrypted.
    await until(async () => peer?.messages.some((m) => m.type === "request") ?? false, { timeoutMs: WITHIN_MS, what: "encrypted requests from the worker" });
    expect(peer!.result!.method).toBe("rc4");
    expect(peer!.messages.some((m) => m.type === "interested")).toBe(true);
    expect(seed.connections).toBe(1);
  });

  it("dials a plaintext-only peer again in plaintext after it drops the encrypted handshake", async () => {
    const c = await worker("prefer");
    const firstBytes: number[] = [];
    let plaintextHandshake: Buffer | undefined;
    const seed = await listen((s) => {
      let seen = Buffer.alloc(0);
      s.on("data", (d: Buffer) => {
        if (seen.length === 0) firstBytes.push(d[0]!);
        seen = Buffer.concat([seen, d]);
        // A plaintext-only client: anything but pstrlen 19 ends the connection at once.
        if (seen[0] !== 19) return void s.destroy();
        if (seen.length >= HANDSHAKE_LENGTH_BYTES && plaintextHandshake === undefined) {
          plaintextHandshake = seen.subarray(0, HANDSHAKE_LENGTH_BYTES);
          s.write(encodeHandshake({ reserved: new Uint8Array(8), infoHash: fixture.meta.infoHash, peerId: fakePeerId() }));
        }
      });
    });
    await c.announce([{ ip: "127.0.0.1", port: seed.port }]);
    await until(async () => plaintextHandshake !== undefined, { timeoutMs: WITHIN_MS, what: "the plaintext redial" });
    expect(seed.connections).toBe(2);
    expect(firstBytes[0]).not.toBe(19);
    expect(Buffer.from(decodeHandshake(plaintextHandshake!).infoHash).equals(Buffer.from(fixture.meta.infoHash))).toBe(true);
  });
});
