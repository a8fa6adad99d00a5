import { randomInt } from "node:crypto";
import { Types } from "mongoose";
import {
  clientJson,
  isDuplicateKeyError,
  sameUser,
  toObjectId,
  userIdValue,
  type ClientDoc,
  type ClientJson,
  type ClientStatus,
  type Database,
} from "@linkojob/db";
import type { RedisClient } from "@linkojob/queues";
import { VaultError, type TokenVault } from "@linkojob/vault";
import {
  GraphApiError,
  classifyGraphError,
  debugToken,
  exchangeCodeForToken,
  grantedWabaIds,
  listPhoneNumbers,
  needsRegistration,
  normalizePhone,
  registerPhoneNumber,
  subscribeApp,
  unsubscribeApp,
  type AppCredentials,
  type GraphClient,
  type PhoneNumberInfo,
} from "@linkojob/whatsapp";
import {
  ACCOUNT_HOLD_REASON_LIST,
  CLIENT_STATUS_REASONS,
  connectFields,
  connectTransition,
  connectedChange,
  holdCauseGone,
  markClientDisconnected,
  sameStatusChange,
  type ClientStatusAnnouncer,
} from "@linkojob/outbound";
import { ConnectLock } from "./connect-lock.js";
import { OnboardingError, onboardingErrorFromGraph } from "./onboarding-error.js";

/**
 * Template sync on connect belongs to the outbound work. When its sync exists, pass it as
 * `templateSync`: onboarding calls it after every successful connect. Absent, nothing happens. A
 * failing sync is logged and never fails the connection (the scheduled sync catches up).
 */
export interface TemplateSyncHook {
  syncTemplatesForClient(client: { clientId: string; wabaId: string; phoneNumberId: string }): Promise<void>;
}

export interface OnboardingLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface OnboardingServiceDeps {
  db: Database;
  graph: GraphClient;
  vault: TokenVault;
  app: AppCredentials;
  announcer: ClientStatusAnnouncer;
  /** For the per-number connect lock. */
  redis: RedisClient;
  /** Prefix of this deployment's Redis keys. */
  keyPrefix: string;
  templateSync?: TemplateSyncHook;
  log?: OnboardingLogger;
  /** Logged at error level: a stored token that cannot be decrypted. */
  error?: (obj: object, msg: string) => void;
}

export interface ConnectInput {
  userId: string;
  /** The business token (from the code exchange, or given by an operator). Never logged. */
  accessToken: string;
  /** When known (popup flow's WA_EMBEDDED_SIGNUP message, manual connection): must be granted to the token. */
  wabaId?: string;
  phoneNumberId?: string;
  /** Manual connection: the number the operator expects, checked against Meta's. */
  whatsappNumber?: string;
  companyName?: string;
}

export interface ConnectResult {
  client: ClientJson;
  /** The client existed (same user, same number) and was connected again. */
  reconnected: boolean;
  /** The platform registered the number on the Cloud API during this connection. */
  registered: boolean;
}

export interface DisconnectResult {
  alreadyDisconnected: boolean;
  /** The WABA's webhook subscription was removed (no other connected client uses that WABA). */
  unsubscribed: boolean;
}

interface Candidate {
  wabaId: string;
  phone: PhoneNumberInfo;
}

const digits = (s: string) => s.replace(/\D/g, "");

/** The phoneNumberId a disconnected client keeps once another owner claims its number. */
export const releasedPhoneNumberId = (phoneNumberId: string, at: Date) => `released:${phoneNumberId}:${at.getTime()}`;

/**
 * Frees a disconnected client's number for a new owner: the client (its conversations and messages
 * stay attached to it) keeps a released phoneNumberId, so the unique index lets the new client in and
 * webhooks for the number route to the new owner. Guarded by the status and number it read.
 */
