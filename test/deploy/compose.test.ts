import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, respCommand, startProcess, waitFor, type ManagedProcess } from "@shoal/testkit";
import { beforeAll, describe, expect, it } from "vitest";
import { composeConfig, composeEnv, readRepoFile, requireTool, ROOT, run, SHOAL_SERVICES, type ComposeConfig, type ComposeService } from "./deploy-kit.js";

let config: ComposeConfig;

beforeAll(async () => {
  config = await composeConfig();
});

function service(name: string): ComposeService {
  const s = config.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
}

/** The host side of a published port ("127.0.0.1:9464:9464/tcp" -> "127.0.0.1:9464"), if any. */
function hostSide(port: string | { target: number; published?: number | string }): string | undefined {
  if (typeof port !== "string") return port.published === undefined ? undefined : String(port.published);
  const parts = port.replace(/\/(tcp|udp)$/, "").split(":");
  return parts.length > 1 ? parts.slice(0, -1).join(":") : undefined;
}

function isUdp(port: string | { target: number; protocol?: string }): boolean {
  return typeof port === "string" ? port.endsWith("/udp") : port.protocol === "udp";
}

/** The container side of a published port ("6881:6881/udp" -> "6881"). */
function containerSide(port: string | { target: number }): string {
  return typeof port === "string" ? (port.replace(/\/(tcp|udp)$/, "").split(":").at(-1) ?? "") : String(port.target);
}

/** Named volumes mounted by a service, with the path they are mounted at. */
function namedMounts(s: ComposeService): Map<string, string> {
  const mounts = new Map<string, string>();
  for (const v of s.volumes ?? []) {
    const [source, target] = v.split(":");
    if (source && target && !source.startsWith("/") && !source.startsWith(".")) mounts.set(source, target);
  }
  return mounts;
}

