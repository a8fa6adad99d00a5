import { defineServiceProject } from "@linkojob/testing/vitest-preset";

// Pure crypto: no MongoDB or Redis needed (the stored form is tested in the ingress).
export default defineServiceProject("vault", { services: false });