async function releaseNumber(db: Database, client: ClientDoc): Promise<void> {
  const at = new Date();
  const res = await db.clients.updateOne(
    { _id: client._id, phoneNumberId: client.phoneNumberId, status: "disconnected" },
    {
      $set: {
        phoneNumberId: releasedPhoneNumberId(client.phoneNumberId, at),
        statusDetail: "number claimed by another account",
        statusChangedAt: at,
      },
    },
  );
  if (res.modifiedCount !== 1) throw new OnboardingError("NUMBER_TAKEN");
}

/**
 * Connecting a recruiter's WhatsApp number: code exchange, token check (debug_token), WABA and number
 * discovery, webhook subscription, registration, encrypted storage, announcement. Also disconnection
 * and the connection check. The order matters: every check that can refuse (token, WABA, number,
 * ownership) runs before anything changes at Meta or in the database.
 */
export class OnboardingService {
  private readonly lock: ConnectLock;
  constructor(private readonly deps: OnboardingServiceDeps) {
    this.lock = new ConnectLock(deps.redis, { keyPrefix: deps.keyPrefix });
  }

  /** Embedded Signup: exchange the code at once (it lives about 30 s), then connect with the token. */
  async connectWithCode(
    input: Omit<ConnectInput, "accessToken"> & { code: string; redirectUri?: string },
  ): Promise<ConnectResult> {
    let accessToken: string;
    try {
      ({ accessToken } = await exchangeCodeForToken(this.deps.graph, this.deps.app, {
        code: input.code,
        ...(input.redirectUri ? { redirectUri: input.redirectUri } : {}),
      }));
    } catch (err) {
      if (err instanceof GraphApiError && err.code === 100 && err.subcode === 36007)
        throw new OnboardingError("CODE_EXPIRED");
      if (err instanceof GraphApiError && err.code === 100 && err.subcode === 36009)
        throw new OnboardingError("CODE_USED");
      const mapped = onboardingErrorFromGraph(err, "CODE_EXCHANGE_FAILED");
      throw mapped.code === "TOKEN_INVALID" ? new OnboardingError("CODE_EXCHANGE_FAILED", mapped.details) : mapped;
    }
    const { code: _code, redirectUri: _r, ...rest } = input;
    return this.connectWithToken({ ...rest, accessToken });
  }

  /** Checks a business token against the Graph API and connects the number it gives access to. */
  async connectWithToken(input: ConnectInput): Promise<ConnectResult> {
    const { graph, app } = this.deps;
    const token = input.accessToken;

    // 1. The token: valid, ours, and which WABAs it reaches.
    const info = await debugToken(graph, app, token).catch((err: unknown) => {
      throw onboardingErrorFromGraph(err);
    });
    if (!info.isValid)
      throw new OnboardingError("TOKEN_INVALID", info.error?.message ? { metaMessage: info.error.message } : undefined);
    // Meta must name our app: a token of another app (or one debug_token cannot attribute) is refused.
    if (info.appId !== app.appId) throw new OnboardingError("TOKEN_WRONG_APP");
    // The WABAs come from the grants Meta reports, never from the caller alone: an empty grant list
    // proves nothing, and a WABA named by the page must be among the granted ones.
    const granted = grantedWabaIds(info);
    if (granted.length === 0) throw new OnboardingError("NO_WABA_GRANTED");
    let wabaIds: string[];
    if (input.wabaId) {
      if (!granted.includes(input.wabaId)) throw new OnboardingError("WABA_NOT_GRANTED");
      wabaIds = [input.wabaId];
    } else {
      wabaIds = granted;
    }

    // 2. The number.
    const candidates: Candidate[] = [];
    for (const wabaId of wabaIds) {
      const phones = await listPhoneNumbers(graph, token, wabaId).catch((err: unknown) => {
        throw onboardingErrorFromGraph(err);
      });
      for (const phone of phones) candidates.push({ wabaId, phone });
    }
    const chosen = await this.choose(candidates, input);
    return this.lock.run(chosen.phone.id, () => this.connectNumber(input, chosen, info.expiresAt));
  }

