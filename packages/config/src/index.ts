export { parseEnv, EnvError } from "./parse-env";
export * as envVars from "./vars";
