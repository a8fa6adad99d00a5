import type { SimArea } from "./simulator";
import { webhookControlArea } from "./webhooks/control.routes";
import { messagingArea } from "./graph/messaging.routes";
import { templatesArea } from "./graph/templates.routes";
import { onboardingArea } from "./graph/onboarding.routes";
import { mediaArea } from "./graph/media.routes";

/**
 * The simulator's route plugins, one per area of the Graph API / Meta behaviour. Each area's file
 * owns its routes and its part of SimState (state.area(name, init)). Add an area by listing it here.
 */
export const areas: SimArea[] = [webhookControlArea, messagingArea, templatesArea, onboardingArea, mediaArea];
