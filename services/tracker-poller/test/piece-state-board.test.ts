import { describe, expect, it } from "vitest";
import { ENDED_KEEP_MAX, ENDED_KEEP_MS, PieceStateBoard } from "../src/piece-state-board.js";

const counts = (stored: number, missing: number) => ({ missing, claimed: 0, staged: 0, verified: 0, stored, skipped: 0 });

describe("the piece state board the metrics endpoint reads", () => {
  it("shows running torrents, keeps an ended one for a while, and drops a handed-back one at once", () => {
    let now = 0;
    const board = new PieceStateBoard(() => now);
    board.update("aa", counts(1, 9));
    board.update("bb", counts(0, 4));
    board.update("aa", counts(10, 0));
    expect(board.snapshot()).toEqual({ aa: counts(10, 0), bb: counts(0, 4) });
    board.ended("aa", true);
    board.ended("bb", false);
    expect(board.snapshot()).toEqual({ aa: counts(10, 0) });
    now += ENDED_KEEP_MS;
    expect(board.snapshot()).toEqual({ aa: counts(10, 0) });
    now += 1;
    expect(board.snapshot()).toEqual({});
  });

  it("keeps at most ENDED_KEEP_MAX ended torrents, the latest ones, and every running one", () => {
    let now = 0;
    const board = new PieceStateBoard(() => now);
    board.update("running", counts(0, 1));
    for (let i = 0; i < ENDED_KEEP_MAX + 5; i++) {
      board.update(`t${i}`, counts(1, 0));
      board.ended(`t${i}`, true);
      now++;
    }
    const shown = Object.keys(board.snapshot());
    expect(shown).toHaveLength(ENDED_KEEP_MAX + 1);
    expect(shown).toContain("running");
    expect(shown).toContain(`t${ENDED_KEEP_MAX + 4}`);
    expect(shown).not.toContain("t4");
  });
});
