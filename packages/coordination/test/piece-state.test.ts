import { describe, expect, it } from "vitest";
import {
  PIECE_STATES,
  PIECE_STATE_CODE,
  TRANSITIONS,
  TRANSITION_RESULTS,
  checkInvariants,
  isLegal,
  type PieceState,
  type Transition,
} from "@shoal/coordination";

const transitions = Object.keys(TRANSITIONS) as Transition[];

/** States reachable from `start` by following the table. */
function reachableFrom(start: PieceState): Set<PieceState> {
  const seen = new Set<PieceState>([start]);
  const queue = [start];
  while (queue.length > 0) {
    const s = queue.shift()!;
    for (const t of transitions) {
      if (isLegal(t, s) && !seen.has(TRANSITIONS[t].to)) {
        seen.add(TRANSITIONS[t].to);
        queue.push(TRANSITIONS[t].to);
      }
    }
  }
  return seen;
}

describe("the transition table", () => {
  it("names only known states", () => {
    for (const t of transitions) {
      expect(PIECE_STATES).toContain(TRANSITIONS[t].to);
      for (const from of TRANSITIONS[t].from) expect(PIECE_STATES).toContain(from);
    }
  });

  it("walks the happy path missing, claimed, staged, verified, stored", () => {
    const path: [Transition, PieceState, PieceState][] = [
      ["claim", "missing", "claimed"],
      ["stage", "claimed", "staged"],
      ["verify", "staged", "verified"],
      ["store", "verified", "stored"],
    ];
    for (const [t, from, to] of path) {
      expect(isLegal(t, from), `${t} from ${from}`).toBe(true);
      expect(TRANSITIONS[t].to).toBe(to);
    }
  });

  it("makes stored terminal and every other state able to get back to missing", () => {
    expect(transitions.filter((t) => isLegal(t, "stored"))).toEqual([]);
    for (const s of PIECE_STATES) {
      if (s !== "stored" && s !== "skipped") expect(reachableFrom(s).has("missing"), `missing reachable from ${s}`).toBe(true);
    }
    // `skipped` is set when the table is created and never entered or left by a transition.
    expect(reachableFrom("skipped")).toEqual(new Set(["skipped"]));
    expect(reachableFrom("missing")).toEqual(new Set(PIECE_STATES.filter((s) => s !== "skipped")));
  });

  it("has isLegal agree with the table for every pair", () => {
    for (const t of transitions) {
      for (const s of PIECE_STATES) expect(isLegal(t, s), `${t} from ${s}`).toBe((TRANSITIONS[t].from as readonly string[]).includes(s));
    }
  });

  it("gives every state a distinct code in table order", () => {
    expect(PIECE_STATES.map((s) => PIECE_STATE_CODE[s])).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("lists ok among the transition results", () => {
    expect(TRANSITION_RESULTS).toContain("ok");
    expect(new Set(TRANSITION_RESULTS).size).toBe(TRANSITION_RESULTS.length);
  });
});

describe("checkInvariants", () => {
  it("accepts a sound table, including stored pieces never claimed (resume)", () => {
    expect(
      checkInvariants(
        [
          { state: "missing", attempt: 0 },
          { state: "missing", attempt: 3 },
          { state: "claimed", attempt: 1, holder: "w1" },
          { state: "staged", attempt: 2 },
          { state: "verified", attempt: 1 },
          { state: "stored", attempt: 0 },
        ],
        new Set(["w1"]),
      ),
    ).toEqual([]);
  });

  it("reports a claim without a holder and a holder outside a claim, naming the piece", () => {
    const problems = checkInvariants([
      { state: "claimed", attempt: 1 },
      { state: "staged", attempt: 1, holder: "w1" },
    ]);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^piece 0: /);
    expect(problems[1]).toMatch(/^piece 1: .*w1/);
  });

  it("reports a claimed, staged or verified piece that was never claimed", () => {
    for (const state of ["claimed", "staged", "verified"] as const) {
      const holder = state === "claimed" ? { holder: "w1" } : {};
      expect(checkInvariants([{ state, attempt: 0, ...holder }]), state).toHaveLength(1);
    }
  });

  it("reports an unknown state", () => {
    expect(checkInvariants([{ state: "downloading" as PieceState, attempt: 1 }])).toHaveLength(1);
  });

  it("reports a claim held by a worker whose lease lapsed, only when live workers are given", () => {
    const pieces = [{ state: "claimed" as const, attempt: 1, holder: "dead" }];
    expect(checkInvariants(pieces)).toEqual([]);
    expect(checkInvariants(pieces, new Set(["alive"]))).toHaveLength(1);
  });

  it("accepts a verified piece a writer holds, and reports it once the writer's lease lapsed", () => {
    const pieces = [
      { state: "verified" as const, attempt: 2, holder: "writer" },
      { state: "verified" as const, attempt: 1 },
    ];
    expect(checkInvariants(pieces, new Set(["writer"]))).toEqual([]);
    const problems = checkInvariants(pieces, new Set(["someone-else"]));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^piece 0: held by writer/);
  });

  it("reports a holder on a piece that is neither claimed nor verified", () => {
    for (const state of ["missing", "staged", "stored", "skipped"] as const) {
      expect(checkInvariants([{ state, attempt: 1, holder: "w1" }]), state).toHaveLength(1);
    }
  });
});
