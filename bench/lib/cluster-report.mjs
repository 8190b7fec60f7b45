// Result lines, per-variant medians, ratios against download-then-upload, the markdown table
// and TSV rows of the cluster benchmark.
import { appendFile, stat } from "node:fs/promises";

const REFERENCE = "download-then-upload";
const GiB = 2 ** 30;

const fixed = (x, digits) => (Number.isFinite(x) ? x.toFixed(digits) : "nan");
const sum = (xs) => xs.reduce((a, b) => a + b, 0);

function median(xs) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** "peer-worker-2" -> "peer-worker": instances of one service share a column. */
const roleOf = (name) => name.replace(/-\d+$/, "");

/** The per-byte, per-piece and per-GiB figures of one run. */
export function derive(r) {
  const gib = r.bytes / GiB;
  const requestsPerGiB = Object.fromEntries(
    Object.entries(r.s3.requests)
      .filter(([, n]) => n > 0)
      .sort()
      .map(([op, n]) => [op, n / gib]),
  );
  const rssMiB = {};
  for (const [name, kib] of Object.entries(r.rssKiB)) rssMiB[name] = kib / 1024;
  return {
    MBps: r.bytes / 1e6 / r.seconds,
    s3WrittenPerByte: r.s3.written / r.bytes,
    s3ReadPerByte: r.s3.read / r.bytes,
    requestsPerGiB,
    requestsPerGiBTotal: sum(Object.values(requestsPerGiB)),
    redisPerPiece: r.redisCommands / r.pieces,
    redisBytesPerPiece: r.redisPeakBytes / r.pieces,
    natsInMsgsPerPiece: r.nats.inMsgs / r.pieces,
    natsOutMsgsPerPiece: r.nats.outMsgs / r.pieces,
    natsInBytesPerPiece: r.nats.inBytes / r.pieces,
    natsOutBytesPerPiece: r.nats.outBytes / r.pieces,
    rssMiB,
    cpuS: sum(Object.values(r.cpuS)),
    backendCpuS: sum(Object.values(r.backendCpuS)),
  };
}

const kv = (obj, digits) =>
  Object.entries(obj)
    .map(([k, v]) => `${k}:${fixed(v, digits)}`)
    .join(",");

export function resultLine(ctx, r) {
  const d = derive(r);
  return [
    "RESULT",
    `variant=${r.variant}`,
    `size=${ctx.size}`,
    `piece=${ctx.piece}`,
    `nats_max_payload=${ctx.natsMaxPayload}`,
    `seeds=${ctx.seeds}`,
    `files=${ctx.files}`,
    `run=${r.run}/${ctx.runs}`,
    `seconds=${fixed(r.seconds, 3)}`,
    `MBps=${fixed(d.MBps, 1)}`,
    `phases=${kv(r.phases, 3)}`,
    `s3_written_per_B=${fixed(d.s3WrittenPerByte, 4)}`,
    `s3_read_per_B=${fixed(d.s3ReadPerByte, 4)}`,
    `s3_req_per_GiB=${kv(d.requestsPerGiB, 1) || "none"}`,
    `s3_retries=${r.s3.retries}`,
    `redis_cmds_per_piece=${fixed(d.redisPerPiece, 2)}`,
    `redis_peak_B_per_piece=${fixed(d.redisBytesPerPiece, 1)}`,
    `nats_msgs_per_piece=in:${fixed(d.natsInMsgsPerPiece, 2)},out:${fixed(d.natsOutMsgsPerPiece, 2)}`,
    `nats_KiB_per_piece=in:${fixed(d.natsInBytesPerPiece / 1024, 1)},out:${fixed(d.natsOutBytesPerPiece / 1024, 1)}`,
    `peak_rss_MiB=${kv(d.rssMiB, 0)}`,
    `cpu_s=${fixed(d.cpuS, 2)}`,
    `(${kv(r.cpuS, 2)})`,
    `backend_cpu_s=${kv(r.backendCpuS, 2)}`,
    `seed_cpu_s=${fixed(r.seedCpuS, 2)}`,
    r.reason === undefined ? "PASS" : `FAIL (${r.reason})`,
  ].join(" ");
}

/**
 * Medians over the passing runs of each variant, and for the others their ratio against
 * download-then-upload: per round (the runs that shared one swarm and one machine state), then
 * the median over rounds.
 */
