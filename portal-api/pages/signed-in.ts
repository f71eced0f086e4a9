import fastifyCookie from "@fastify/cookie";
import fastifyCsrf from "@fastify/csrf-protection";
import fastifyFormbody from "@fastify/formbody";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply, FastifyRequest } from "fastify";
import Type from "typebox";
import { periodOf } from "../../lib/chargeback/calendar.ts";
import { type Action, allowed } from "../auth/authorize.ts";
import { principalFrom } from "../auth/principal.ts";
import type { ApiDependencies } from "../dependencies.ts";
import { apiCataloguePage } from "./api-catalogue-page.ts";
import { apiRequestsPage } from "./api-requests-page.ts";
import { auditPages } from "./audit-pages.ts";
import { compliancePages } from "./compliance-pages.ts";
import { newDepartmentPage } from "./department-new-page.ts";
import { type Answer, type DepartmentLinks, departmentPage, departmentsPage } from "./department-views.ts";
import { eservicePages } from "./eservice-pages.ts";
import { financePages } from "./finance-pages.ts";
import { type Locale, localePath, locales, messagesFor } from "./i18n.ts";
import { otherChannelsPage } from "./other-channels-page.ts";
import { performancePages } from "./performance-pages.ts";
import { rateCardPage } from "./rate-card-page.ts";
import { type PageContext, sendPage } from "./render.ts";
import { type Session, SessionSealer, type SignInState } from "./session.ts";
import type { WebSignIn } from "./sign-in.ts";
import { subscriptionPages } from "./subscription-pages.ts";

// Signing in to the pages and the pages behind it. A page is authorised exactly as the API route it shows:
// its handler calls that route (in process, `inject`) with the signed-in person's access token, so the same
// code decides, and a refusal becomes a 403 page. Forms carry a CSRF token (@fastify/csrf-protection).

/** An API call as the signed-in person: a GET, or a write with its JSON body. */
export type CallApi = (
  session: Session,
  url: string,
  write?: { method: "POST" | "PATCH" | "PUT"; body: unknown } | { method: "DELETE" },
) => Promise<Answer>;

/** What the pages behind sign-in share (registered inside this plugin, so cookies and CSRF are theirs). */
export interface SignedInKit {
  /** The person's session, or undefined once the browser has been sent to sign in first. */
  signedIn(request: FastifyRequest, reply: FastifyReply): Promise<Session | undefined>;
  /** The page context of a signed-in person (their name, the CSRF token of the forms). */
  context(session: Session, reply: FastifyReply, locale: Locale): PageContext;
  call: CallApi;
  /**
   * What the signed-in person may do (`action`, in `department`): the API's own rule on their verified token,
   * to decide which forms and rows a page offers. The API still judges every read and write.
   */
  permissions(session: Session): Promise<(action: Action, department?: string) => boolean>;
  /** One question of `permissions`. */
  may(session: Session, action: Action, department?: string): Promise<boolean>;
  /** A GET of a text answer (a CSV) as the signed-in person; `accept` for a route that answers in several. */
  download(
    session: Session,
    url: string,
    accept?: string,
  ): Promise<Answer & { text: string; disposition?: string }>;
}

export interface WebSettings {
  signIn: WebSignIn;
  /** 32 bytes: encrypts the session and sign-in cookies. */
  sessionKey: Uint8Array;
}

const sessionCookie = "govhost_session";
const signInCookie = "govhost_sign_in";

/** A path on this site to return to after sign-in: never another site (`//host`, `/\host`) or a scheme. */
export function safeReturnPath(value: string | undefined): string {
  const onThisSite = /^\/(?![/\\])[\x21-\x7e]{0,511}$/;
  return value && onThisSite.test(value) ? value : "/my";
}