  /** Steps 3-8, under the number's connect lock. */
  private async connectNumber(
    input: ConnectInput,
    chosen: Candidate,
    tokenExpiresAt: Date | null,
  ): Promise<ConnectResult> {
    const { db, graph, vault } = this.deps;
    const token = input.accessToken;
    const { wabaId, phone } = chosen;

    // 3. Ownership: a number connected to another tenant is never taken over. A number its owner
    // disconnected can be claimed by whoever proves access at Meta now (debug_token granted this
    // token its WABA, checked above): the old client keeps its history under a released number.
    let existing: ClientDoc | null = await db.clients.findOne({ phoneNumberId: phone.id }).lean<ClientDoc>();
    if (existing && !sameUser(existing.userId, input.userId)) {
      if (existing.status !== "disconnected") throw new OnboardingError("NUMBER_TAKEN");
      await releaseNumber(db, existing);
      this.deps.log?.info(
        { clientId: existing._id.toHexString(), phoneNumberId: phone.id, userId: input.userId },
        "disconnected number claimed by a new owner",
      );
      existing = null;
    }

    // 4. Webhooks of the WABA to our app (per WABA, idempotent at Meta).
    const subscribed = await subscribeApp(graph, token, wabaId).catch((err: unknown) => {
      throw onboardingErrorFromGraph(err, "SUBSCRIBE_FAILED");
    });
    if (!subscribed) throw new OnboardingError("SUBSCRIBE_FAILED");

    // The client's id is known before it is stored, so that its secrets are encrypted bound to it.
    const clientObjectId = existing?._id ?? new Types.ObjectId();
    const clientKey = clientObjectId.toHexString();

    // 5. Registration on the Cloud API when the number is not registered yet. The PIN becomes the
    // number's two-step verification PIN: kept (encrypted) so that a later re-registration works.
    let registered = false;
    let pinSecret = existing?.registrationPin ?? null;
    if (needsRegistration(phone)) {
      let pin: string | null = null;
      if (pinSecret) {
        try {
          pin = vault.decrypt(pinSecret, clientKey);
        } catch {
          pin = null;
        }
      }
      if (!pin) {
        pin = String(randomInt(0, 1_000_000)).padStart(6, "0");
        pinSecret = vault.encrypt(pin, clientKey);
      }
      await registerPhoneNumber(graph, token, phone.id, pin).catch((err: unknown) => {
        const mapped = onboardingErrorFromGraph(err, "REGISTRATION_FAILED");
        throw mapped.code === "META_ERROR" ? new OnboardingError("REGISTRATION_FAILED", mapped.details) : mapped;
      });
      registered = true;
    }

    // 6. Store: the token encrypted, with its expiry, and the lifecycle's connect transition (status
    // active, holds and disconnection cleared) in the same write. The unique index on
    // phoneNumberId settles a race between two recruiters: the second insert fails → NUMBER_TAKEN.
    // The owner is matched as stored (a string, or an ObjectId in the platform's form) and written in the
    // platform's form (userIdValue: an ObjectId for a 24-hex id). The expiry is written under both names:
    // `tokenExpiry` is the platform's, which documents written elsewhere hold and the platform may read.
    const storedOwner = existing ? existing.userId : userIdValue(input.userId);
    const connect = connectTransition(!!existing);
    const whatsappNumber =
      normalizePhone(phone.displayPhoneNumber) ??
      (digits(phone.displayPhoneNumber) || digits(input.whatsappNumber ?? ""));
    const companyName = input.companyName ?? existing?.companyName ?? phone.verifiedName ?? phone.displayPhoneNumber;
    let doc: ClientDoc | null;
    try {
      doc = await db.clients
        .findOneAndUpdate(
          { phoneNumberId: phone.id, userId: storedOwner },
          {
            $set: {
              userId: userIdValue(input.userId),
              companyName,
              wabaId,
              whatsappNumber,
              displayPhoneNumber: phone.displayPhoneNumber,
              verifiedName: phone.verifiedName,
              qualityRating: phone.qualityRating,
              ...connectFields(connect),
              accessToken: vault.encrypt(token, clientKey),
              tokenExpiresAt,
              tokenExpiry: tokenExpiresAt,
              tokenExpiryWarnedAt: null,
              registrationPin: pinSecret,
              ...(phone.throughputLevel === "HIGH" ? { throughputMps: 1000 } : {}),
            },
            $setOnInsert: { _id: clientObjectId, phoneNumberId: phone.id },
          },
          { upsert: true, new: true, setDefaultsOnInsert: true },
        )
        .lean<ClientDoc>();
    } catch (err) {
      if (isDuplicateKeyError(err)) throw new OnboardingError("NUMBER_TAKEN");
      throw err;
    }
    if (!doc) throw new Error("the client upsert returned nothing");

    const clientId = doc._id.toHexString();
    const previousStatus: ClientStatus = existing?.status ?? "pending";
    this.deps.log?.info(
      { clientId, userId: input.userId, wabaId, phoneNumberId: phone.id, registered, reconnected: !!existing },
      existing ? "client reconnected" : "client connected",
    );

    // 7. Templates (outbound issue's sync, when wired).
    if (this.deps.templateSync) {
      try {
        await this.deps.templateSync.syncTemplatesForClient({ clientId, wabaId, phoneNumberId: phone.id });
      } catch (err) {
        this.deps.log?.warn({ err, clientId }, "template sync after connect failed");
      }
    }

    // 8. Announce: dashboards see the status, caches drop the client, held sends resume.
    await this.deps.announcer.statusChanged(
      connectedChange({ _id: doc._id, userId: input.userId, phoneNumberId: phone.id, wabaId }, previousStatus, connect),
    );
    return { client: clientJson(doc), reconnected: !!existing, registered };
  }