export function summarize(variants, results) {
  const ok = (v) => results.filter((r) => r.variant === v && r.reason === undefined);
  const refByRun = new Map(ok(REFERENCE).map((r) => [r.run, r]));
  return variants.map((variant) => {
    const runs = ok(variant);
    const ds = runs.map(derive);
    const med = (f) => median(ds.map(f));
    const ops = [...new Set(ds.flatMap((d) => Object.keys(d.requestsPerGiB)))].sort();
    const roles = [...new Set(runs.flatMap((r) => Object.keys(r.rssKiB).map(roleOf)))];
    const phases = [...new Set(runs.flatMap((r) => Object.keys(r.phases)))];
    // Peak of the largest instance of each service in a run, then the median over runs.
    const rssMiB = Object.fromEntries(
      roles.map((role) => [
        role,
        median(
          runs.map((r) =>
            Math.max(...Object.entries(r.rssKiB).filter(([n]) => roleOf(n) === role).map(([, kib]) => kib / 1024)),
          ),
        ),
      ]),
    );
    const paired = runs.filter((r) => refByRun.has(r.run));
    return {
      variant,
      passed: runs.length,
      total: results.filter((r) => r.variant === variant).length,
      seconds: median(runs.map((r) => r.seconds)),
      minSeconds: Math.min(...runs.map((r) => r.seconds)),
      maxSeconds: Math.max(...runs.map((r) => r.seconds)),
      phases: Object.fromEntries(phases.map((p) => [p, median(runs.map((r) => r.phases[p]))])),
      MBps: med((d) => d.MBps),
      timeVsReference: median(paired.map((r) => r.seconds / refByRun.get(r.run).seconds)),
      cpuVsReference: median(paired.map((r) => derive(r).cpuS / derive(refByRun.get(r.run)).cpuS)),
      s3WrittenPerByte: med((d) => d.s3WrittenPerByte),
      s3ReadPerByte: med((d) => d.s3ReadPerByte),
      requestsPerGiB: Object.fromEntries(ops.map((op) => [op, med((d) => d.requestsPerGiB[op] ?? 0)])),
      requestsPerGiBTotal: med((d) => d.requestsPerGiBTotal),
      redisPerPiece: med((d) => d.redisPerPiece),
      natsInMsgsPerPiece: med((d) => d.natsInMsgsPerPiece),
      natsOutMsgsPerPiece: med((d) => d.natsOutMsgsPerPiece),
      natsInBytesPerPiece: med((d) => d.natsInBytesPerPiece),
      natsOutBytesPerPiece: med((d) => d.natsOutBytesPerPiece),
      rssMiB,
      rssMiBTotal: median(runs.map((r) => sum(Object.values(r.rssKiB)) / 1024)),
      cpuS: med((d) => d.cpuS),
      backendCpuS: Object.fromEntries(["s3", "redis", "nats"].map((k) => [k, median(runs.map((r) => r.backendCpuS[k]))])),
      seedCpuS: median(runs.map((r) => r.seedCpuS)),
    };
  });
}

export function summaryLines(summaries) {
  return summaries.map((s) =>
    s.passed === 0
      ? `SUMMARY variant=${s.variant} passed=0/${s.total} (no passing run)`
      : [
          `SUMMARY variant=${s.variant} passed=${s.passed}/${s.total}`,
          `median_seconds=${fixed(s.seconds, 3)} [${fixed(s.minSeconds, 3)}..${fixed(s.maxSeconds, 3)}]`,
          `median_MBps=${fixed(s.MBps, 1)}`,
          `phases=${kv(s.phases, 3)}`,
          s.variant === REFERENCE ? "" : `time_vs_${REFERENCE}=${fixed(s.timeVsReference, 2)} cpu_vs_${REFERENCE}=${fixed(s.cpuVsReference, 2)}`,
          `s3_written_per_B=${fixed(s.s3WrittenPerByte, 4)} s3_read_per_B=${fixed(s.s3ReadPerByte, 4)}`,
          `s3_req_per_GiB=${kv(s.requestsPerGiB, 1) || "none"}`,
          `redis_cmds_per_piece=${fixed(s.redisPerPiece, 2)}`,
          `nats_msgs_per_piece=in:${fixed(s.natsInMsgsPerPiece, 2)},out:${fixed(s.natsOutMsgsPerPiece, 2)}`,
          `nats_KiB_per_piece=in:${fixed(s.natsInBytesPerPiece / 1024, 1)},out:${fixed(s.natsOutBytesPerPiece / 1024, 1)}`,
          `peak_rss_MiB=${kv(s.rssMiB, 0)}`,
          `cpu_s=${fixed(s.cpuS, 2)} backend_cpu_s=${kv(s.backendCpuS, 2)}`,
        ]
          .filter((x) => x !== "")
          .join(" "),
  );
}

