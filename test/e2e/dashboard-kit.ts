import { inflateRawSync } from "node:zlib";
import { waitFor } from "@shoal/testkit";
import { startCli, type CliRun } from "./cli-process.js";

/** One server-sent event, its data parsed. */
export interface SseEvent {
  readonly type: string;
  readonly data: unknown;
}

/**
 * A client of the dashboard's event stream: collects every event in order, as a page would get
 * them. Reading stops at `close()`.
 */
export class EventStreamClient {
  readonly events: SseEvent[] = [];
  private readonly abort = new AbortController();
  private reading: Promise<void> = Promise.resolve();

  static async open(url: string): Promise<EventStreamClient> {
    const c = new EventStreamClient();
    const res = await fetch(url, { signal: c.abort.signal, headers: { accept: "text/event-stream" } });
    if (res.status !== 200 || !/^text\/event-stream/.test(res.headers.get("content-type") ?? "")) {
      throw new Error(`GET ${url}: ${res.status} ${res.headers.get("content-type") ?? ""}`);
    }
    c.reading = c.read(res.body!);
    return c;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buf = "";
    try {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let end;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          let type = "message";
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) type = line.slice(7);
            else if (line.startsWith("data: ")) data.push(line.slice(6));
          }
          if (data.length > 0) this.events.push({ type, data: JSON.parse(data.join("\n")) as unknown });
        }
      }
    } catch (err) {
      if (!this.abort.signal.aborted) throw err;
    }
  }

  /** Events of one type, in order. */
  of<T>(type: string): T[] {
    return this.events.filter((e) => e.type === type).map((e) => e.data as T);
  }

  /** Waits until `pred` holds for some event of `type`; resolves with the first that does. */
  async until<T>(type: string, pred: (data: T) => boolean, timeoutMs: number, what: string): Promise<T> {
    let found: T | undefined;
    await waitFor(() => (found = this.of<T>(type).find(pred)) !== undefined, {
      timeoutMs,
      what,
      intervalMs: 100,
      describe: () => `last ${type} event: ${JSON.stringify(this.of<T>(type).at(-1))?.slice(0, 2000)}`,
    });
    return found!;
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.reading.catch(() => undefined);
  }
}

/** A job as the `jobs` event carries it (the fields the tests read). */
export interface JobEvent {
  readonly id: string;
  readonly state: string;
  readonly name?: string;
  readonly percent?: number;
  readonly storedPieces: number;
  readonly pieces: number;
  readonly failedReason?: string;
  readonly cancellable: boolean;
}

/** A `pieces` event: the piece map of one job. */
export interface PiecesEvent {
  readonly jobId: string;
  readonly pieces: number;
  readonly workers: string[];
  readonly counts: Record<string, number>;
  readonly data: string;
}

/** The bytes of a piece map: one per piece. */
export function pieceBytes(e: PiecesEvent): Buffer {
  return inflateRawSync(Buffer.from(e.data, "base64"));
}

/** `shoal dashboard` as its own process; resolves once it printed its URL. */
export async function startDashboardProcess(env: NodeJS.ProcessEnv, args: readonly string[] = ["--port", "0"]): Promise<{ run: CliRun; url: string }> {
  const run = startCli(["dashboard", ...args], env);
  let url: string | undefined;
  await waitFor(
    () => {
      if (run.child.exitCode !== null) throw new Error(`shoal dashboard exited early: ${run.stderr().slice(-2000)}`);
      url = /dashboard at (http:\/\/\S+)/.exec(run.stdout())?.[1];
      return url !== undefined;
    },
    { timeoutMs: 30_000, what: "shoal dashboard to print its URL", intervalMs: 100, describe: () => run.stderr().slice(-2000) },
  );
  return { run, url: url! };
}
