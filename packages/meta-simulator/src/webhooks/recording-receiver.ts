import type { IncomingHttpHeaders } from "node:http";
import Fastify from "fastify";

/** One POST as the receiver got it: the exact bytes and headers. */
export interface ReceivedPost {
  raw: Buffer;
  headers: IncomingHttpHeaders;
}

export interface RecordingReceiver {
  url: string;
  received: ReceivedPost[];
  close(): Promise<void>;
}

/**
 * A tiny real HTTP receiver that keeps every POST's raw bytes, for tests of what the simulator puts
 * on the wire. `answer` chooses the status of each POST (default 200).
 */
export async function startRecordingReceiver(
  answer: (post: ReceivedPost, index: number) => number = () => 200,
): Promise<RecordingReceiver> {
  const received: ReceivedPost[] = [];
  const app = Fastify({ logger: false, bodyLimit: 4 * 1024 * 1024 });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
  app.post("/*", async (request, reply) => {
    const post = { raw: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0), headers: request.headers };
    received.push(post);
    const status = answer(post, received.length - 1);
    return reply
      .code(status)
      .type("text/plain")
      .send(status === 200 ? "EVENT_RECEIVED" : `status ${status}`);
  });
  const address = await app.listen({ port: 0, host: "127.0.0.1" });
  return { url: `${address}/webhook`, received, close: () => app.close() };
}
