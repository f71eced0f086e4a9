import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import { type RateCard, RateCardSpec, RateCardVersion } from "../../controller/api/ratecard.ts";
import type { KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import type { ApiDependencies } from "../dependencies.ts";
import { problems } from "../problem.ts";
import { principalOf } from "./common.ts";
import { json, Nullable, responses } from "./schemas.ts";

// /rate-card: the prices metering charges, for everyone signed in (what a subscription or an e-service will
// cost is no secret inside the government). The version in force is the latest whose validFrom has passed.

const RateCardView = Type.Object({
  name: Type.String(),
  currency: Type.Index(RateCardSpec, ["currency"]),
  allocationMode: Type.Index(RateCardSpec, ["allocationMode"]),
  inForce: Nullable(RateCardVersion),
  versions: Type.Array(RateCardVersion, { description: "Every version, oldest first" }),
});

/** The version in force at `now`: the latest whose validFrom is not after it (none before the first). */
export function versionInForce<V extends { validFrom: string }>(versions: V[], now: number): V | undefined {
  return versions
    .filter((v) => Date.parse(v.validFrom) <= now)
    .sort((a, b) => Date.parse(a.validFrom) - Date.parse(b.validFrom))
    .at(-1);
}

export function rateCardRoutes(deps: ApiDependencies): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/rate-card",
      {
        schema: {
          tags: ["finance"],
          summary: "The rate card: the prices in force and every version",
          response: responses({ 200: json("The rate card", RateCardView) }, [401, 404, 429, 500, 503]),
        },
      },
      async (request) => {
        principalOf(request);
        const card = await deps.kube.find<RateCard & KubeObject>(resources.rateCard, deps.rateCard);
        if (!card)
          throw problems.notFound(
            `The rate card ${deps.rateCard} does not exist; a platform operator must install it`,
          );
        const versions = [...card.spec.versions].sort(
          (a, b) => Date.parse(a.validFrom) - Date.parse(b.validFrom),
        );
        return {
          name: deps.rateCard,
          currency: card.spec.currency,
          allocationMode: card.spec.allocationMode,
          inForce: versionInForce(versions, Date.now()) ?? null,
          versions,
        };
      },
    );
  };
}
