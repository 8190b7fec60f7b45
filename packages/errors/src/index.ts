export { ShoalError, isShoalError } from "./shoal-error.js";
export type { ErrorContext, JsonValue, ShoalErrorJson, ShoalErrorOptions } from "./shoal-error.js";
