import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply } from "fastify";
import Type from "typebox";
import {
  type Directory,
  type DirectoryEntry,
  type EServiceDirectory,
  publishedEntry,
} from "../eservice-directory.ts";
import {
  clusterName,
  formatDateTime,
  formatMonth,
  formatPercent,
  type Locale,
  localePath,
  locales,
  localised,
  messagesFor,
  standardName,
} from "./i18n.ts";
import { type PageContext, sendPage } from "./render.ts";

// The public pages: the one-stop catalogue of exposed e-services by service cluster, with search, and each
// e-service's page, in English (at /) and Traditional Chinese (at /zh-Hant). Server-rendered with Eta
// (escaped by default) and styled by the U.S. Web Design System's compiled CSS, served from the package;
// no script at all, so they work with JavaScript off and the Content-Security-Policy allows none.

const uswdsDist = dirname(dirname(fileURLToPath(import.meta.resolve("@uswds/uswds/css/uswds.min.css"))));
export const assetsPrefix = "/assets/uswds/";

interface PageSettings {
  timeZone: string;
  /** Sign-in is configured: public pages offer it. */
  signInAvailable: boolean;
}

/** A query people typed, as it is compared: Unicode-normalised, case-folded, spaces collapsed. */
const normalise = (text: string) => text.normalize("NFKC").toLocaleLowerCase().replace(/\s+/g, " ").trim();

function matches(entry: DirectoryEntry, query: string): boolean {
  const haystack = [
    entry.name,
    entry.department,
    entry.displayName.en,
    entry.displayName.zhHant,
    entry.departmentName.en,
    entry.departmentName.zhHant,
    entry.cluster,
    ...locales.map((locale) => clusterName(entry.cluster, locale)),
  ].map(normalise);
  return query.split(" ").every((word) => haystack.some((text) => text.includes(word)));
}

const pagePath = (locale: Locale, entry: DirectoryEntry) =>
  localePath(locale, `/eservices/${entry.namespace}/${entry.name}`);

/** An address to link to: only http(s), whatever a status says. */
const linkable = (url: string) => (/^https?:\/\//i.test(url) ? url : undefined);

/** The 404 page, in the language of the path asked for. */
export function sendNotFoundPage(reply: FastifyReply, path: string): FastifyReply {
  const locale: Locale = path === "/zh-Hant" || path.startsWith("/zh-Hant/") ? "zh-Hant" : "en";
  const t = messagesFor(locale);
  return sendPage(reply, 404, "./message", { locale }, t.notFoundTitle, { text: t.notFoundText });
}

function cataloguePage(directory: Directory, locale: Locale, rawQuery: string) {
  const query = normalise(rawQuery).slice(0, 100);
  const clusters = directory.clusters
    .map(({ cluster, services }) => ({
      id: cluster,
      name: clusterName(cluster, locale),
      services: services
        .filter((entry) => !query || matches(entry, query))
        .map((entry) => ({
          name: localised(entry.displayName, locale),
          department: localised(entry.departmentName, locale),
          page: pagePath(locale, entry),
        })),
    }))
    .filter((cluster) => cluster.services.length > 0);
  const count = clusters.reduce((sum, cluster) => sum + cluster.services.length, 0);
  return { clusters, count, query: rawQuery.trim().slice(0, 100) };
}

export function pageRoutes(directory: EServiceDirectory, settings: PageSettings): FastifyPluginAsyncTypebox {
  const context = (locale: Locale): PageContext => ({ locale, signInAvailable: settings.signInAvailable });
  return async (app) => {
    await app.register(fastifyStatic, {
      root: uswdsDist,
      prefix: assetsPrefix,
      decorateReply: false,
      index: false,
      // The compiled CSS and what it refers to; not the package's scripts or sources.
      allowedPath: (path) => /^\/(css|fonts|img)\//.test(path),
      maxAge: "1d",
      immutable: false,
    });
    const route = { config: { public: true }, schema: { hide: true } } as const;
    for (const locale of locales) {
      app.get(
        localePath(locale, "/"),
        {
          ...route,
          schema: { ...route.schema, querystring: Type.Object({ q: Type.Optional(Type.String()) }) },
        },
        async (request, reply) => {
          const page = cataloguePage(await directory.current(), locale, request.query.q ?? "");
          return sendPage(reply, 200, "./catalogue", context(locale), messagesFor(locale).catalogueTitle, {
            ...page,
            path: "/",
          });
        },
      );
      app.get(
        localePath(locale, "/eservices/:namespace/:name"),
        {
          ...route,
          schema: { ...route.schema, params: Type.Object({ namespace: Type.String(), name: Type.String() }) },
        },
        async (request, reply) => {
          const { namespace, name } = request.params;
          const entry = publishedEntry(await directory.current(), namespace, name);
          // Anything not published (unknown, internal, not yet exposed, withdrawn) is the same 404.
          if (!entry) return sendNotFoundPage(reply, request.url.split("?")[0] ?? "/");
          const serviceName = localised(entry.displayName, locale);
          return sendPage(reply, 200, "./eservice", context(locale), serviceName, {
            path: `/eservices/${entry.namespace}/${entry.name}`,
            service: {
              name: serviceName,
              department: localised(entry.departmentName, locale),
              cluster: clusterName(entry.cluster, locale),
              url: entry.url,
              href: linkable(entry.url),
              standard: standardName(entry.standard),
              scannedAtIso: entry.scannedAt,
              scannedAt: entry.scannedAt
                ? formatDateTime(entry.scannedAt, locale, settings.timeZone)
                : undefined,
              availability:
                entry.figures?.availabilityPercent !== undefined
                  ? messagesFor(locale).availabilityIn(
                      formatPercent(entry.figures.availabilityPercent, locale),
                      formatMonth(entry.figures.period, locale),
                    )
                  : undefined,
              satisfaction:
                entry.figures?.satisfactionPercent !== undefined
                  ? messagesFor(locale).satisfactionIn(
                      formatPercent(entry.figures.satisfactionPercent, locale),
                      entry.figures.ratings ?? 0,
                      formatMonth(entry.figures.period, locale),
                    )
                  : undefined,
            },
          });
        },
      );
    }
  };
}
