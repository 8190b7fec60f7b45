/// <reference lib="dom" />
// The page-side callbacks (page.$eval, waitForFunction) run in the browser, with its DOM types.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateRawSync } from "node:zlib";
import { chromium, type Browser, type Page } from "playwright-core";
import { parseMetainfo } from "@shoal/metainfo";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliRun } from "./cli-process.js";
import { expectedObjects, startClusterBackends, type ClusterBackends } from "./cluster-kit.js";
import { startDashboardProcess } from "./dashboard-kit.js";
import { startSwarm, type Swarm } from "./swarm.js";

const KiB = 1024;
const MiB = 1024 * KiB;
/** Debian's Chromium, driven headless; never a browser downloaded by a package. */
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
/** The page's colour of a stored piece and its canvas background (static/app.js). */
const STORED_RGB = [46, 158, 91];
const QUICK_BYTES = 3 * MiB + 1_234;
const QUICK_PIECE_BYTES = 32 * KiB;
const QUICK_PIECES = Math.ceil(QUICK_BYTES / QUICK_PIECE_BYTES);
/**
 * A torrent name that is markup. The metainfo parser replaces `<`, `>` and `"` in names (they
 * are not portable file names), so what reaches the page is an entity and the rest; the
 * destination prefix carries the tag itself (S3 keys may hold it).
 */
const HOSTILE_NAME = `<img src=x onerror="window.__pwned=1">&amp;'quoted'`;
const HOSTILE_PREFIX = "browser/<img src=x onerror=window.__pwned=1>";

