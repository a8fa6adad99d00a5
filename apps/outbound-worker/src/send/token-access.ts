import type { ClientDoc } from "@linkojob/db";
import type { TokenVault } from "@linkojob/vault";

/**
 * The one place the outbound worker touches a tenant's access token: decrypted with the vault
 * (AES-256-GCM, @linkojob/vault) just before a Graph call, kept only in that call's scope, never
 * logged, never put in a job, an error or an event.
 */
export function clientAccessToken(vault: TokenVault, client: Pick<ClientDoc, "_id" | "accessToken">): string {
  // Bound to the client: a ciphertext copied from another client's document does not decrypt.
  return vault.decrypt(client.accessToken ?? null, client._id.toHexString());
}