  private async choose(candidates: Candidate[], input: ConnectInput): Promise<Candidate> {
    if (candidates.length === 0) throw new OnboardingError("NO_PHONE_NUMBER");
    const wantedDigits = input.whatsappNumber
      ? (normalizePhone(input.whatsappNumber) ?? digits(input.whatsappNumber))
      : null;
    const matchesNumber = (c: Candidate) => {
      const d = normalizePhone(c.phone.displayPhoneNumber) ?? digits(c.phone.displayPhoneNumber);
      return d === wantedDigits;
    };
    if (input.phoneNumberId) {
      const found = candidates.find((c) => c.phone.id === input.phoneNumberId);
      if (!found) throw new OnboardingError("PHONE_NUMBER_NOT_FOUND");
      if (wantedDigits && !matchesNumber(found)) throw new OnboardingError("PHONE_NUMBER_MISMATCH");
      return found;
    }
    if (wantedDigits) {
      const found = candidates.find(matchesNumber);
      if (!found) throw new OnboardingError("PHONE_NUMBER_NOT_FOUND");
      return found;
    }
    if (candidates.length === 1) return candidates[0]!;
    // Several numbers and none named (redirect flow): the one not yet connected to anybody, if unique.
    const owned = await this.deps.db.clients
      .find({ phoneNumberId: { $in: candidates.map((c) => c.phone.id) } }, { phoneNumberId: 1 })
      .lean();
    const free = candidates.filter((c) => !owned.some((o) => o.phoneNumberId === c.phone.id));
    if (free.length === 1) return free[0]!;
    throw new OnboardingError("PHONE_NUMBER_AMBIGUOUS", {
      phoneNumbers: candidates.map((c) => ({
        phoneNumberId: c.phone.id,
        displayPhoneNumber: c.phone.displayPhoneNumber,
        wabaId: c.wabaId,
      })),
    });
  }

