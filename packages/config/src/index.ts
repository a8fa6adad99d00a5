export { parseEnv, EnvError } from "./parse-env.js";
export * as envVars from "./vars.js";
export { DEFAULT_GRAPH_API_VERSION } from "./vars.js";
export {
  logRedaction,
  logOptions,
  redactLog,
  LOG_ID_KEYS,
  redactDeep,
  redactText,
  parseJsonDocument,
  CENSOR,
  PHONE_KEYS,
  TEXT_KEYS,
  SECRET_KEYS,
} from "./redaction.js";
export { onShutdownSignal } from "./graceful-shutdown.js";
export { assertProductionSecrets, assertProductionRequired, KNOWN_DEVELOPMENT_SECRETS } from "./production-secrets.js";
export {
  assertProductionEndpoints,
  assertNotProduction,
  META_ENDPOINTS,
  DEMO_ONLY_VARIABLES,
} from "./production-endpoints.js";
export { redisEnvShape, redisTargetOf } from "./redis-target.js";
