import type { SimContext } from "../../simulator.js";
import type { DeliveryRecord } from "../webhook-sender.js";

/** The simulator state area of the webhook control API: the log of deliveries. */
export const WEBHOOKS_AREA = "webhooks";
/** How many deliveries GET /_sim/webhooks/deliveries remembers (oldest dropped first). */
export const DELIVERY_LOG_SIZE = 200;
/** Bodies longer than this are kept truncated in the log (a 3 MB batch × 200 would be 600 MB). */
const LOGGED_BODY_CHARS = 64 * 1024;

export type LoggedDelivery = DeliveryRecord & { bodyTruncated?: true };

interface WebhooksAreaState {
  deliveries: LoggedDelivery[];
}

/** The last deliveries, whichever area sent them (the array itself: clearing it empties the log). */
export function deliveryLog(ctx: SimContext): LoggedDelivery[] {
  return ctx.state.area<WebhooksAreaState>(WEBHOOKS_AREA, () => ({ deliveries: [] })).deliveries;
}

/** Logs every delivery of the simulator from now on; returns the unsubscribe. */
export function recordDeliveries(ctx: SimContext): () => void {
  return ctx.webhooks.onDelivery((record) => {
    const log = deliveryLog(ctx);
    log.push(
      record.body.length > LOGGED_BODY_CHARS
        ? { ...record, body: record.body.slice(0, LOGGED_BODY_CHARS), bodyTruncated: true }
        : record,
    );
    if (log.length > DELIVERY_LOG_SIZE) log.splice(0, log.length - DELIVERY_LOG_SIZE);
  });
}
