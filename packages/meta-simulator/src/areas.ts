import type { SimArea } from "./simulator.js";
import { webhookControlArea } from "./webhooks/control.routes.js";
import { messagingArea } from "./graph/messaging.routes.js";
import { templatesArea } from "./graph/templates.routes.js";
import { onboardingArea } from "./graph/onboarding.routes.js";
import { mediaArea } from "./graph/media.routes.js";
import { portfolioArea } from "./graph/portfolio.routes.js";
import { blockUsersArea } from "./graph/block-users.routes.js";
import { flowsArea } from "./graph/flows.routes.js";

/**
 * The simulator's route plugins, one per area of the Graph API / Meta behaviour. Each area's file
 * owns its routes and its part of SimState (state.area(name, init)). Add an area by listing it here.
 */
export const areas: SimArea[] = [
  webhookControlArea,
  messagingArea,
  templatesArea,
  onboardingArea,
  mediaArea,
  portfolioArea,
  blockUsersArea,
  flowsArea,
];
