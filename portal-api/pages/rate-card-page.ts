import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { RateCardVersion } from "../../controller/api/ratecard.ts";
import type { LocalisedName } from "../eservice-directory.ts";
import {
  formatDateTime,
  formatMoney,
  formatPrice,
  localePath,
  locales,
  localised,
  messagesFor,
} from "./i18n.ts";
import { sendPage, sendRefusal } from "./render.ts";
import type { SignedInKit } from "./signed-in.ts";

// The rate card in force, for finance and for anyone signed in: each unit price exactly, the shared services'
// plan fees (the rate card's own price for a plan where it sets one, else the catalogue's), and every
// version with when it took or takes effect.

interface RateCardAnswer {
  currency: string;
  allocationMode: string;
  inForce: RateCardVersion | null;
  versions: RateCardVersion[];
}

interface CatalogueAnswer {
  items: {
    name: string;
    displayName: LocalisedName;
    plans: { name: string; displayName: LocalisedName; priceMinorPerMonth: number }[];
  }[];
}

const unitPriceKeys = [
  "cpuCoreHour",
  "memoryGiBHour",
  "storageGiBMonth",
  "publicEndpointMonth",
  "eServiceMonth",
] as const;

export function rateCardPage(kit: SignedInKit, settings: { timeZone: string }): FastifyPluginAsyncTypebox {
  return async (app) => {
    for (const locale of locales) {
      app.get(
        localePath(locale, "/rate-card"),
        { config: { public: true }, schema: { hide: true } },
        async (request, reply) => {
          const session = await kit.signedIn(request, reply);
          if (!session) return reply;
          const context = kit.context(session, reply, locale);
          const t = messagesFor(locale);
          const [card, catalogue] = await Promise.all([
            kit.call(session, "/api/v1/rate-card"),
            kit.call(session, "/api/v1/catalogue/shared-services"),
          ]);
          if (card.status !== 200) return sendRefusal(reply, context, card.status);
          const { currency, allocationMode, inForce, versions } = card.body as RateCardAnswer;
          const services = catalogue.status === 200 ? (catalogue.body as CatalogueAnswer).items : [];
          const planRows = services.flatMap((service) =>
            service.plans.map((plan) => {
              const own = inForce?.sharedServicePlanMonth?.[`${service.name}/${plan.name}`];
              return {
                name: `${localised(service.displayName, locale)}: ${localised(plan.displayName, locale)}`,
                price: own
                  ? formatPrice(own, currency, locale)
                  : formatMoney(plan.priceMinorPerMonth, currency, locale),
              };
            }),
          );
          const unitRows = (version: RateCardVersion) =>
            unitPriceKeys.map((key) => ({
              name: t.unitPrices[key] ?? key,
              price: formatPrice(version[key], currency, locale),
            }));
          return sendPage(reply, 200, "./rate-card", context, t.rateCardTitle, {
            path: "/rate-card",
            allocation: t.allocationMode(allocationMode),
            inForce: inForce
              ? {
                  since: formatDateTime(inForce.validFrom, locale, settings.timeZone),
                  rows: unitRows(inForce),
                }
              : undefined,
            planRows,
            versions: versions.map((version, index) => ({
              id: `version-${index + 1}`,
              from: formatDateTime(version.validFrom, locale, settings.timeZone),
              rows: unitRows(version),
            })),
          });
        },
      );
    }
  };
}
