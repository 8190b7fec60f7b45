export { INVALID_ERROR_JSON, MAX_CAUSE_DEPTH, MAX_CONTEXT_DEPTH, ShoalError, isShoalError } from "./shoal-error.js";
export type { ErrorContext, JsonValue, ShoalErrorJson, ShoalErrorOptions } from "./shoal-error.js";
