import { describe, expect, it } from "vitest";
import { CoordinationError, SUBJECTS, subjectOf, type SubjectName } from "@shoal/coordination";
import { ConfigError } from "@shoal/service-kit";
import { consumerName, parseNatsBusConfig, SubjectSpace } from "../src/index.js";

const ih = "ab".repeat(20);

describe("subjects and consumer names", () => {
  it("captures exactly the durable subjects of the schema, for every torrent, behind the prefix", () => {
    const durable = (Object.keys(SUBJECTS) as SubjectName[]).filter((n) => SUBJECTS[n].durable);
    expect(durable.length).toBeGreaterThan(0);
    expect(new SubjectSpace("").durableSubjects()).toEqual(durable.map((n) => subjectOf(n, "*")));
    expect(new SubjectSpace("t1.x").durableSubjects()).toEqual(durable.map((n) => `t1.x.${subjectOf(n, "*")}`));
    expect(new SubjectSpace("").durableSubjects()).toContain("shoal.*.piece.staged");
    expect(new SubjectSpace("").durableSubjects()).not.toContain("shoal.*.piece.stored");
  });

  it("refuses an infoHash that would widen a subject", () => {
    for (const bad of ["a.b", "a*", ">", "a b", ""]) {
      expect(() => new SubjectSpace("").subject("piece_stored", bad)).toThrow(CoordinationError);
    }
  });

  it("names a group's consumer readably and the same in every process", () => {
    expect(consumerName("piece-verifier", "piece_staged", "*")).toBe("piece-verifier_piece_staged_all");
    expect(consumerName("writers", "piece_verified", ih)).toBe(`writers_piece_verified_${ih}`);
    expect(consumerName("writers", "piece_verified", ih)).toBe(consumerName("writers", "piece_verified", ih));
  });

  it("keeps groups apart that differ only in characters a consumer name cannot hold", () => {
    const groups = ["a.b", "a-b", "a_b", "a*b", "a>b", "x".repeat(65), "x".repeat(66)];
    const names = groups.map((g) => consumerName(g, "piece_staged", "*"));
    expect(new Set(names).size).toBe(groups.length);
    for (const n of names) {
      expect(n).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(n.length).toBeLessThan(200);
    }
    expect(consumerName("a-b", "piece_staged", "*")).not.toBe(consumerName("a", "piece_staged", "*"));
  });

  it("refuses an empty group or one with whitespace", () => {
    expect(() => consumerName("", "piece_staged", "*")).toThrow(CoordinationError);
    expect(() => consumerName("a b", "piece_staged", "*")).toThrow(CoordinationError);
  });
});

describe("NATS bus config", () => {
  it("has a default for every key", () => {
    const c = parseNatsBusConfig();
    expect(c.servers).toEqual(["nats://127.0.0.1:4222"]);
    expect(c.streamName).toBe("SHOAL");
    expect(c.subjectPrefix).toBe("");
    expect(c.groups).toEqual([]);
    expect(c.maxReconnectAttempts).toBe(-1);
    expect(c.requestTimeoutMs).toBe(5_000);
  });

  it("takes the environment's strings: comma lists, subject:group pairs, numbers", () => {
    const c = parseNatsBusConfig({
      servers: "nats://a:4222, nats://b:4222",
      groups: "piece_staged:piece-verifier,piece_staged:storage-writer",
      requestTimeoutMs: "750" as unknown as number,
    });
    expect(c.servers).toEqual(["nats://a:4222", "nats://b:4222"]);
    expect(c.groups).toEqual([
      { subject: "piece_staged", group: "piece-verifier" },
      { subject: "piece_staged", group: "storage-writer" },
    ]);
    expect(c.requestTimeoutMs).toBe(750);
  });

  it("names each bad key", () => {
    const bad = (input: Parameters<typeof parseNatsBusConfig>[0], key: string) => {
      let caught: unknown;
      try {
        parseNatsBusConfig(input);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).message).toContain(key);
    };
    bad({ streamName: "a.b" }, "streamName");
    bad({ subjectPrefix: "a..b" }, "subjectPrefix");
    bad({ servers: "" }, "servers");
    bad({ groups: "piece_stored:writers" }, "groups");
    bad({ groups: "piece_staged" }, "groups");
    bad({ pullExpiresMs: 10 }, "pullExpiresMs");
  });
});
