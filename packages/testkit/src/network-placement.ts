/**
 * Where a server the testkit starts runs when it is not on the test's own loopback: inside a
 * network namespace of a lab (`startNetnsLab`), listening on every address there, reached by
 * the lab's other processes at `address` and by the test process through a forwarded
 * loopback port.
 */
export interface NetworkPlacement {
  /** The network namespace the server's processes run in. */
  readonly netns: string;
  /** The namespace's address on the lab network: what URLs handed to other lab processes name. */
  readonly address: string;
  /**
   * A port on 127.0.0.1 of the test process that leads to `port` on the namespace's own
   * loopback. The test process has no route into the lab; probes and checks go this way.
   */
  reach(port: number): Promise<number>;
}

/** The host a placed server binds: all of its namespace's addresses (loopback and the lab link). */
export const PLACED_BIND_HOST = "0.0.0.0";