/** Two markdown tables of the medians: cost and speed, then memory and CPU. */
export function markdownTable(summaries) {
  const rows = summaries.filter((s) => s.passed > 0);
  const speed = [
    "| variant | median s [min..max] | phases (s) | time vs download-then-upload | S3 written / read per payload byte | S3 requests per GiB | Redis commands per piece | NATS msgs per piece (in / out) | NATS KiB per piece (in / out) |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map((s) =>
      [
        "",
        s.variant,
        `${fixed(s.seconds, 2)} [${fixed(s.minSeconds, 2)}..${fixed(s.maxSeconds, 2)}]`,
        Object.entries(s.phases).map(([p, v]) => `${p} ${fixed(v, 2)}`).join(", "),
        s.variant === REFERENCE ? "1 (reference)" : `${fixed(s.timeVsReference, 2)}x`,
        `${fixed(s.s3WrittenPerByte, 3)} / ${fixed(s.s3ReadPerByte, 3)}`,
        `${fixed(s.requestsPerGiBTotal, 1)} (${Object.entries(s.requestsPerGiB).map(([op, n]) => `${op} ${fixed(n, 1)}`).join(", ")})`,
        fixed(s.redisPerPiece, 1),
        `${fixed(s.natsInMsgsPerPiece, 1)} / ${fixed(s.natsOutMsgsPerPiece, 1)}`,
        `${fixed(s.natsInBytesPerPiece / 1024, 0)} / ${fixed(s.natsOutBytesPerPiece / 1024, 0)}`,
        "",
      ].join(" | ").trim(),
    ),
  ];
  const memory = [
    "| variant | peak RSS per process (MiB) | sum of peaks (MiB) | CPU s of its processes | vs download-then-upload | CPU s of S3 / Redis / NATS servers | seeds' CPU s |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map((s) =>
      [
        "",
        s.variant,
        Object.entries(s.rssMiB).map(([role, v]) => `${role} ${fixed(v, 0)}`).join(", "),
        fixed(s.rssMiBTotal, 0),
        fixed(s.cpuS, 2),
        s.variant === REFERENCE ? "1 (reference)" : `${fixed(s.cpuVsReference, 2)}x`,
        `${fixed(s.backendCpuS.s3, 2)} / ${fixed(s.backendCpuS.redis, 2)} / ${fixed(s.backendCpuS.nats, 2)}`,
        fixed(s.seedCpuS, 2),
        "",
      ].join(" | ").trim(),
    ),
  ];
  return `${speed.join("\n")}\n\n${memory.join("\n")}`;
}

const TSV_COLUMNS = [
  "started_at", "commit", "variant", "size", "bytes", "files", "piece", "pieces", "seeds", "run",
  "seconds", "MBps", "phases", "s3_written_per_B", "s3_read_per_B", "s3_req_per_GiB", "s3_retries",
  "redis_cmds_per_piece", "nats_in_msgs_per_piece", "nats_out_msgs_per_piece", "nats_in_B_per_piece",
  "nats_out_B_per_piece", "peak_rss_MiB", "cpu_s", "cpu_s_by_process", "backend_cpu_s", "seed_cpu_s",
  "status", "reason",
];

/** Appends one row per run; writes the header first when the file is new or empty. */
export async function appendTsv(path, ctx, results) {
  const empty = await stat(path).then((s) => s.size === 0, () => true);
  const rows = results.map((r) => {
    const d = derive(r);
    const row = {
      started_at: ctx.startedAt,
      commit: ctx.commit,
      variant: r.variant,
      size: ctx.size,
      bytes: r.bytes,
      files: ctx.files,
      piece: ctx.piece,
      pieces: r.pieces,
      seeds: ctx.seeds,
      run: r.run,
      seconds: fixed(r.seconds, 3),
      MBps: fixed(d.MBps, 1),
      phases: kv(r.phases, 3),
      s3_written_per_B: fixed(d.s3WrittenPerByte, 4),
      s3_read_per_B: fixed(d.s3ReadPerByte, 4),
      s3_req_per_GiB: kv(d.requestsPerGiB, 1),
      s3_retries: r.s3.retries,
      redis_cmds_per_piece: fixed(d.redisPerPiece, 2),
      nats_in_msgs_per_piece: fixed(d.natsInMsgsPerPiece, 2),
      nats_out_msgs_per_piece: fixed(d.natsOutMsgsPerPiece, 2),
      nats_in_B_per_piece: fixed(d.natsInBytesPerPiece, 0),
      nats_out_B_per_piece: fixed(d.natsOutBytesPerPiece, 0),
      peak_rss_MiB: kv(d.rssMiB, 0),
      cpu_s: fixed(d.cpuS, 2),
      cpu_s_by_process: kv(r.cpuS, 2),
      backend_cpu_s: kv(r.backendCpuS, 2),
      seed_cpu_s: fixed(r.seedCpuS, 2),
      status: r.reason === undefined ? "PASS" : "FAIL",
      reason: (r.reason ?? "").replace(/[\t\n]/g, " "),
    };
    return TSV_COLUMNS.map((c) => row[c]).join("\t");
  });
  const header = empty ? [TSV_COLUMNS.join("\t")] : [];
  await appendFile(path, [...header, ...rows].map((l) => `${l}\n`).join(""));
}

