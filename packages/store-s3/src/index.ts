export { planWrites, unitsOfPiece, unitsOfRange, piecesOfUnit, partTarget, S3_LIMITS } from "./write-plan.js";
export type { WritePlan, WriteUnit, PlannedObject, ObjectKind, PlanOptions, S3Limits } from "./write-plan.js";
