// What the cluster benchmark reads from the processes it runs: each service's /metrics, Redis's
// command count, nats-server's message counts, and peak memory and CPU time from /proc.
import { readFileSync, readdirSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { respCommand } from "../../packages/testkit/dist/index.js";

const CLOCK_TICKS_PER_S = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout?.trim()) || 100;

/** utime + stime of a live process, in seconds (0 once it is gone). */
export function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ").pop().split(" ");
    // After "comm) ": state is field 0, utime field 11 and stime field 12 (proc(5)).
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
  } catch {
    return 0;
  }
}

/** The process's peak resident set (VmHWM) in KiB, NaN once it is gone. */
export function peakRssKiB(pid) {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m === null ? NaN : Number(m[1]);
  } catch {
    return NaN;
  }
}

/** Every live process below `root` (children, grandchildren, ...), as pids. */
export function descendants(root) {
  const children = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${name}/stat`, "utf8").split(") ").pop().split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  const out = [];
  const walk = (pid) => {
    for (const c of children.get(pid) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(root);
  return out;
}

/** The process's command line, "" once it is gone. */
export function commandLine(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
  } catch {
    return "";
  }
}

/** Prometheus text format -> [{ name, labels, value }] (comments and blank lines skipped). */
export function parsePrometheus(text) {
  const out = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (m === null) continue;
    const labels = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** One service's S3 counters and memory from its /metrics. */
export async function scrapeService(metricsPort) {
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`/metrics on port ${metricsPort} answered ${res.status}`);
  const series = parsePrometheus(await res.text());
  const sum = (name) => series.filter((s) => s.name === name).reduce((t, s) => t + s.value, 0);
  const requests = {};
  for (const s of series.filter((x) => x.name === "shoal_s3_requests_total")) {
    requests[s.labels.op] = (requests[s.labels.op] ?? 0) + s.value;
  }
  return {
    s3WrittenBytes: sum("shoal_s3_written_bytes_total"),
    s3ReadBytes: sum("shoal_s3_read_bytes_total"),
    s3Retries: sum("shoal_s3_retries_total"),
    s3Requests: requests,
    rssBytes: sum("process_resident_memory_bytes"),
  };
}

/** Commands Redis has processed since it started (INFO stats). */
export async function redisCommandsProcessed(url) {
  const info = String(await respCommand(url, ["INFO", "stats"], { timeoutMs: 5_000 }));
  const m = /^total_commands_processed:(\d+)/m.exec(info);
  if (m === null) throw new Error("INFO stats has no total_commands_processed");
  return Number(m[1]);
}

/** Bytes Redis holds now (INFO memory used_memory: its data and overhead, not the allocator's slack). */
export async function redisUsedMemory(url) {
  const info = String(await respCommand(url, ["INFO", "memory"], { timeoutMs: 5_000 }));
  const m = /^used_memory:(\d+)/m.exec(info);
  if (m === null) throw new Error("INFO memory has no used_memory");
  return Number(m[1]);
}

/**
 * Samples Redis's used_memory every `intervalMs` until stopped; `peak()` is the highest sample
 * (a torrent's claim table is largest while its job runs: the end of the run may have dropped it).
 */
export function watchRedisMemory(url, intervalMs = 2_000) {
  let peak = 0;
  let stopped = false;
  const sample = async () => {
    try {
      peak = Math.max(peak, await redisUsedMemory(url));
    } catch {
      // Redis busy or restarting: the next sample counts.
    }
  };
  const timer = setInterval(() => void sample(), intervalMs);
  void sample();
  return {
    peak: () => peak,
    async stop() {
      if (stopped) return peak;
      stopped = true;
      clearInterval(timer);
      await sample();
      return peak;
    },
  };
}

/** Calls per command name since Redis started (INFO commandstats), e.g. { evalsha: 1234 }. */
export async function redisCommandCalls(url) {
  const info = String(await respCommand(url, ["INFO", "commandstats"], { timeoutMs: 5_000 }));
  const out = {};
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1]] = Number(m[2]);
  return out;
}

/** nats-server's message and byte counts (/varz), both directions. */
export async function natsCounts(monitorUrl) {
  const res = await fetch(`${monitorUrl}/varz`, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`/varz answered ${res.status}`);
  const v = await res.json();
  return { inMsgs: v.in_msgs, inBytes: v.in_bytes, outMsgs: v.out_msgs, outBytes: v.out_bytes };
}

export function diffCounts(after, before) {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));
}
