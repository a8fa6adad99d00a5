import { defineErrors } from "@linkojob/errors";

/**
 * The send acceptance's error catalog: a send (or a change of the sending policy) that was not
 * accepted, and why. Template and opt-out refusals have their own catalogs (@linkojob/outbound).
 */
export class SendError extends defineErrors("SendError", {
  CLIENT_DISCONNECTED: "this client's WhatsApp is disconnected: reconnect it before sending",
  SEND_UNAVAILABLE: "sends cannot be accepted right now: nothing was queued, retry shortly",
  IDEMPOTENCY_KEY_IN_USE: "a request with this Idempotency-Key is being accepted: retry shortly for its answer",
  NOT_REPLICATED:
    "the send was queued on the Redis primary but its replica did not confirm it in time: retry with the same " +
    "Idempotency-Key (it answers this send if it survived, and accepts it again if not)",
  QUEUE_UNAVAILABLE: "the send could not be queued: nothing was accepted, retry",
  POLICY_UNAVAILABLE: "the sending policy could not be stored: nothing changed, retry",
}) {}