describe("docker-compose.yml", () => {
  it("validates with docker-compose 1.29 (config -q)", async () => {
    const compose = requireTool("docker-compose", "docker-compose");
    await run(compose, ["-f", join(ROOT, "docker-compose.yml"), "config", "-q"], composeEnv());
    expect(readRepoFile("docker-compose.yml")).not.toMatch(/^name:/m);
  });

  it("runs every shoal service from the one image of the root Dockerfile, with its health check, restart policy and dependencies", () => {
    const images = new Set<string | undefined>();
    for (const name of SHOAL_SERVICES) {
      const s = service(name);
      images.add(s.image);
      const context = typeof s.build === "string" ? s.build : s.build?.context;
      expect(context, name).toBe(ROOT);
      expect(s.command, name).toEqual(["service", name]);
      expect(s.restart, name).toMatch(/^(always|unless-stopped|on-failure)/);
      const test = (s.healthcheck?.test ?? []).join(" ");
      expect(test, name).toContain("/healthz");
      // The check asks the port the service serves on, and only node is certain to be in the image.
      expect(test, name).toContain("SHOAL_METRICS_PORT");
      expect(s.healthcheck?.test?.slice(0, 2), name).toEqual(["CMD", "node"]);
      expect(s.environment?.["SHOAL_METRICS_PORT"], name).toMatch(/^\d+$/);
      expect(s.depends_on?.["nats"]?.condition, name).toBe("service_healthy");
      expect(s.depends_on?.["redis"]?.condition, name).toBe("service_healthy");
      expect(s.depends_on?.["create-bucket"]?.condition, name).toBe("service_completed_successfully");
    }
    expect(images.size).toBe(1);
    expect([...images][0]).toBeTruthy();
    expect(service("storage-writer").depends_on?.["minio"]?.condition).toBe("service_healthy");
  });

  it("points the services at the compose services that run Redis, NATS and MinIO, with MinIO's credentials", () => {
    const minio = service("minio").environment ?? {};
    for (const name of SHOAL_SERVICES) {
      const env = service(name).environment ?? {};
      expect(env["SHOAL_REDIS_URL"], name).toBe("redis://redis:6379");
      expect(env["SHOAL_NATS_URL"], name).toBe("nats://nats:4222");
      expect(env["SHOAL_S3_ENDPOINT"], name).toBe("http://minio:9000");
      expect(env["AWS_ACCESS_KEY_ID"], name).toBe(minio["MINIO_ROOT_USER"]);
      expect(env["AWS_SECRET_ACCESS_KEY"], name).toBe(minio["MINIO_ROOT_PASSWORD"]);
    }
    // MinIO refuses a root password under 8 characters.
    expect(minio["MINIO_ROOT_PASSWORD"]!.length).toBeGreaterThanOrEqual(8);
  });

  it("lets peer-worker scale: no container name and no fixed host port", () => {
    const worker = service("peer-worker");
    expect(worker.container_name).toBeUndefined();
    for (const p of worker.ports ?? []) expect(hostSide(p), `peer-worker publishes ${JSON.stringify(p)}`).toBeUndefined();
    expect(worker.environment?.["SHOAL_PEER_WORKER_PORT"]).toMatch(/^\d+$/);
    // Ports published by other services are bound to loopback: nothing is open to the network
    // but the DHT node's UDP port, which other DHT nodes must be able to query.
    for (const [name, s] of Object.entries(config.services)) {
      for (const p of s.ports ?? []) {
        if (isUdp(p)) continue;
        expect(hostSide(p), `${name} ${JSON.stringify(p)}`).toMatch(/^127\.0\.0\.1:\d+$/);
      }
    }
  });

  it("publishes the tracker-poller's DHT port over UDP, its only non-loopback port, and keeps the DHT node's state on a named volume", () => {
    const poller = service("tracker-poller");
    const env = poller.environment ?? {};
    const dhtPort = env["SHOAL_DHT_PORT"];
    expect(dhtPort).toMatch(/^\d+$/);
    const udp = (poller.ports ?? []).filter(isUdp);
    expect(udp).toHaveLength(1);
    expect(containerSide(udp[0]!)).toBe(dhtPort);
    // Every other service publishes no UDP port.
    for (const [name, s] of Object.entries(config.services)) if (name !== "tracker-poller") expect((s.ports ?? []).filter(isUdp), name).toEqual([]);
    const stateFile = env["SHOAL_DHT_STATE_FILE"];
    expect(stateFile).toBeTruthy();
    const declared = Object.keys(config.volumes ?? {});
    const holding = [...namedMounts(poller)].filter(([volume, target]) => declared.includes(volume) && stateFile!.startsWith(`${target}/`));
    expect(holding, `a named volume holding ${stateFile}`).toHaveLength(1);
    // The image creates the mount point for its unprivileged user, so a new volume is writable.
    expect(readRepoFile("Dockerfile")).toMatch(/^COPY --from=\S+ --chown=1000:1000 \S+ \/var\/lib\/shoal$/m);
    expect(stateFile!.startsWith("/var/lib/shoal/")).toBe(true);
  });

  it("keeps NATS (JetStream), Redis (AOF) and MinIO data on named volumes", () => {
    const declared = Object.keys(config.volumes ?? {});
    const nats = service("nats");
    const natsArgs = [...(nats.entrypoint ?? []), ...(nats.command ?? [])];
    expect(natsArgs).toContain("-js");
    const storeDir = natsArgs[natsArgs.indexOf("-sd") + 1];
    expect([...namedMounts(nats).values()]).toContain(storeDir);
    // The server config that raises max_payload is the repository's file.
    const natsConf = (nats.volumes ?? []).find((v) => v.endsWith(":ro") && v.includes("nats-server.conf"));
    expect(natsConf?.split(":")[0]).toBe(join(ROOT, "infra/nats/nats-server.conf"));
    expect(natsArgs[natsArgs.indexOf("-c") + 1]).toBe(natsConf?.split(":")[1]);
    expect(readRepoFile("infra/nats/nats-server.conf")).toMatch(/^max_payload: 64MB$/m);

    const redis = service("redis");
    const redisArgs = redis.command ?? [];
    expect(redisArgs[redisArgs.indexOf("--appendonly") + 1]).toBe("yes");
    expect([...namedMounts(redis).values()]).toContain(redisArgs[redisArgs.indexOf("--dir") + 1]);

    const minio = service("minio");
    expect(minio.command?.slice(0, 2)).toEqual(["server", "/data"]);
    expect([...namedMounts(minio).values()]).toContain("/data");

    for (const s of [nats, redis, minio]) {
      for (const volume of namedMounts(s).keys()) expect(declared).toContain(volume);
      expect(s.healthcheck?.test?.length).toBeGreaterThan(1);
      expect(s.restart).toMatch(/^(always|unless-stopped)/);
    }
  });

  it("starts nats-server and redis-server with the compose arguments: JetStream with 64 MB payloads, AOF on", async () => {
    const dir = await mkdtemp(join(tmpdir(), "shoal-compose-backends-"));
    const started: ManagedProcess[] = [];
    try {
      // The compose arguments with the container's paths and ports swapped for local ones; the
      // flags given after -c override the file's ports.
      const nats = service("nats");
      const [clientPort, monitorPort, redisPort] = [await freePort(), await freePort(), await freePort()];
      const natsArgs = (nats.command ?? []).map((a) => (a === "/etc/nats/nats-server.conf" ? join(ROOT, "infra/nats/nats-server.conf") : a === "/data" ? dir : a));
      // -a binds the monitoring port to loopback as well.
      natsArgs.push("-a", "127.0.0.1", "-p", String(clientPort), "-m", String(monitorPort));
      started.push(startProcess({ name: "nats-server", command: "nats-server", args: natsArgs, logPath: join(dir, "nats.log") }));
      const redisArgs = (service("redis").command ?? []).slice(1).map((a) => (a === "/data" ? dir : a));
      redisArgs.push("--port", String(redisPort), "--bind", "127.0.0.1", "--save", "");
      started.push(startProcess({ name: "redis-server", command: "redis-server", args: redisArgs, logPath: join(dir, "redis.log") }));

      const monitor = `http://127.0.0.1:${monitorPort}`;
      await waitFor(async () => {
        started[0]!.assertRunning("nats-server");
        return (await fetch(`${monitor}/healthz?js-enabled-only=true`).catch(() => undefined))?.ok === true;
      }, {
        timeoutMs: 20_000,
        what: "nats-server's JetStream health",
        describe: () => started[0]!.logTail(),
      });
      const varz = (await (await fetch(`${monitor}/varz`)).json()) as { max_payload: number };
      expect(varz.max_payload).toBe(64 * 1024 * 1024);

      const redisUrl = `redis://127.0.0.1:${redisPort}`;
      await waitFor(async () => {
        started[1]!.assertRunning("redis-server");
        return (await respCommand(redisUrl, ["PING"]).catch(() => undefined)) === "PONG";
      }, {
        timeoutMs: 20_000,
        what: "redis-server to answer",
        describe: () => started[1]!.logTail(),
      });
      expect(await respCommand(redisUrl, ["CONFIG", "GET", "appendonly"])).toEqual(["appendonly", "yes"]);
      expect(await respCommand(redisUrl, ["CONFIG", "GET", "maxmemory-policy"])).toEqual(["maxmemory-policy", "noeviction"]);
    } finally {
      await Promise.all(started.map((p) => p.stop()));
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("creates the bucket once MinIO is healthy, with MinIO's credentials", () => {
    const mc = service("create-bucket");
    expect(mc.image).toMatch(/^minio\/mc:/);
    expect(mc.depends_on?.["minio"]?.condition).toBe("service_healthy");
    const minio = service("minio").environment ?? {};
    expect(mc.environment?.["MC_HOST_local"]).toBe(`http://${minio["MINIO_ROOT_USER"]}:${minio["MINIO_ROOT_PASSWORD"]}@minio:9000`);
    expect(mc.command).toEqual(["mb", "--ignore-existing", "local/shoal"]);
  });

  it("offers the job commands from the same image without starting them on up", () => {
    const cli = service("cli");
    expect(cli.image).toBe(service("tracker-poller").image);
    expect(cli.profiles).toEqual(["cli"]);
    expect(cli.environment?.["SHOAL_REDIS_URL"]).toBe("redis://redis:6379");
  });
});
