import { Types } from "mongoose";
import { describe, expect, it } from "vitest";
import { accountUpdateValueSchema } from "@linkojob/whatsapp";
import { readAccountUpdate } from "./account-update.js";
import { connectFields, connectTransition, connectedChange, sameStatusChange } from "./client-lifecycle.js";

const read = (value: unknown) => readAccountUpdate(accountUpdateValueSchema.parse(value));

describe("the connect transition", () => {
  it("stores active without a reason, clears the holds, and announces CONNECTED or RECONNECTED", () => {
    const at = new Date("2026-01-02T03:04:05Z");
    const first = connectTransition(false, at);
    expect(connectFields(first)).toEqual({
      status: "active",
      statusReason: null,
      statusDetail: null,
      statusChangedAt: at,
      reauthRequiredAt: null,
      connectedAt: at,
      disconnectedAt: null,
    });
    const _id = new Types.ObjectId();
    const change = connectedChange(
      { _id, userId: "recruiter-1", phoneNumberId: "111", wabaId: "w1" },
      "pending",
      first,
    );
    expect(change).toEqual({
      clientId: _id.toHexString(),
      userId: "recruiter-1",
      phoneNumberId: "111",
      wabaId: "w1",
      status: "active",
      previousStatus: "pending",
      reason: "CONNECTED",
      detail: null,
      at,
      changed: true,
    });
    expect(connectTransition(true, at).target.reason).toBe("RECONNECTED");
  });

  it("announces a client whose status stays with its stored reason, or the one given", () => {
    const client = {
      _id: new Types.ObjectId(),
      userId: "u",
      phoneNumberId: "1",
      wabaId: "w",
      status: "reauth_required" as const,
      statusReason: "TOKEN_INVALID",
      statusDetail: "expired",
    };
    expect(sameStatusChange(client)).toMatchObject({
      status: "reauth_required",
      previousStatus: "reauth_required",
      reason: "TOKEN_INVALID",
      detail: "expired",
      changed: true,
    });
    expect(sameStatusChange(client, new Date(), { reason: "QUALITY_FLAGGED", detail: null })).toMatchObject({
      reason: "QUALITY_FLAGGED",
      detail: null,
    });
  });
});

describe("reading account_update", () => {
  it("maps each event to its transition", () => {
    expect(read({ event: "PARTNER_REMOVED" })).toEqual({ action: "disconnected", detail: null });
    expect(read({ event: "ACCOUNT_OFFBOARDED" }).action).toBe("reauth_required");
    expect(read({ event: "ACCOUNT_RECONNECTED" })).toEqual({ action: "active", detail: null });
    expect(
      read({ event: "DISABLED_UPDATE", ban_info: { waba_ban_state: "DISABLE", waba_ban_date: "2026-01-01" } }),
    ).toEqual({ action: "reauth_required", detail: "account disabled on 2026-01-01" });
    expect(read({ event: "DISABLED_UPDATE", ban_info: { waba_ban_state: "REINSTATE" } })).toEqual({
      action: "active",
      detail: null,
      fromReasons: ["DISABLED_UPDATE"],
    });
    expect(read({ event: "DISABLED_UPDATE", ban_info: { waba_ban_state: "SCHEDULE_FOR_DISABLE" } }).action).toBe(
      "none",
    );
    expect(
      read({
        event: "ACCOUNT_RESTRICTION",
        restriction_info: [{ restriction_type: "RESTRICTED_ADD_PHONE_NUMBER_ACTION", expiration: 1767225600 }],
      }),
    ).toEqual({ action: "reauth_required", detail: "RESTRICTED_ADD_PHONE_NUMBER_ACTION until 1767225600" });
    expect(read({ event: "ACCOUNT_RESTRICTION", restriction_info: [] })).toEqual({
      action: "active",
      detail: null,
      fromReasons: ["ACCOUNT_RESTRICTION"],
    });
    expect(read({ event: "ACCOUNT_VIOLATION" }).action).toBe("none");
  });
});
