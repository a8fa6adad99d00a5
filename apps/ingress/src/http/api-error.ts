import { defineErrors } from "@linkojob/errors";

/**
 * The API's own error catalog: what is wrong with a request whatever its domain (a bad parameter,
 * something not found or not the caller's, too many requests). Domains throw their own catalogs'
 * errors; http/error-status.ts gives every code its HTTP status.
 */
export class ApiError extends defineErrors("ApiError", {
  BAD_REQUEST: "the request is not valid",
  NOT_FOUND: "not found",
  FORBIDDEN: "this is not allowed to the caller",
  VALIDATION_ERROR: "the request does not match its schema",
  RATE_LIMITED: "too many requests",
}) {}

export const badRequest = (message: string, details?: ApiError["details"]) =>
  new ApiError("BAD_REQUEST", message, details);
export const notFound = (what: string) => new ApiError("NOT_FOUND", `${what} not found`);
export const forbidden = (message: string) => new ApiError("FORBIDDEN", message);
