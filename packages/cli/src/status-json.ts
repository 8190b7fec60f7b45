import { z } from "zod";
import type { JobInfo } from "@shoal/coordination";

/**
 * The shape of `shoal status --json`: one object for `status JOB`, an array of them for `status`.
 * Scripts and dashboards read it, so it is built field by field here (never by spreading the
 * queue's record, whose internals may grow) and checked against this schema in the tests.
 * Fields may be added; none is renamed or removed. docs/STATUS-JSON.md describes each one.
 */
const bytesPerSec = z.number().nonnegative();
const count = z.number().int().nonnegative();

const pieceStatesSchema = z
  .object({ missing: count, claimed: count, staged: count, verified: count, stored: count, skipped: count })
  .strict();

const workerSchema = z
  .object({
    workerId: z.string(),
    live: z.boolean(),
    peers: count,
    downloadRateBytesPerSec: bytesPerSec,
    uploadRateBytesPerSec: bytesPerSec,
    downloadedBytes: count,
    uploadedBytes: count,
  })
  .strict();

const progressSchema = z
  .object({
    infoHash: z.string().regex(/^[0-9a-f]{40}$/),
    name: z.string(),
    totalBytes: count,
    storedBytes: count,
    pieces: count,
    storedPieces: count,
    peers: count,
    downloadRateBytesPerSec: bytesPerSec,
    uploadRateBytesPerSec: bytesPerSec,
    downloadedBytes: count,
    uploadedBytes: count,
    pieceStates: pieceStatesSchema.optional(),
    workers: z.array(workerSchema).optional(),
  })
  .strict();

const resultSchema = z
  .object({
    infoHash: z.string().regex(/^[0-9a-f]{40}$/),
    name: z.string(),
    files: z.array(z.object({ path: z.string(), length: count }).strict()),
    totalBytes: count,
    resumedPieces: count,
    downloadedBytes: count,
    uploadedBytes: count,
  })
  .strict();

const optionsSchema = z
  .object({
    selectFiles: z.array(count).optional(),
    seed: z.object({ ratio: z.number().nonnegative().optional(), seconds: z.number().nonnegative().optional() }).strict().optional(),
    maxDownloadBytesPerSec: count.optional(),
    maxUploadBytesPerSec: count.optional(),
  })
  .strict();

export const statusJobSchema = z
  .object({
    id: z.string(),
    state: z.enum(["waiting", "active", "delayed", "completed", "failed"]),
    data: z
      .object({
        source: z.discriminatedUnion("kind", [
          z.object({ kind: z.literal("torrent") }).strict(),
          z.object({ kind: z.literal("url"), url: z.string() }).strict(),
          z.object({ kind: z.literal("magnet"), uri: z.string() }).strict(),
        ]),
        destination: z.string(),
        options: optionsSchema.optional(),
      })
      .strict(),
    attemptsMade: count,
    createdAt: count,
    finishedAt: count.optional(),
    failedReason: z.string().optional(),
    progress: progressSchema.optional(),
    result: resultSchema.optional(),
  })
  .strict();

export type StatusJob = z.infer<typeof statusJobSchema>;

/** A job as `status --json` prints it: no torrent bytes (base64 of a whole .torrent is no status). */
export function statusJson(job: JobInfo): StatusJob {
  const p = job.progress;
  const r = job.result;
  const o = job.data.options;
  return {
    id: job.id,
    state: job.state,
    data: {
      source:
        job.data.source.kind === "url"
          ? { kind: "url", url: job.data.source.url }
          : job.data.source.kind === "magnet"
            ? { kind: "magnet", uri: job.data.source.uri }
            : { kind: "torrent" },
      destination: job.data.destination,
      ...(o
        ? {
            options: {
              ...(o.selectFiles ? { selectFiles: [...o.selectFiles] } : {}),
              ...(o.seed ? { seed: { ...(o.seed.ratio !== undefined ? { ratio: o.seed.ratio } : {}), ...(o.seed.seconds !== undefined ? { seconds: o.seed.seconds } : {}) } } : {}),
              ...(o.maxDownloadBytesPerSec ? { maxDownloadBytesPerSec: o.maxDownloadBytesPerSec } : {}),
              ...(o.maxUploadBytesPerSec ? { maxUploadBytesPerSec: o.maxUploadBytesPerSec } : {}),
            },
          }
        : {}),
    },
    attemptsMade: job.attemptsMade,
    createdAt: job.createdAt,
    ...(job.finishedAt !== undefined ? { finishedAt: job.finishedAt } : {}),
    ...(job.failedReason !== undefined ? { failedReason: job.failedReason } : {}),
    ...(p
      ? {
          progress: {
            infoHash: p.infoHash,
            name: p.name,
            totalBytes: p.totalBytes,
            storedBytes: p.storedBytes,
            pieces: p.pieces,
            storedPieces: p.storedPieces,
            peers: p.peers,
            downloadRateBytesPerSec: p.downloadRateBytesPerSec,
            uploadRateBytesPerSec: p.uploadRateBytesPerSec,
            downloadedBytes: p.downloadedBytes,
            uploadedBytes: p.uploadedBytes,
            ...(p.pieceStates
              ? {
                  pieceStates: {
                    missing: p.pieceStates.missing,
                    claimed: p.pieceStates.claimed,
                    staged: p.pieceStates.staged,
                    verified: p.pieceStates.verified,
                    stored: p.pieceStates.stored,
                    skipped: p.pieceStates.skipped,
                  },
                }
              : {}),
            ...(p.workers
              ? {
                  workers: p.workers.map((w) => ({
                    workerId: w.workerId,
                    live: w.live,
                    peers: w.peers,
                    downloadRateBytesPerSec: w.downloadRateBytesPerSec,
                    uploadRateBytesPerSec: w.uploadRateBytesPerSec,
                    downloadedBytes: w.downloadedBytes,
                    uploadedBytes: w.uploadedBytes,
                  })),
                }
              : {}),
          },
        }
      : {}),
    ...(r
      ? {
          result: {
            infoHash: r.infoHash,
            name: r.name,
            files: r.files.map((f) => ({ path: f.path, length: f.length })),
            totalBytes: r.totalBytes,
            resumedPieces: r.resumedPieces,
            downloadedBytes: r.downloadedBytes,
            uploadedBytes: r.uploadedBytes,
          },
        }
      : {}),
  };
}
