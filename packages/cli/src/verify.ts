import { stat } from "node:fs/promises";
import { join } from "node:path";
import { parseMetainfo, torrentLayout } from "@shoal/metainfo";
import { checkBucket, formatDestination, parseDestination, s3ConnectionFrom, treeReaderFor, torrentSourceOf, type S3Connection } from "@shoal/runtime";
import { pollerConfigSchema, resolveSource } from "@shoal/tracker-poller";
import { verifyTree } from "@shoal/verify";
import type { VerifyArgs } from "./args.js";
import { CliError } from "./cli-error.js";
import { formatBytes } from "./progress.js";
import { describeVerification, formatVerification } from "./verify-output.js";

/** A live progress line on a terminal is redrawn at most this often. */
const PROGRESS_INTERVAL_MS = 250;

/**
 * `shoal verify`: checks the files `shoal get --out DEST` wrote at DEST against the torrent's
 * piece hashes and sizes. Resolves with the exit status: 0 when every selected file matches, 1
 * when one does not (each is listed). Throws for bad input (a bad torrent or destination, a
 * missing directory or bucket, an unusable S3 endpoint or credentials), which main reports with
 * exit status 2, and for a read that fails (exit status 1).
 */
export async function verify(args: VerifyArgs, out: NodeJS.WritableStream, err: NodeJS.WriteStream, env: NodeJS.ProcessEnv): Promise<number> {
  const destination = parseDestination(args.in);
  let s3: S3Connection | undefined;
  if (destination.kind === "s3") s3 = s3ConnectionFrom(args.s3, env, true);

  const source = await torrentSourceOf(args.source);
  if (source.kind === "magnet") throw new CliError("verify needs the .torrent (file or URL) to check against; a magnet link holds only the info hash", 2);
  const config = pollerConfigSchema.parse({});
  const meta = parseMetainfo(await resolveSource(source, config.maxTorrentMiB * 1024 * 1024, AbortSignal.timeout(60_000)));

  if (destination.kind === "s3") {
    await checkBucket(s3!, destination.bucket, destination.prefix);
  } else {
    const st = await stat(destination.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") throw new CliError(`directory ${destination.path} does not exist`, 2);
      throw new CliError(`cannot read directory ${destination.path}: ${err.message}`, 2);
    });
    if (!st.isDirectory()) throw new CliError(`${destination.path} is not a directory (give the directory that "shoal get --out" wrote into)`, 2);
  }
  const location = destination.kind === "dir" ? join(destination.path, meta.name) : `${formatDestination(destination)}/${meta.name}`;

  const reader = treeReaderFor(destination, torrentLayout(meta), { ...(s3 ? { s3 } : {}), env });
  const live = !args.json && err.isTTY === true;
  let shownAt = 0;
  let report;
  try {
    report = await verifyTree(meta, reader, {
      ...(args.select ? { select: args.select } : {}),
      onProgress: (done, total) => {
        if (!live || Date.now() - shownAt < PROGRESS_INTERVAL_MS) return;
        shownAt = Date.now();
        err.write(`\r\x1b[2Kverifying ${meta.name}: ${((100 * done) / Math.max(total, 1)).toFixed(1)}% of ${formatBytes(total)}`);
      },
    });
  } finally {
    if (live && shownAt > 0) err.write("\r\x1b[2K");
    await reader.close();
  }
  out.write(args.json ? JSON.stringify(describeVerification(report, meta.name, meta.infoHashHex, location)) + "\n" : formatVerification(report));
  return report.ok ? 0 : 1;
}
