import { describe, expect, it } from "vitest";
import { choosePeersToDrop, peersOverShare, type RebalanceCandidate } from "../src/rebalance.js";

const peer = (key: string, over: Partial<RebalanceCandidate> = {}): RebalanceCandidate => ({
  key,
  outgoing: true,
  inFlight: 0,
  downloadRate: 0,
  ...over,
});

describe("peersOverShare", () => {
  it("asks for nothing within the share, down to the share beyond it", () => {
    expect(peersOverShare(4, 4)).toBe(0);
    expect(peersOverShare(3, 4)).toBe(0);
    expect(peersOverShare(6, 4)).toBe(2);
    // A small share has no margin: a two-peer swarm still splits when a second worker comes.
    expect(peersOverShare(2, 1)).toBe(1);
  });

  it("tolerates a tenth of the share before dropping, so a share that moves by one costs no connection", () => {
    expect(peersOverShare(44, 40)).toBe(0);
    expect(peersOverShare(45, 40)).toBe(5);
    // A worker joining moves the share by far more than the margin.
    expect(peersOverShare(60, 40)).toBe(20);
  });
});

describe("choosePeersToDrop", () => {
  it("hands over dialled connections before accepted ones, idle before busy, slow before fast", () => {
    const candidates = [
      peer("accepted-idle-slow", { outgoing: false }),
      peer("busy-slow", { inFlight: 3, downloadRate: 10 }),
      peer("idle-fast", { downloadRate: 5000 }),
      peer("idle-slow", { downloadRate: 100 }),
      peer("busy-fast", { inFlight: 1, downloadRate: 9000 }),
    ];
    expect(choosePeersToDrop(candidates, 5)).toEqual(["idle-slow", "idle-fast", "busy-slow", "busy-fast", "accepted-idle-slow"]);
    expect(choosePeersToDrop(candidates, 2)).toEqual(["idle-slow", "idle-fast"]);
    expect(choosePeersToDrop(candidates, 0)).toEqual([]);
  });
});
