import { tokenExpiryOf, type ClientDoc, type ClientStatus } from "./client.model.js";
import { userIdString } from "./user-id.js";

/** A client as the API and dashboards see it: never the token, the PIN or any secret. */
export interface ClientJson {
  id: string;
  _id: string;
  /** Always a string: an ObjectId userId (the platform's form) as its hex. */
  userId: string;
  companyName: string;
  phoneNumberId: string;
  wabaId: string;
  whatsappNumber: string;
  displayPhoneNumber: string | null;
  verifiedName: string | null;
  qualityRating: string | null;
  status: ClientStatus;
  statusReason: string | null;
  statusDetail: string | null;
  /** Whether a token is stored (its value never leaves the vault). */
  hasToken: boolean;
  /** `tokenExpiresAt`, or the platform's `tokenExpiry` where that is absent. */
  tokenExpiresAt: string | null;
  connectedAt: string | null;
  disconnectedAt: string | null;
  updatedAt: string | null;
}

const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);

export function clientJson(c: ClientDoc): ClientJson {
  const id = c._id.toHexString();
  return {
    id,
    _id: id,
    userId: userIdString(c.userId),
    companyName: c.companyName,
    phoneNumberId: c.phoneNumberId,
    wabaId: c.wabaId,
    whatsappNumber: c.whatsappNumber,
    displayPhoneNumber: c.displayPhoneNumber ?? null,
    verifiedName: c.verifiedName ?? null,
    qualityRating: c.qualityRating ?? null,
    status: c.status,
    statusReason: c.statusReason ?? null,
    statusDetail: c.statusDetail ?? null,
    hasToken: !!c.accessToken,
    tokenExpiresAt: iso(tokenExpiryOf(c)),
    connectedAt: iso(c.connectedAt),
    disconnectedAt: iso(c.disconnectedAt),
    updatedAt: iso(c.updatedAt),
  };
}
