// Loaded into a service with `--service-node-arg=--require=bench/lib/memory-log.cjs`: appends
// the process's memory every second to $SHOAL_MEMORY_LOG_DIR/mem-<command>-<pid>.log (RSS, its
// peak, V8 heap, external and array buffers, and each heap space, in MiB), so a run shows when
// and where a service's memory grew, not only its peak.
const fs = require("node:fs");
const path = require("node:path");
const v8 = require("node:v8");

const dir = process.env.SHOAL_MEMORY_LOG_DIR;
if (dir) {
  const name = process.argv.slice(2).join("_").replace(/[^a-z0-9_-]/gi, "").slice(0, 60) || "node";
  const file = path.join(dir, `mem-${name}-${process.pid}.log`);
  fs.mkdirSync(dir, { recursive: true });
  const mib = (n) => (n / 1048576).toFixed(0);
  let peak = 0;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    peak = Math.max(peak, m.rss);
    const spaces = v8.getHeapSpaceStatistics().map((s) => `${s.space_name.replace("_space", "")}=${mib(s.space_size)}`).join(" ");
    const line = `${new Date().toISOString().slice(11, 19)} rss=${mib(m.rss)} peak=${mib(peak)} heapTotal=${mib(m.heapTotal)} heapUsed=${mib(m.heapUsed)} ext=${mib(m.external)} ab=${mib(m.arrayBuffers)} ${spaces}\n`;
    fs.appendFileSync(file, line);
  }, 1000);
  timer.unref();
}
