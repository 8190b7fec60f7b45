import { describe, expect, it } from "vitest";
import { ShoalError } from "@shoal/errors";
import { createLogger, silentLogger } from "../src/index.js";

/** Captures what a logger writes, one parsed JSON object per line. */
function capture(): { destination: { write(line: string): void }; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return {
    lines,
    destination: {
      write(chunk: string) {
        for (const line of chunk.split("\n")) if (line !== "") lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  };
}

describe("createLogger", () => {
  it("writes JSON lines carrying the fixed service and workerId fields, and component on children", () => {
    const { destination, lines } = capture();
    const logger = createLogger({ service: "peer-worker", workerId: "w-7", destination });
    logger.info({ infoHash: "ab12", piece: 3 }, "piece stored");
    logger.child({ component: "swarm" }).warn({ peer: "10.0.0.5:6881" }, "peer sent a bad block");

    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ service: "peer-worker", workerId: "w-7", infoHash: "ab12", piece: 3, msg: "piece stored" });
    expect(lines[0]).not.toHaveProperty("component");
    expect(lines[1]).toMatchObject({ service: "peer-worker", workerId: "w-7", component: "swarm", peer: "10.0.0.5:6881" });
    // pino's numeric levels: 30 is info, 40 is warn.
    expect([lines[0]!["level"], lines[1]!["level"]]).toEqual([30, 40]);
  });

  it("leaves workerId out when the service runs once", () => {
    const { destination, lines } = capture();
    createLogger({ service: "tracker-poller", destination }).info("started");
    expect(lines[0]).toMatchObject({ service: "tracker-poller" });
    expect(lines[0]).not.toHaveProperty("workerId");
  });

  it("logs at info by default and honours a configured level", () => {
    const byDefault = capture();
    const logger = createLogger({ service: "s", destination: byDefault.destination });
    logger.debug("per message detail");
    logger.info("lifecycle");
    expect(byDefault.lines.map((l) => l["msg"])).toEqual(["lifecycle"]);

    const quiet = capture();
    const warnOnly = createLogger({ service: "s", level: "warn", destination: quiet.destination });
    warnOnly.info("lifecycle");
    warnOnly.error("operator must act");
    expect(quiet.lines.map((l) => l["msg"])).toEqual(["operator must act"]);
  });

  it("serialises a ShoalError under err with its code, context, retryable flag and cause", () => {
    const { destination, lines } = capture();
    const cause = new Error("ENOSPC: no space left on device");
    const err = new ShoalError("OUT_OF_SPACE", "fs.writePiece failed on /data/x", {
      context: { op: "fs.writePiece", path: "/data/x" },
      cause,
    });
    createLogger({ service: "storage-writer", destination }).error({ err, op: "write.writePiece" }, err.message);
    const logged = lines[0]!["err"] as Record<string, unknown>;
    expect(logged).toMatchObject({
      type: "ShoalError",
      message: expect.stringContaining("fs.writePiece failed on /data/x"),
      code: "OUT_OF_SPACE",
      context: { op: "fs.writePiece", path: "/data/x" },
      retryable: false,
    });
    expect(String(logged["stack"])).toContain("ENOSPC");
    expect(lines[0]).toMatchObject({ op: "write.writePiece" });
  });
});

describe("silentLogger", () => {
  it("has every level switched off", () => {
    const logger = silentLogger();
    for (const level of ["fatal", "error", "warn", "info", "debug", "trace"]) expect(logger.isLevelEnabled(level)).toBe(false);
  });
});