  /**
   * Disconnects a client: status `disconnected`, `disconnectedAt`, token wiped. The WABA's webhook
   * subscription is removed only when no other client of that WABA is still connected (a WABA can
   * hold several numbers, and reauth_required clients still receive their candidates' messages).
   */
  async disconnect(clientId: Types.ObjectId | string): Promise<DisconnectResult> {
    const { db, graph, vault } = this.deps;
    const id = toObjectId(clientId, "clientId");
    const doc = await db.clients.findById(id).lean<ClientDoc>();
    if (!doc) throw new OnboardingError("NOT_CONNECTED");
    if (doc.status === "disconnected") return { alreadyDisconnected: true, unsubscribed: false };

    let token: string | null = null;
    try {
      token = doc.accessToken ? vault.decrypt(doc.accessToken, id.toHexString()) : null;
    } catch (err) {
      this.deps.log?.warn(
        { err, clientId: id.toHexString() },
        "stored token unreadable; disconnecting without unsubscribing",
      );
    }
    const change = await markClientDisconnected(db, id, CLIENT_STATUS_REASONS.userDisconnected);
    if (!change?.changed) return { alreadyDisconnected: true, unsubscribed: false };

    // Counted after our own write, so that two numbers of one WABA disconnecting at once both see 0
    // and the subscription goes (DELETE is idempotent), rather than both seeing 1 and it staying.
    // A document written as the platform writes it names no WABA: there is no subscription to judge.
    let unsubscribed = false;
    const others = doc.wabaId
      ? await db.clients.countDocuments({ wabaId: doc.wabaId, _id: { $ne: id }, status: { $ne: "disconnected" } })
      : -1;
    if (others === 0 && token) {
      try {
        unsubscribed = await unsubscribeApp(graph, token, doc.wabaId);
      } catch (err) {
        // The token may already be revoked (that is often why people disconnect): nothing to undo.
        this.deps.log?.warn({ err, clientId: id.toHexString(), wabaId: doc.wabaId }, "webhook unsubscription failed");
      }
    }
    await this.deps.announcer.statusChanged(change);
    return { alreadyDisconnected: false, unsubscribed };
  }

  /**
   * Checks a client's token against Meta (its WABA's phone numbers, the cheapest call that needs
   * it). A 190/0 answer marks the client `reauth_required` and announces it; the same handling any
   * caller of the Graph API applies (see reportTokenFailure). A client written as the platform writes it
   * names no WABA: the check first finds it (findWaba).
   */
  async checkConnection(clientId: Types.ObjectId | string): Promise<{ ok: boolean; client: ClientJson }> {
    const { db, graph } = this.deps;
    const id = toObjectId(clientId, "clientId");
    const doc = await db.clients.findById(id).lean<ClientDoc>();
    if (!doc) throw new OnboardingError("NOT_CONNECTED");
    if (doc.status === "disconnected" || !doc.accessToken) return { ok: false, client: clientJson(doc) };
    const token = this.readToken(doc);
    try {
      if (!doc.wabaId) {
        const wabaId = await this.findWaba(doc, token);
        if (!wabaId) return { ok: false, client: clientJson((await db.clients.findById(id).lean<ClientDoc>())!) };
        doc.wabaId = wabaId;
      }
      const phones = await listPhoneNumbers(graph, token, doc.wabaId);
      const phone = phones.find((p) => p.id === doc.phoneNumberId);
      if (phone) {
        await db.clients.updateOne(
          { _id: id },
          { $set: { qualityRating: phone.qualityRating, verifiedName: phone.verifiedName } },
        );
        // Sends paused for an account-level refusal resume on a check only when Meta's answer proves
        // the cause gone (holdCauseGone: a registration); the others wait for account_update or the
        // timed re-check, or every check would release the held sends into a pause that still stands.
        if (
          doc.status === "reauth_required" &&
          (ACCOUNT_HOLD_REASON_LIST as string[]).includes(doc.statusReason ?? "") &&
          holdCauseGone(doc.statusReason, phone)
        ) {
          await this.deps.announcer.markActive(id, "RESUMED_BY_CHECK", { fromReasons: ACCOUNT_HOLD_REASON_LIST });
        }
      }
    } catch (err) {
      if (!(await this.reportTokenFailure(id, err))) throw onboardingErrorFromGraph(err);
    }
    const fresh = (await db.clients.findById(id).lean<ClientDoc>())!;
    return { ok: fresh.status === "active", client: clientJson(fresh) };
  }

