import type { Types } from "mongoose";
import type { FlowEndpointRepository, InterviewSlot } from "@linkojob/db";

/**
 * What the data-exchange endpoint answers for a screen: a small registry of handlers. A handler owns
 * some screens (the requests `data_exchange` and `BACK` from them come to it) and may be the one that
 * gives a `data_exchange` flow its first screen (`INIT`). An answer is Meta's `{ screen, data }`: the
 * next screen with its data, the same screen with `error_message` to show a problem, or the
 * terminal `SUCCESS` with `extension_message_response.params` to close the flow (Meta then sends the
 * candidate's `nfm_reply` with those params, which the inbound path stores as the form's answers).
 */

export interface FlowExchangeContext {
  clientId: Types.ObjectId;
  /** The token of the flow message the candidate opened (checked: one this client sent). */
  flowToken: string;
  /** The flow the token names (our `lj1.<flowId>.…` tokens), when it names one. */
  flowId: string | null;
  action: "INIT" | "BACK" | "data_exchange";
  /** The screen the request comes from (absent on INIT). */
  screen: string | null;
  data: Record<string, unknown>;
  now: Date;
}

export interface FlowExchangeAnswer {
  screen: string;
  data: Record<string, unknown>;
}

export interface FlowScreenHandler {
  /** The screens whose data_exchange and BACK requests come to this handler. */
  readonly screens: readonly string[];
  /** The first screen of a flow opened with `flow_action: "data_exchange"`. */
  init?(ctx: FlowExchangeContext): Promise<FlowExchangeAnswer>;
  back?(ctx: FlowExchangeContext): Promise<FlowExchangeAnswer>;
  exchange(ctx: FlowExchangeContext): Promise<FlowExchangeAnswer>;
}

/** No handler for a request: the endpoint answers 404-like to Meta (the client shows its error). */
export class NoFlowHandlerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NoFlowHandlerError";
  }
}

export class FlowScreenRegistry {
  private readonly byScreen = new Map<string, FlowScreenHandler>();
  private initial: FlowScreenHandler | null = null;

  /** Adds a handler; `initial` makes it answer INIT (the first one registered with init does otherwise). */
  register(handler: FlowScreenHandler, options: { initial?: boolean } = {}): this {
    for (const screen of handler.screens) {
      if (this.byScreen.has(screen)) throw new Error(`screen ${screen} already has a handler`);
      this.byScreen.set(screen, handler);
    }
    if (handler.init && (options.initial || !this.initial)) this.initial = handler;
    return this;
  }

  async answer(ctx: FlowExchangeContext): Promise<FlowExchangeAnswer> {
    if (ctx.action === "INIT") {
      if (!this.initial?.init) throw new NoFlowHandlerError("no handler gives a first screen");
      return this.initial.init(ctx);
    }
    const handler = ctx.screen ? this.byScreen.get(ctx.screen) : undefined;
    if (!handler) throw new NoFlowHandlerError(`no handler for the screen ${ctx.screen ?? "(none)"}`);
    if (ctx.action === "BACK") return handler.back ? handler.back(ctx) : (handler.init?.(ctx) ?? handler.exchange(ctx));
    return handler.exchange(ctx);
  }
}

/** The screen the interview-slots handler answers for, as a flow's JSON names it. */
export const INTERVIEW_SLOTS_SCREEN = "INTERVIEW_SLOTS";
/** Meta's RadioButtonsGroup shows at most 20 options. */
export const MAX_SLOTS_OFFERED = 20;

/**
 * Interview slots offered from the platform: the client's upcoming slots (set by the platform with
 * `PUT /api/clients/:clientId/flows/interview-slots`), soonest first, at most 20, as the data source
 * of the INTERVIEW_SLOTS screen (`slots: [{ id, title, description? }]`, `has_slots`). The candidate's
 * choice (`data.slot`) closes the flow with `{ slot_id, slot_title, slot_starts_at }`; a slot no longer
 * offered (passed, or withdrawn meanwhile) shows the screen again with an error message.
 */
export class InterviewSlotsHandler implements FlowScreenHandler {
  readonly screens = [INTERVIEW_SLOTS_SCREEN] as const;

  constructor(private readonly endpoints: FlowEndpointRepository) {}

  private async offered(clientId: Types.ObjectId, now: Date): Promise<InterviewSlot[]> {
    const doc = await this.endpoints.get(clientId);
    return (doc?.interviewSlots ?? [])
      .filter((s) => new Date(s.startsAt).getTime() > now.getTime())
      .sort((a, b) => new Date(a.startsAt).getTime() - new Date(b.startsAt).getTime())
      .slice(0, MAX_SLOTS_OFFERED);
  }

  private async screen(ctx: FlowExchangeContext, errorMessage?: string): Promise<FlowExchangeAnswer> {
    const slots = await this.offered(ctx.clientId, ctx.now);
    return {
      screen: INTERVIEW_SLOTS_SCREEN,
      data: {
        slots: slots.map((s) => ({
          id: s.id,
          title: s.title,
          ...(s.description ? { description: s.description } : {}),
        })),
        has_slots: slots.length > 0,
        ...(errorMessage ? { error_message: errorMessage } : {}),
      },
    };
  }

  init(ctx: FlowExchangeContext) {
    return this.screen(ctx);
  }

  back(ctx: FlowExchangeContext) {
    return this.screen(ctx);
  }

  async exchange(ctx: FlowExchangeContext): Promise<FlowExchangeAnswer> {
    const chosen = typeof ctx.data.slot === "string" ? ctx.data.slot : null;
    if (!chosen) return this.screen(ctx, "Choisissez un créneau.");
    const slot = (await this.offered(ctx.clientId, ctx.now)).find((s) => s.id === chosen);
    if (!slot) return this.screen(ctx, "Ce créneau n'est plus disponible : choisissez-en un autre.");
    return {
      screen: "SUCCESS",
      data: {
        extension_message_response: {
          params: {
            flow_token: ctx.flowToken,
            slot_id: slot.id,
            slot_title: slot.title,
            slot_starts_at: new Date(slot.startsAt).toISOString(),
          },
        },
      },
    };
  }
}
