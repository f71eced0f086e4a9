// A small Open Service Broker API (v2.16) client: catalog, asynchronous provision/update/deprovision with
// last_operation polling, bind and unbind. Errors carry the broker's description.

import { readBounded } from "../runtime/bounded-body.ts";

export interface BrokerEndpoint {
  url: string;
  username?: string;
  password?: string;
}

export class BrokerError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** The broker did not answer at all: no connection, or no whole answer within the client's time limit. */
export class BrokerUnreachable extends BrokerError {
  constructor(message: string) {
    super(0, message);
  }
}

/** How long one call may take, answer included, before the broker counts as unreachable. */
export const defaultBrokerTimeoutMs = 30_000;

export type OperationState = "in progress" | "succeeded" | "failed";

export interface AsyncResult {
  /** true when the broker finished at once (200/201), false when it accepted the work (202). */
  done: boolean;
  operation?: string;
}

const apiVersion = "2.16";

/** A broker is outside the platform's trust: its answers are read up to this size, no further. */
const maxResponseBytes = 1024 * 1024;

/** The response body as text, refusing (and cancelling) one larger than `limit` bytes. */
async function boundedText(response: Response, limit: number, what: string): Promise<string> {
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > limit) {
    await response.body?.cancel();
    throw new BrokerError(response.status, `broker answer to ${what} is ${declared} bytes, over ${limit}`);
  }
  return readBounded(
    response,
    limit,
    () => new BrokerError(response.status, `broker answer to ${what} is over ${limit} bytes`),
  );
}

function parseObject(text: string, status: number, what: string): Record<string, unknown> {
  if (!text) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BrokerError(status, `broker answer to ${what} is not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new BrokerError(status, `broker answer to ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

export class OsbClient {
  private readonly endpoint: BrokerEndpoint;
  private readonly timeoutMs: number;
  constructor(endpoint: BrokerEndpoint, options: { timeoutMs?: number } = {}) {
    this.endpoint = endpoint;
    this.timeoutMs = options.timeoutMs ?? defaultBrokerTimeoutMs;
  }

  /** Turns a failure to get a whole answer (connection, time limit) into BrokerUnreachable. */
  private unreachable(error: unknown, what: string): BrokerUnreachable {
    const url = this.endpoint.url;
    if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError"))
      return new BrokerUnreachable(
        `the broker at ${url} did not answer ${what} within ${this.timeoutMs / 1000} s`,
      );
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const detail = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
    return new BrokerUnreachable(`could not reach the broker at ${url} for ${what}: ${detail}`);
  }

  private async call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const headers: Record<string, string> = {
      "x-broker-api-version": apiVersion,
      accept: "application/json",
    };
    if (this.endpoint.username)
      headers.authorization = `Basic ${Buffer.from(`${this.endpoint.username}:${this.endpoint.password ?? ""}`).toString("base64")}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const what = `${method} ${path}`;
    let response: Response;
    let text: string;
    try {
      // One time limit for the whole exchange: a broker that sends headers and then trickles (or nothing)
      // is as unreachable as one that never answers.
      response = await fetch(`${this.endpoint.url.replace(/\/$/, "")}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await boundedText(response, maxResponseBytes, what);
    } catch (error) {
      if (error instanceof BrokerError) throw error;
      throw this.unreachable(error, what);
    }
    const json = parseObject(text, response.status, `${method} ${path}`);
    if (response.status >= 400 && response.status !== 410) {
      const description = typeof json.description === "string" ? json.description : text.slice(0, 300);
      throw new BrokerError(
        response.status,
        `broker answered ${response.status} to ${method} ${path}: ${description}`,
      );
    }
    return { status: response.status, json };
  }

  private async asyncCall(method: string, path: string, body?: unknown): Promise<AsyncResult> {
    const { status, json } = await this.call(method, path, body);
    if (status === 202)
      return { done: false, ...(typeof json.operation === "string" ? { operation: json.operation } : {}) };
    return { done: true };
  }

  catalog(): Promise<{ status: number; json: Record<string, unknown> }> {
    return this.call("GET", "/v2/catalog");
  }

  provision(
    instanceId: string,
    request: { serviceId: string; planId: string; context: Record<string, string>; parameters?: unknown },
  ) {
    return this.asyncCall("PUT", `/v2/service_instances/${instanceId}?accepts_incomplete=true`, {
      service_id: request.serviceId,
      plan_id: request.planId,
      context: { platform: "govhost", ...request.context },
      organization_guid: request.context.department,
      space_guid: request.context.namespace,
      ...(request.parameters ? { parameters: request.parameters } : {}),
    });
  }

  update(instanceId: string, request: { serviceId: string; planId: string }) {
    return this.asyncCall("PATCH", `/v2/service_instances/${instanceId}?accepts_incomplete=true`, {
      service_id: request.serviceId,
      plan_id: request.planId,
    });
  }

  deprovision(instanceId: string, request: { serviceId: string; planId: string }) {
    const query = `service_id=${encodeURIComponent(request.serviceId)}&plan_id=${encodeURIComponent(request.planId)}&accepts_incomplete=true`;
    return this.asyncCall("DELETE", `/v2/service_instances/${instanceId}?${query}`);
  }

  /** The state of the last asynchronous operation; a deprovisioned instance (410 Gone) counts as succeeded. */
  async lastOperation(
    instanceId: string,
    operation?: string,
  ): Promise<{ state: OperationState; description?: string }> {
    const query = operation ? `?operation=${encodeURIComponent(operation)}` : "";
    const { status, json } = await this.call(
      "GET",
      `/v2/service_instances/${instanceId}/last_operation${query}`,
    );
    if (status === 410) return { state: "succeeded", description: "gone" };
    const state = json.state;
    if (state !== "in progress" && state !== "succeeded" && state !== "failed")
      throw new BrokerError(
        status,
        `broker answer to GET last_operation has no valid state (in progress, succeeded or failed): ${JSON.stringify(state ?? null).slice(0, 100)}`,
      );
    return { state, ...(typeof json.description === "string" ? { description: json.description } : {}) };
  }

  async bind(
    instanceId: string,
    bindingId: string,
    request: { serviceId: string; planId: string },
  ): Promise<Record<string, string>> {
    const { json } = await this.call(
      "PUT",
      `/v2/service_instances/${instanceId}/service_bindings/${bindingId}`,
      {
        service_id: request.serviceId,
        plan_id: request.planId,
      },
    );
    const credentials = (json.credentials ?? {}) as Record<string, unknown>;
    return Object.fromEntries(
      Object.entries(credentials).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
    );
  }

  async unbind(
    instanceId: string,
    bindingId: string,
    request: { serviceId: string; planId: string },
  ): Promise<void> {
    const query = `service_id=${encodeURIComponent(request.serviceId)}&plan_id=${encodeURIComponent(request.planId)}`;
    await this.call("DELETE", `/v2/service_instances/${instanceId}/service_bindings/${bindingId}?${query}`);
  }
}
