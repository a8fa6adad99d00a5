export { parseEnv, EnvError } from "./parse-env";
export * as envVars from "./vars";
export { logRedaction, redactDeep, redactText, parseJsonDocument, CENSOR, PHONE_KEYS, TEXT_KEYS, SECRET_KEYS } from "./redaction";
export { onShutdownSignal } from "./graceful-shutdown";
export { assertProductionSecrets, KNOWN_DEVELOPMENT_SECRETS } from "./production-secrets";
