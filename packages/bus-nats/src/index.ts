export { NatsBus } from "./nats-bus.js";
export type { NatsBusDeps } from "./nats-bus.js";
export { natsBusConfigSchema, parseNatsBusConfig } from "./config.js";
export type { NatsBusConfig, NatsBusConfigInput } from "./config.js";
export { encodePayload, decodePayload } from "./codec.js";
export { consumerName, SubjectSpace } from "./naming.js";
export type { BusStats } from "./bus-stats.js";