export function signedInRoutes(deps: ApiDependencies, web: WebSettings): FastifyPluginAsyncTypebox {
  const sealer = new SessionSealer(web.sessionKey);
  // The Secure attribute everywhere but on the local http default (http://127.0.0.1 or localhost), where a
  // browser would drop a Secure cookie: that is the only relaxation.
  const secure = new URL(web.signIn.settings.baseUrl).protocol === "https:";
  const cookieOptions = { httpOnly: true, secure, sameSite: "lax" as const, path: "/" };

  return async (app) => {
    await app.register(fastifyCookie, { secret: Buffer.from(web.sessionKey).toString("base64") });
    await app.register(fastifyFormbody, { bodyLimit: 16 * 1024 });
    await app.register(fastifyCsrf, {
      cookieKey: "govhost_csrf",
      cookieOpts: { ...cookieOptions, sameSite: "strict", signed: true },
      getToken: (request) => (request.body as { _csrf?: string } | undefined)?._csrf,
    });

    const sessionOf = async (request: FastifyRequest): Promise<Session | undefined> => {
      const session = await sealer.open<Session>(request.cookies[sessionCookie], "session");
      return session && typeof session.username === "string" && session.expiresAt > Date.now() / 1000
        ? session
        : undefined;
    };

    const context = (session: Session, reply: FastifyReply, locale: Locale): PageContext => ({
      locale,
      signedIn: { name: session.name, csrfToken: reply.generateCsrf() },
    });

    const signedIn = async (request: FastifyRequest, reply: FastifyReply): Promise<Session | undefined> => {
      const session = await sessionOf(request);
      if (!session) await reply.redirect(`/sign-in?return=${encodeURIComponent(request.url)}`, 303);
      return session;
    };

    app.get(
      "/sign-in",
      {
        config: { public: true },
        schema: { hide: true, querystring: Type.Object({ return: Type.Optional(Type.String()) }) },
      },
      async (request, reply) => {
        const { url, state, codeVerifier } = await web.signIn.start();
        const returnTo = safeReturnPath(request.query.return);
        const pending: SignInState = { state, codeVerifier, returnTo };
        const expiresAt = Math.floor(Date.now() / 1000) + 600;
        reply.setCookie(signInCookie, await sealer.seal(pending, "sign-in", expiresAt), {
          ...cookieOptions,
          maxAge: 600,
        });
        return reply.redirect(url, 303);
      },
    );

    app.get(
      "/auth/callback",
      { config: { public: true }, schema: { hide: true } },
      async (request, reply) => {
        const pending = await sealer.open<SignInState>(request.cookies[signInCookie], "sign-in");
        reply.clearCookie(signInCookie, cookieOptions);
        const locale: Locale = "en";
        if (!pending)
          return sendPage(reply, 400, "./message", { locale }, messagesFor(locale).signInExpired, {
            text: messagesFor(locale).signInExpiredText,
          });
        let accessToken: string;
        let claims: Awaited<ReturnType<typeof deps.verifier.verify>>;
        try {
          accessToken = await web.signIn.finish(new URL(request.url, web.signIn.settings.baseUrl), pending);
          // The token is judged by the API's own verifier before anything is made of it.
          claims = await deps.verifier.verify(accessToken);
        } catch (error) {
          request.log.warn({ err: error }, "sign-in failed");
          return sendPage(reply, 400, "./message", { locale }, messagesFor(locale).signInFailed, {
            text: messagesFor(locale).signInFailedText,
          });
        }
        const principal = principalFrom(claims, deps.departments(), deps.roles);
        const session: Session = {
          accessToken,
          name: principal.displayName || principal.username,
          username: principal.username,
          expiresAt: claims.exp ?? Math.floor(Date.now() / 1000) + 600,
        };
        reply.setCookie(sessionCookie, await sealer.seal(session, "session", session.expiresAt), {
          ...cookieOptions,
          expires: new Date(session.expiresAt * 1000),
        });
        return reply.redirect(pending.returnTo, 303);
      },
    );

    app.post(
      "/sign-out",
      { config: { public: true }, schema: { hide: true }, preValidation: app.csrfProtection },
      async (_request, reply) => {
        reply.clearCookie(sessionCookie, cookieOptions);
        // The provider's own session ends too, or the next sign-in would be silent.
        return reply.redirect(web.signIn.endSessionUrl() ?? "/", 303);
      },
    );

    /** Calls an API route as the signed-in person; the answer's status and body as they are. */
    const call: CallApi = async (session, url, write) => {
      const body = write && "body" in write ? JSON.stringify(write.body) : undefined;
      const response = await app.inject({
        method: write?.method ?? "GET",
        url,
        headers: {
          authorization: `Bearer ${session.accessToken}`,
          accept: "application/json",
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
        },
        ...(body !== undefined ? { payload: body } : {}),
      });
      let answer: unknown;
      try {
        answer = response.json();
      } catch {
        answer = undefined; // not JSON: the status alone decides the page
      }
      return { status: response.statusCode, body: answer };
    };
    const download: SignedInKit["download"] = async (session, url, accept) => {
      const response = await app.inject({
        method: "GET",
        url,
        headers: { authorization: `Bearer ${session.accessToken}`, ...(accept ? { accept } : {}) },
      });
      const disposition = response.headers["content-disposition"];
      return {
        status: response.statusCode,
        body: undefined,
        text: response.body,
        ...(typeof disposition === "string" ? { disposition } : {}),
      };
    };
    const permissions: SignedInKit["permissions"] = async (session) => {
      try {
        const principal = principalFrom(
          await deps.verifier.verify(session.accessToken),
          deps.departments(),
          deps.roles,
        );
        return (action, department) => allowed(principal, action, department);
      } catch {
        return () => false; // an expired token: the next call sends the person to sign in
      }
    };
    const may: SignedInKit["may"] = async (session, action, department) =>
      (await permissions(session))(action, department);
    const kit: SignedInKit = { signedIn, context, call, permissions, may, download };
    await app.register(eservicePages(kit));
    await app.register(subscriptionPages(kit));
    await app.register(compliancePages(kit));
    await app.register(newDepartmentPage(kit));
    await app.register(rateCardPage(kit, { timeZone: deps.timeZone }));
    await app.register(apiCataloguePage(kit));
    await app.register(apiRequestsPage(kit, { timeZone: deps.timeZone }));
    await app.register(financePages(kit, { timeZone: deps.timeZone }));
    await app.register(performancePages(kit, { timeZone: deps.timeZone }));
    await app.register(otherChannelsPage(kit, { timeZone: deps.timeZone }));
    await app.register(auditPages(kit, { timeZone: deps.timeZone }));

    for (const locale of locales) {
      app.get(
        localePath(locale, "/my"),
        { config: { public: true }, schema: { hide: true } },
        async (request, reply) => {
          const session = await signedIn(request, reply);
          if (!session) return reply;
          const [answer, mayCreate] = await Promise.all([
            call(session, "/api/v1/departments"),
            may(session, "department:create"),
          ]);
          return departmentsPage(reply, context(session, reply, locale), answer, mayCreate);
        },
      );

      app.get(
        localePath(locale, "/departments/:dept"),
        {
          config: { public: true },
          schema: { hide: true, params: Type.Object({ dept: Type.String({ maxLength: 63 }) }) },
        },
        async (request, reply) => {
          const session = await signedIn(request, reply);
          if (!session) return reply;
          const dept = encodeURIComponent(request.params.dept);
          // Each role sees the sections and links of what it may read (finance: quota and budget, no
          // e-services): the page never asks the API for what it would refuse, which would make the whole
          // page a refusal, count against the person's rate limit and fill the audit trail with denials.
          const allowedTo = await permissions(session);
          const allowedHere = (action: Action) => allowedTo(action, request.params.dept);
          const mayReadBudget = allowedHere("budget:read");
          const links: DepartmentLinks = {
            policyReports: allowedHere("policy-report:read"),
            eservicePages: allowedHere("eservice:read"),
            newEService: allowedHere("eservice:write"),
            sharedServices: allowedHere("shared-service:read"),
          };
          const [department, environments, budget] = await Promise.all([
            call(session, `/api/v1/departments/${dept}`),
            call(session, `/api/v1/departments/${dept}/environments`),
            // Only admins and finance may read the budget: for anyone else the section is left out, without
            // asking the API for a refusal (which would count against the person's rate limit and audit).
            mayReadBudget ? call(session, `/api/v1/departments/${dept}/budget`) : undefined,
          ]);
          const eservices =
            environments.status === 200
              ? await Promise.all(
                  (environments.body as { items: { name: string }[] }).items.map(async (environment) => ({
                    environment: environment.name,
                    answer: links.eservicePages
                      ? await call(
                          session,
                          `/api/v1/departments/${dept}/environments/${encodeURIComponent(environment.name)}/eservices`,
                        )
                      : undefined,
                  })),
                )
              : [];
          return departmentPage(
            reply,
            context(session, reply, locale),
            { department, environments, eservices, budget, links },
            periodOf(Date.now(), deps.timeZone),
          );
        },
      );
    }
  };
}
