#!/usr/bin/env node
// The whole test suite: build (e2e tests spawn the built CLI), type-check the tests, import
// rules, then vitest.
// Prints a closing "N passed, N failed" line that CI tooling reads.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";

const run = (cmd, args) => spawnSync(cmd, args, { stdio: "inherit" }).status ?? 1;
if (run("npx", ["tsc", "-b"]) !== 0) {
  console.log("0 passed, 1 failed");
  process.exit(1);
}
// Test files are not part of the build: type-check them (and the sources they import) here.
if (run("npx", ["tsc", "-p", "tsconfig.tests.json"]) !== 0) {
  console.log("0 passed, 1 failed");
  process.exit(1);
}
if (run("node", ["scripts/check-imports.mjs"]) !== 0) {
  console.log("0 passed, 1 failed");
  process.exit(1);
}
mkdirSync(".test-results", { recursive: true });

/**
 * Most test files wait on processes, sockets and timers far more than they compute, so two run
 * at once (vitest's default on two cores is one). Files whose assertions depend on the machine
 * not being shared run one at a time afterwards: the scale-out test measures speed, and the
 * cluster fault tests hold the seeds' upload to a bound that a loaded machine's extra end-game
 * duplicates can pass. Arguments (a file filter, vitest options) run one plain invocation instead.
 */
const ALONE = ["test/e2e/scale-out.test.ts", "test/e2e/cluster-faults.test.ts", "test/e2e/cluster-resume.test.ts", "test/e2e/cluster-chunked.test.ts"];
const PARALLEL_FILES = 2;

const vitest = (report, args) =>
  run("npx", ["vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=.test-results/${report}`, ...args]);
const extra = process.argv.slice(2);
const phases =
  extra.length > 0
    ? [["vitest.json", extra]]
    : [
        ["vitest.json", [`--maxWorkers=${PARALLEL_FILES}`, ...ALONE.flatMap((f) => ["--exclude", f])]],
        ["vitest-alone.json", ["--maxWorkers=1", ...ALONE]],
      ];
let status = 0;
let passed = 0;
let failed = 0;
let skipped = 0;
for (const [report, args] of phases) {
  // A report left by an earlier run must not be counted for a run that wrote none.
  rmSync(`.test-results/${report}`, { force: true });
  const code = vitest(report, args);
  try {
    const r = JSON.parse(readFileSync(`.test-results/${report}`, "utf8"));
    passed += r.numPassedTests;
    failed += r.numFailedTests + (r.numFailedTestSuites ?? 0);
    skipped += r.numPendingTests + (r.numTodoTests ?? 0);
  } catch {
    failed = Math.max(failed, 1);
  }
  if (code !== 0 && failed === 0) failed = 1;
  if (code !== 0) status = code;
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(status === 0 && failed === 0 ? 0 : 1);
