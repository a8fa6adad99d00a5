import { TEST_SECRETS } from "@linkojob/testing";
import { boundedJson, signWebhookBody } from "@linkojob/whatsapp";

/**
 * Posts a payload to the ingress as Meta would, signed with the app secret. The body is written
 * without recursion (20,000 levels of nesting stringify fine) and keeps own `__proto__` keys.
 */
export async function postSigned(ingressUrl: string, payload: unknown): Promise<{ status: number; body: string }> {
  const { text } = boundedJson(payload, 3 * 1024 * 1024);
  const res = await fetch(`${ingressUrl}/webhook`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-hub-signature-256": signWebhookBody(text, TEST_SECRETS.appSecret),
    },
    body: text,
  });
  return { status: res.status, body: await res.text() };
}
