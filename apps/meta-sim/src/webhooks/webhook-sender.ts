import { request } from "undici";
import { signWebhookBody } from "@linkojob/whatsapp";

export interface DeliveryResult {
  status: number;
  body: string;
}

/**
 * Sends webhook deliveries the way Meta does: a POST of the JSON body signed with the app secret
 * in X-Hub-Signature-256. Non-ASCII text is sent as UTF-8, as Meta does, and signed over those bytes.
 */
export class WebhookSender {
  constructor(
    private readonly appSecret: string,
    public targetUrl: string | undefined,
  ) {}

  async send(payload: unknown, opts: { signature?: string; targetUrl?: string } = {}): Promise<DeliveryResult> {
    const url = opts.targetUrl ?? this.targetUrl;
    if (!url) throw new Error("the simulator has no webhook target URL");
    const body = typeof payload === "string" ? payload : JSON.stringify(payload);
    const res = await request(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-hub-signature-256": opts.signature ?? signWebhookBody(body, this.appSecret),
        "user-agent": "facebookexternalua",
      },
      body,
    });
    return { status: res.statusCode, body: await res.body.text() };
  }
}
