import fp from "fastify-plugin";
import type { FastifyReply, FastifyRequest } from "fastify";
import { bearerToken, type JwtVerifier, type Principal, type Role } from "@linkojob/auth";
import { forbidden } from "../http/errors.js";

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal;
  }
  interface FastifyInstance {
    /** preHandler: requires a valid JWT (401 otherwise) and sets request.principal. */
    authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
    /** preHandler factory: requires one of the roles (403 otherwise). Use after authenticate. */
    requireRole: (...roles: Role[]) => (request: FastifyRequest) => Promise<void>;
  }
}

export const authPlugin = fp<{ verifier: JwtVerifier }>((app, { verifier }, done) => {
  app.decorateRequest("principal", null as unknown as Principal);
  app.decorate("authenticate", async (request: FastifyRequest) => {
    request.principal = await verifier.verify(bearerToken(request.headers.authorization));
  });
  app.decorate("requireRole", (...roles: Role[]) => (request: FastifyRequest) => {
    if (!roles.includes(request.principal.role))
      return Promise.reject(forbidden(`requires role ${roles.join(" or ")}`));
    return Promise.resolve();
  });
  done();
});