  /**
   * The WABA of a client that names none (its document was written as the platform writes it, by the
   * platform or the proof of concept): among the WABAs debug_token says its token was granted, the
   * one whose phone numbers include the client's number. Stored (only while still missing), then the
   * templates are synced and the change announced so that caches drop the client. Returns null when
   * the token is no longer valid (the client is then marked reauth_required) or no granted WABA holds
   * the number (PHONE_NUMBER_NOT_FOUND).
   */
  private async findWaba(doc: ClientDoc, token: string): Promise<string | null> {
    const { db, graph, app } = this.deps;
    const info = await debugToken(graph, app, token);
    if (!info.isValid) {
      await this.deps.announcer.markReauthRequired(doc._id, CLIENT_STATUS_REASONS.tokenInvalid, {
        detail: info.error?.message ?? "the token is no longer valid",
      });
      return null;
    }
    for (const wabaId of grantedWabaIds(info)) {
      const phone = (await listPhoneNumbers(graph, token, wabaId)).find((p) => p.id === doc.phoneNumberId);
      if (!phone) continue;
      const res = await db.clients.updateOne(
        { _id: doc._id, wabaId: null },
        {
          $set: {
            wabaId,
            displayPhoneNumber: phone.displayPhoneNumber,
            verifiedName: phone.verifiedName,
            qualityRating: phone.qualityRating,
          },
        },
      );
      const clientId = doc._id.toHexString();
      this.deps.log?.info(
        { clientId, wabaId, phoneNumberId: doc.phoneNumberId },
        "WABA found for a client that named none",
      );
      if (res.modifiedCount === 1) {
        if (this.deps.templateSync) {
          try {
            await this.deps.templateSync.syncTemplatesForClient({ clientId, wabaId, phoneNumberId: doc.phoneNumberId });
          } catch (err) {
            this.deps.log?.warn({ err, clientId }, "template sync after finding the WABA failed");
          }
        }
        await this.deps.announcer.statusChanged(sameStatusChange({ ...doc, wabaId }));
      }
      return wabaId;
    }
    throw new OnboardingError("PHONE_NUMBER_NOT_FOUND");
  }

  /**
   * The client's token in clear. A ciphertext that fails authentication (tampered, truncated, or its
   * key removed from TOKEN_ENCRYPTION_KEY) is an error for operators, not a reason to change the
   * tenant's status: a configuration mistake must not flip every tenant to reauth_required.
   */
  private readToken(doc: ClientDoc): string {
    try {
      return this.deps.vault.decrypt(doc.accessToken, doc._id.toHexString());
    } catch (err) {
      if (!(err instanceof VaultError)) throw err;
      this.deps.error?.({ clientId: doc._id.toHexString(), vaultError: err.code }, "stored token cannot be decrypted");
      throw new OnboardingError("TOKEN_UNREADABLE", { vaultError: err.code });
    }
  }

  /**
   * What every caller of the Graph API does with a failure made with a tenant's token: a 190/0
   * (token expired, invalidated or revoked) marks the client `reauth_required` and announces it once.
   * Returns true when it was such a failure.
   */
  async reportTokenFailure(clientId: Types.ObjectId | string, err: unknown): Promise<boolean> {
    if (!classifyGraphError(err).reauth) return false;
    await this.deps.announcer.markReauthRequired(clientId, CLIENT_STATUS_REASONS.tokenInvalid, {
      detail: err instanceof Error ? err.message : null,
    });
    return true;
  }
}