describe("shoal dashboard in headless Chromium, against a real cluster", () => {
  let backends: ClusterBackends;
  let quick: Swarm;
  /** No seed at all: its job runs until it is cancelled. */
  let stuck: Swarm;
  let dashboard: { run: CliRun; url: string };
  let browser: Browser;
  let page: Page;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "shoal-dashboard-browser-"));
    [backends, quick, stuck] = await Promise.all([
      startClusterBackends({ env: { SHOAL_S3_PART_SIZE_MIB: "5" } }),
      startSwarm({ payload: { name: "browser-quick.bin", seed: "dashboard-browser-quick", size: QUICK_BYTES }, pieceLength: QUICK_PIECE_BYTES, tracker: "http", seeds: 1 }),
      startSwarm({ payload: { name: HOSTILE_NAME, seed: "dashboard-browser-stuck", size: MiB }, pieceLength: 32 * KiB, tracker: "http", seeds: 0 }),
    ]);
    const services = (["tracker-poller", "storage-writer", "peer-worker", "piece-verifier"] as const).map((n) => backends.startService(n));
    await Promise.all(services.map((s) => s.ready));
    dashboard = await startDashboardProcess(backends.env);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(dashboard.url);
    await page.waitForSelector("#stream-status[data-up='true']", { timeout: 30_000 });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    dashboard?.run.child.kill("SIGTERM");
    await dashboard?.run.exited;
    await backends?.close();
    await Promise.allSettled([quick?.close(), stuck?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  /** Fills the page's form and submits it; resolves with the job id the page reports. */
  const submitThroughForm = async (torrentPath: string, to: string, maxDownloadRate?: string): Promise<string> => {
    await page.setInputFiles("#torrent-file", torrentPath);
    await page.fill("#dest", to);
    if (maxDownloadRate !== undefined) {
      await page.click("details summary");
      await page.fill("#max-down", maxDownloadRate);
    }
    await page.click("#submit-button");
    const message = await page.waitForSelector("#submit-message[data-kind='ok']", { timeout: 30_000 });
    const jobId = await message.getAttribute("data-job-id");
    expect(jobId).toMatch(/\S/);
    return jobId!;
  };

  it("shows a bad submission's one line on the page and queues nothing", async () => {
    await page.setInputFiles("#torrent-file", quick.torrentPath);
    await page.fill("#dest", `s3://${backends.bucket}/x`);
    await page.fill("#select", "7");
    await page.click("#submit-button");
    const message = await page.waitForSelector("#submit-message[data-kind='error']", { timeout: 30_000 });
    expect(await message.textContent()).toMatch(/^file selection: .*file 7 does not exist/);
    await page.fill("#select", "");
    expect(await page.locator(".job").count()).toBe(0);
  });

  it("a torrent submitted through the page's form reaches 100 %, its piece map is every piece stored, and its bytes are in the bucket", async () => {
    const prefix = "browser/quick";
    const jobId = await submitThroughForm(quick.torrentPath, `s3://${backends.bucket}/${prefix}`);
    const card = `.job[data-job-id="${jobId}"]`;
    await page.waitForSelector(`${card}[data-state="completed"][data-percent="100"]`, { timeout: 120_000 });
    const canvas = `${card} canvas.piece-map`;
    await page.waitForSelector(`${canvas}[data-stored="${QUICK_PIECES}"]`, { timeout: 30_000 });
    expect(await page.getAttribute(canvas, "data-pieces")).toBe(String(QUICK_PIECES));
    // The pixels: every drawn cell is the stored colour; the rest is the white background.
    const pixels = await page.$eval(canvas, (el) => {
      const c = el as HTMLCanvasElement;
      const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
      const colours: Record<string, number> = {};
      for (let i = 0; i < d.length; i += 4) {
        const k = `${d[i]},${d[i + 1]},${d[i + 2]}`;
        colours[k] = (colours[k] ?? 0) + 1;
      }
      return colours;
    });
    const stored = pixels[STORED_RGB.join(",")] ?? 0;
    expect(stored).toBeGreaterThanOrEqual(QUICK_PIECES);
    expect(Object.keys(pixels).filter((k) => k !== STORED_RGB.join(",") && k !== "255,255,255"), JSON.stringify(pixels)).toEqual([]);
    expect(await page.textContent(`${card} .legend`)).toContain(`stored ${QUICK_PIECES}`);
    expect(await page.textContent(`${card} .job-name`)).toBe("browser-quick.bin");

    expect(await backends.objects(prefix)).toEqual(expectedObjects(quick, prefix));
  }, 180_000);

  it("shows a hostile torrent name as text, and its cancel button cancels the running job", async () => {
    const jobId = await submitThroughForm(stuck.torrentPath, `s3://${backends.bucket}/${HOSTILE_PREFIX}`, "64K");
    const card = `.job[data-job-id="${jobId}"]`;
    const shownName = parseMetainfo(await readFile(stuck.torrentPath)).name;
    expect(shownName).toContain("&amp;'quoted'");
    await page.waitForSelector(`${card}[data-state="active"]`, { timeout: 60_000 });
    await page.waitForFunction(([sel, name]) => document.querySelector(`${sel} .job-name`)?.textContent === name, [card, shownName] as const, { timeout: 60_000 });
    expect(await page.textContent(`${card} .job-dest`)).toBe(`s3://${backends.bucket}/${HOSTILE_PREFIX}`);
    expect(await page.locator(`${card} img`).count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();

    await page.click(`${card} button.cancel`);
    await page.waitForSelector(`${card}[data-state="failed"]`, { timeout: 60_000 });
    expect(await page.textContent(`${card} .job-message`)).toBe(`job ${jobId} cancelled`);
    expect(await page.textContent(`${card} .job-error`)).toBe(`job ${jobId} cancelled`);
    expect(await page.isHidden(`${card} button.cancel`)).toBe(true);

    // Kept after the test (its own directory, not the one removed at the end) for a person to look at.
    const shot = join(await mkdtemp(join(tmpdir(), "shoal-dashboard-screenshot-")), "dashboard.png");
    await page.screenshot({ path: shot, fullPage: true });
    process.stdout.write(`dashboard screenshot: ${shot}\n`);
    const png = PNG.sync.read(await readFile(shot));
    const colours = new Set<number>();
    let ink = 0;
    for (let i = 0; i < png.data.length; i += 4) {
      const [r, g, b] = [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!];
      colours.add((r << 16) | (g << 8) | b);
      if (r + g + b < 3 * 235) ink++;
    }
    expect(png.width).toBeGreaterThan(600);
    // Text, badges, bars and the piece map: many colours and a good share of non-background.
    expect(colours.size).toBeGreaterThan(50);
    expect(ink / (png.width * png.height)).toBeGreaterThan(0.05);
  }, 180_000);

  it("draws a 100k-piece map within its height limit, one cell per piece, claims in their workers' colours", async () => {
    // A map as the server encodes it (PIECE_STATE_CODE; 16 + worker index for a claim), handed
    // to the page's own handler for a card that exists: no cluster has a 100k-piece torrent here.
    const pieces = 100_000;
    const bytes = Buffer.alloc(pieces, 0);
    bytes.fill(4, 0, 60_000);
    bytes.fill(16, 60_000, 60_500);
    bytes.fill(17, 60_500, 61_000);
    bytes.fill(2, 61_000, 61_100);
    const jobId = await page.getAttribute(".job[data-state='failed']", "data-job-id");
    const drawn = await page.evaluate(
      async ([id, data]) => {
        const started = performance.now();
        await (window as unknown as { onPieces(m: unknown): Promise<void> }).onPieces({ jobId: id, workers: ["worker-x", "worker-y"], data });
        const c = document.querySelector(`.job[data-job-id="${id}"] canvas.piece-map`) as HTMLCanvasElement;
        return { ms: performance.now() - started, height: c.height, width: c.width, ...c.dataset, legend: c.parentElement!.querySelector(".legend")!.textContent };
      },
      [jobId!, deflateRawSync(bytes).toString("base64")] as const,
    );
    expect(drawn).toMatchObject({ pieces: "100000", stored: "60000", claimed: "1000", staged: "100", missing: String(pieces - 61_100) });
    expect(drawn.height).toBeLessThanOrEqual(180);
    expect(drawn.width * drawn.height).toBeGreaterThanOrEqual(pieces);
    expect(drawn.legend).toContain("claimed by worker-x");
    expect(drawn.legend).toContain("claimed by worker-y");
    process.stdout.write(`100k-piece map: inflated and drawn in ${drawn.ms.toFixed(1)} ms (${drawn.width}x${drawn.height})\n`);
  });
});
