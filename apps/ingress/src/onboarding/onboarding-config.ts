import type { IngressEnv } from "../env.js";
import type { OnboardingConfig } from "./onboarding.routes.js";

/** The onboarding part of the ingress configuration, from its parsed environment. */
export function onboardingConfigFromEnv(env: IngressEnv): OnboardingConfig {
  return {
    appId: env.META_APP_ID,
    appSecret: env.META_APP_SECRET,
    apiVersion: env.META_API_VERSION,
    baseUrl: env.BASE_URL,
    // Without a dashboard of its own, the recruiter lands on the ingress's base URL.
    dashboardUrl: env.DASHBOARD_URL ?? `${env.BASE_URL}/`,
    dialogUrl: env.META_DIALOG_URL,
    ...(env.META_CONFIG_ID ? { configId: env.META_CONFIG_ID } : {}),
    stateSecret: env.JWT_SECRET,
    keyPrefix: env.QUEUE_PREFIX,
    stateTtlSeconds: env.ONBOARDING_STATE_TTL_SECONDS,
  };
}
