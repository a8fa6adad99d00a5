import { defineErrors } from "@linkojob/errors";

/** The campaign acceptance's error catalog: a campaign that was not accepted, and why. */
export class CampaignError extends defineErrors("CampaignError", {
  CLIENT_DISCONNECTED: "this client's WhatsApp is disconnected: reconnect it before sending",
  CAMPAIGN_UNAVAILABLE:
    "the campaign could not be accepted right now: retry with the same idempotencyKey (nothing is sent twice)",
}) {}
