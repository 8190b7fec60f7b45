// Result lines, per-client medians, shoal's ratios and the TSV rows.
import { appendFile, stat } from "node:fs/promises";

const TSV_COLUMNS = [
  "started_at", "commit", "client", "size", "bytes", "files", "piece", "seeds", "tracker",
  "seed_check", "run", "seconds", "MBps", "rss_MiB", "user_s", "sys_s", "cpu_s",
  "seed_cpu_s", "seed_up_MiB", "status", "reason", "cpu_s_per_GiB",
];

const fixed = (x, digits) => (Number.isFinite(x) ? x.toFixed(digits) : "nan");

/**
 * CPU seconds (user + system) per GiB of payload: the cost that decides how fast a client can
 * go when it shares a few cores with the seeds and everything else.
 */
const cpuPerGiB = (r) => (r.userS + r.sysS) / (r.bytes / 2 ** 30);

/** The numbers of one run, formatted once so the RESULT line and the TSV row agree. */
export function formatRun(r) {
  return {
    seconds: fixed(r.seconds, 3),
    MBps: fixed(r.bytes / 1e6 / r.seconds, 1),
    rss_MiB: fixed(r.maxRssKiB / 1024, 0),
    user_s: fixed(r.userS, 2),
    sys_s: fixed(r.sysS, 2),
    cpu_s: fixed(r.userS + r.sysS, 2),
    cpu_s_per_GiB: fixed(cpuPerGiB(r), 2),
    seed_cpu_s: fixed(r.seedCpuS, 2),
    seed_up_MiB: r.seedUploads.map((b) => fixed(b / 2 ** 20, 0)).join("/"),
  };
}

export function resultLine(ctx, r) {
  const f = formatRun(r);
  return [
    "RESULT",
    `client=${r.client}`,
    `size=${ctx.size}`,
    `piece=${ctx.piece}`,
    `seeds=${ctx.seeds}`,
    `files=${ctx.files}`,
    `run=${r.run}/${ctx.runs}`,
    `seconds=${f.seconds}`,
    `MBps=${f.MBps}`,
    `rss_MiB=${f.rss_MiB}`,
    `cpu_s=${f.cpu_s}`,
    `(user ${f.user_s} sys ${f.sys_s})`,
    `cpu_s_per_GiB=${f.cpu_s_per_GiB}`,
    `seed_cpu_s=${f.seed_cpu_s}`,
    `seed_up_MiB=${f.seed_up_MiB}`,
    r.reason === undefined ? "PASS" : `FAIL (${r.reason})`,
  ].join(" ");
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Medians over the passing runs of each client, in the order the clients were given. */
export function summarize(clients, results) {
  return clients.map((client) => {
    const all = results.filter((r) => r.client === client);
    const ok = all.filter((r) => r.reason === undefined);
    const mbps = ok.map((r) => r.bytes / 1e6 / r.seconds);
    return {
      client,
      passed: ok.length,
      total: all.length,
      MBps: median(mbps),
      minMBps: Math.min(...mbps),
      maxMBps: Math.max(...mbps),
      seconds: median(ok.map((r) => r.seconds)),
      rssMiB: median(ok.map((r) => r.maxRssKiB / 1024)),
      cpuS: median(ok.map((r) => r.userS + r.sysS)),
      cpuPerGiB: median(ok.map(cpuPerGiB)),
    };
  });
}

export function summaryLines(summaries) {
  const lines = summaries.map((s) =>
    s.passed === 0
      ? `SUMMARY client=${s.client} passed=0/${s.total} (no passing run)`
      : `SUMMARY client=${s.client} passed=${s.passed}/${s.total} median_MBps=${fixed(s.MBps, 1)}` +
        ` [${fixed(s.minMBps, 1)}..${fixed(s.maxMBps, 1)}] median_seconds=${fixed(s.seconds, 3)}` +
        ` median_rss_MiB=${fixed(s.rssMiB, 0)} median_cpu_s=${fixed(s.cpuS, 2)}` +
        ` median_cpu_s_per_GiB=${fixed(s.cpuPerGiB, 2)}`,
  );
  const shoal = summaries.find((s) => s.client === "shoal");
  if (shoal !== undefined) {
    for (const ref of summaries.filter((s) => s.client !== "shoal")) {
      const ratio = shoal.MBps / ref.MBps;
      lines.push(
        Number.isFinite(ratio)
          ? `RATIO shoal/${ref.client}=${ratio.toFixed(2)} (median ${fixed(shoal.MBps, 1)} vs ${fixed(ref.MBps, 1)} MB/s;` +
            ` CPU ${fixed(shoal.cpuPerGiB, 2)} vs ${fixed(ref.cpuPerGiB, 2)} s/GiB)`
          : `RATIO shoal/${ref.client}=n/a (a client has no passing run)`,
      );
    }
  }
  return lines;
}

/** Appends one row per run; writes the header first when the file is new or empty. */
export async function appendTsv(path, ctx, results) {
  const empty = await stat(path).then((s) => s.size === 0, () => true);
  const rows = results.map((r) => {
    const f = formatRun(r);
    const row = {
      started_at: ctx.startedAt,
      commit: ctx.commit,
      client: r.client,
      size: ctx.size,
      bytes: r.bytes,
      files: ctx.files,
      piece: ctx.piece,
      seeds: ctx.seeds,
      tracker: ctx.tracker,
      seed_check: ctx.seedCheck,
      run: r.run,
      ...f,
      status: r.reason === undefined ? "PASS" : "FAIL",
      reason: (r.reason ?? "").replace(/[\t\n]/g, " "),
    };
    return TSV_COLUMNS.map((c) => row[c]).join("\t");
  });
  const header = empty ? [TSV_COLUMNS.join("\t")] : [];
  await appendFile(path, [...header, ...rows].map((l) => `${l}\n`).join(""));
}
