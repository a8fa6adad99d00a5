import { candidateKeyOf, type OutboundKind } from "@linkojob/db";
import type { AcceptedSend } from "./accepted-send.js";
import { optOutRefusal, optOutShapeOf, type OptOutRefusal } from "./opt-outs/index.js";
import { DEFAULT_PRICE_TABLE_MAD, type PriceTable } from "./pricing.js";
import { SendCaches } from "./send-caches.js";
import { planSend, plannedKindAndCost, sendRecordOf, type KnownTemplateDecision, type SendPlan } from "./send-plan.js";
import type { OutboundRequest } from "./send-request.js";
import type { SendClient, SendState } from "./send-state.js";
import type { GateDecision, ProtectionView, SendGate } from "./sending-policy/index.js";

/** A send planned from the state in Redis (SendDecider.decide). */
export interface PlannedSend {
  optedOut: null;
  plan: SendPlan;
  kind: OutboundKind;
  cost: number;
  costCategory: string;
}
/** A send decided: refused because the candidate opted out, or planned. */
export type SendDecision = { optedOut: OptOutRefusal; plan: SendPlan } | PlannedSend;

/**
 * The sending protections' use by an accepted send: only a business-initiated send (a template to a
 * closed window or a first contact) is asked about; a reply inside an open window never is (null).
 * A `go` may carry the budget place it counted (given back if the send is refused later).
 */
export async function gateOfPlan(
  gate: SendGate,
  client: SendClient,
  request: OutboundRequest,
  plan: SendPlan,
  /** The protections already read with the candidate's state (else read here). */
  view?: ProtectionView,
): Promise<GateDecision | null> {
  if (plan.kind !== "template" || plan.inWindow) return null;
  return gate.decide({
    client,
    request,
    businessInitiated: true,
    category: plan.doc.category ?? null,
    ...(view ? { view } : {}),
  });
}

export interface SendDeciderOptions {
  /** OUTBOUND_PRICE_TABLE. Default: DEFAULT_PRICE_TABLE_MAD. */
  prices?: PriceTable;
  /** The sending protections (quality, quiet hours, the portfolio's limit). None: not applied here. */
  gate?: SendGate | null;
}

/**
 * How an accepted send is decided from the send state in Redis, with no MongoDB request: the
 * candidate's window and opt-out, the plan (planSend), the opt-out rule, the sending protections'
 * gate, and what the job carries. The send API's single send (SendAcceptance) and a campaign's
 * expansion (CampaignExpander, in the outbound worker) decide each recipient through it, so both
 * apply the same rules.
 */
export class SendDecider {
  readonly caches: SendCaches<SendClient>;
  readonly prices: PriceTable;
  protected readonly gate: SendGate | null;

  constructor(
    readonly state: SendState,
    options: SendDeciderOptions = {},
  ) {
    this.caches = new SendCaches<SendClient>(state);
    this.prices = options.prices ?? DEFAULT_PRICE_TABLE_MAD;
    this.gate = options.gate ?? null;
  }

  /**
   * One send decided from the send state in Redis, with no side effect: the candidate's window and
   * opt-out (one MGET, unless the caller read them already), the plan (planSend), and the opt-out rule.
   */
  async decide(
    clientId: string,
    client: SendClient,
    request: OutboundRequest,
    candidate?: Pick<Awaited<ReturnType<SendState["candidate"]>>, "windowExpiresAt" | "optOut">,
    /** The template decision the caller's precheck took for this request (templatePrecheck), not taken again. */
    template?: KnownTemplateDecision | null,
  ): Promise<SendDecision> {
    const { windowExpiresAt, optOut } =
      candidate ??
      (await this.state.candidate(clientId, candidateKeyOf(request), [
        request.candidatePhone,
        request.candidateUserId,
      ]));
    const plan = await planSend({
      request,
      client,
      conversation: { windowExpiresAt },
      templates: this.caches.templatesOf(client.wabaId),
      prices: this.prices,
      estimate: true,
      template,
    });
    // The candidate opted out (opt-outs/opt-out-rule.ts): refused, nothing stored or queued.
    const optedOut = optOutRefusal(optOut, optOutShapeOf(plan));
    if (optedOut) return { optedOut, plan };
    return { optedOut: null, plan, ...plannedKindAndCost(plan) };
  }

  /** The protections' view of a client (one MGET), to gate many sends of it with one read; null without a gate. */
  async viewOf(client: SendClient): Promise<ProtectionView | undefined> {
    return this.gate ? this.gate.state.view(client) : undefined;
  }

  /**
   * The sending protections' decision for a planned send (null: none apply, or no gate here);
   * `view`: the protections read with the candidate's state (else read here).
   */
  gateOf(
    client: SendClient,
    request: OutboundRequest,
    plan: SendPlan,
    view?: ProtectionView,
  ): Promise<GateDecision | null> {
    return this.gate ? gateOfPlan(this.gate, client, request, plan, view) : Promise.resolve(null);
  }

  /** Gives back the budget place a gate decision counted, for a send that will not be queued after all. */
  async giveBack(decision: GateDecision | null): Promise<void> {
    if (this.gate && decision && decision.action !== "hold")
      await this.gate.giveBackReservation(decision.reservation).catch(() => undefined);
  }

  /** What the job carries for the worker to store and send. */
  acceptedOf(
    request: OutboundRequest,
    idempotencyKey: string | null,
    decision: PlannedSend,
    gated: GateDecision | null,
    extra: Pick<AcceptedSend, "campaignId"> = {},
  ): AcceptedSend {
    const planned = sendRecordOf(decision.plan);
    const reservation = gated && gated.action !== "hold" ? gated.reservation : undefined;
    return {
      request,
      idempotencyKey,
      kind: decision.kind,
      cost: decision.cost,
      costCategory: decision.costCategory,
      planned: planned ? { text: planned.text, template: planned.template } : null,
      acceptedAt: Date.now(),
      ...extra,
      ...(reservation ? { budget: reservation } : {}),
    };
  }
}
