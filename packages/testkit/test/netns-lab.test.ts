import { execFileSync, spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labNamespaces, netnsLabUnsupported, runProcess, startNetnsLab, startProcess, startRedisServer, sweepStaleLabs, type NetnsLab } from "../src/index.js";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const unsupported = netnsLabUnsupported();
const RATE = 1_000_000;

describe.skipIf(unsupported !== undefined)(`network lab${unsupported === undefined ? "" : ` (skipped: ${unsupported})`}`, () => {
  let lab: NetnsLab;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "netns-lab-test-"));
    lab = await startNetnsLab({ workers: 2, workerRateBytesPerSec: RATE });
  }, 60_000);

  afterAll(async () => {
    await lab?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("gives each namespace one address of one /24, and the bridge none", () => {
    const subnet = lab.subnet.replace(/\.0\/24$/, ".");
    for (const h of [lab.infra, ...lab.workers]) {
      expect(h.address.startsWith(subnet)).toBe(true);
      const addrs = execFileSync("ip", ["-n", h.netns, "-4", "-o", "addr", "show"], { encoding: "utf8" });
      expect(addrs).toContain(`${h.address}/24`);
      expect(addrs).toContain("127.0.0.1/8");
    }
    const bridge = lab.namespaces.find((ns) => ns.endsWith("-br"))!;
    expect(execFileSync("ip", ["-n", bridge, "-4", "-o", "addr", "show"], { encoding: "utf8" }).trim()).toBe("");
    // The lab's links live in its namespaces only: none of them is in the host's.
    expect(execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" })).not.toMatch(/\blab0\b|\bport\d+@/);
  });

  it("lets a worker reach a server placed in infra at its lab address, and the test through a forward", async () => {
    const redis = await startRedisServer({ placement: lab.infra.placement });
    try {
      expect(redis.url).toBe(`redis://${lab.infra.address}:${redis.port}`);
      const pong = await runProcess("ip", ["netns", "exec", lab.workers[0]!.netns, "redis-cli", "-u", redis.url, "ping"], { timeoutMs: 10_000 });
      expect(pong.stdout.trim()).toBe("PONG");
    } finally {
      await redis.stop();
    }
  });

  it("caps a worker's link in both directions: a transfer takes at least its bytes over the rate", async () => {
    const bytes = 3 * RATE;
    const w = lab.workers[1]!;
    for (const [from, to, address] of [
      [lab.infra.netns, w.netns, w.address],
      [w.netns, lab.infra.netns, lab.infra.address],
    ] as const) {
      const sink = startProcess({ name: "sink", command: "socat", args: ["-u", "TCP4-LISTEN:5555,reuseaddr", "OPEN:/dev/null"], logPath: join(dir, "sink.log"), netns: to });
      await new Promise((r) => setTimeout(r, 300));
      const started = Date.now();
      const sent = spawnSync("ip", ["netns", "exec", from, "socat", "-u", "STDIN", `TCP4:${address}:5555`], { input: Buffer.alloc(bytes), timeout: 30_000 });
      // The sender is done once the kernel buffered its bytes; the receiver once they all came.
      await sink.exited;
      const seconds = (Date.now() - started) / 1000;
      expect(sent.status).toBe(0);
      // The first burst (a tenth of a second of the rate) passes at once.
      expect(seconds).toBeGreaterThan((bytes / RATE) * 0.85);
    }
  }, 60_000);

  it("removes its namespaces on close, and a sweep removes those of an owner that died", async () => {
    // A lab whose owner is gone: a pid that just exited.
    const dead = spawnSync("true").pid!;
    const stale = `shoallab-${dead}-zz99-infra`;
    execFileSync("ip", ["netns", "add", stale]);
    expect(sweepStaleLabs()).toContain(stale);
    expect(labNamespaces()).not.toContain(stale);

    const other = await startNetnsLab({ workers: 1, workerRateBytesPerSec: RATE });
    expect(labNamespaces()).toEqual(expect.arrayContaining([...other.namespaces]));
    await other.close();
    for (const ns of other.namespaces) expect(labNamespaces()).not.toContain(ns);
    // The sweep leaves labs of live owners alone: this one's is running.
    expect(sweepStaleLabs()).toEqual([]);
    expect(labNamespaces()).toEqual(expect.arrayContaining([...lab.namespaces]));
  }, 60_000);
});
