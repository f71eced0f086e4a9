import type { Logger } from "pino";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { stableJson } from "../../lib/stable-json.ts";
import type { ConditionOf, StatusOwner } from "../api/conditions.ts";
import type { Condition } from "../api/schema-helpers.ts";
import { mergeConditions } from "./conditions.ts";

type StatusFields = Record<string, unknown>;

export interface StatusUpdate<O extends StatusOwner> {
  /**
   * Owned fields to set. A field named with `undefined` is removed; an owned field not named keeps its
   * current value.
   */
  fields?: StatusFields;
  conditions: ConditionOf<O>[];
  /** Time of the change (conditions' lastTransitionTime); default now. */
  now?: Date;
  /**
   * Whether the owned status changed enough to be written (default: any difference). A writer whose status
   * carries a timestamp of its own (e.g. the compliance scan time) says what counts.
   */
  changed?: (before: StatusFields, next: StatusFields) => boolean;
}

type StatusObject = KubeObject & { status?: StatusFields & { conditions?: Condition[] } };

/**
 * The one way controllers write status: only the writer's own fields and conditions (statusOwners in
 * controller/api/conditions.ts), merged so a condition's lastTransitionTime moves only when its status does,
 * compared with what is there, and applied (server-side, the status subresource, the owner's field manager)
 * only when it differs, so an unchanged status costs no write and triggers no watch event.
 */
export class StatusWriter {
  private readonly client: KubeClient;
  private readonly log: Logger;

  constructor(client: KubeClient, log: Logger) {
    this.client = client;
    this.log = log;
  }

  /** The owner's part of a status, as it is now. */
  static owned(owner: StatusOwner, status: StatusFields & { conditions?: Condition[] } = {}): StatusFields {
    const types = Object.keys(owner.conditions);
    const part: StatusFields = {};
    for (const field of owner.fields) if (status[field] !== undefined) part[field] = status[field];
    if (owner.observesGeneration && status.observedGeneration !== undefined)
      part.observedGeneration = status.observedGeneration;
    const conditions = (status.conditions ?? []).filter((c) => types.includes(c.type));
    if (conditions.length > 0) part.conditions = conditions;
    return part;
  }

  /** The status to apply for an update, or undefined when nothing owned would change. */
  static next<O extends StatusOwner>(
    owner: O,
    object: StatusObject,
    update: StatusUpdate<O>,
  ): StatusFields | undefined {
    const before = StatusWriter.owned(owner, object.status);
    const generation = object.metadata?.generation;
    const unknown = Object.keys(update.fields ?? {}).filter((field) => !owner.fields.includes(field));
    if (unknown.length > 0)
      throw new Error(
        `${owner.fieldManager} does not own status field(s) ${unknown.join(", ")} of ${owner.kind}`,
      );
    const merged: StatusFields = { ...before, ...update.fields };
    for (const [field, value] of Object.entries(merged)) if (value === undefined) delete merged[field];
    const next: StatusFields = {
      ...merged,
      conditions: mergeConditions(
        before.conditions as Condition[] | undefined,
        update.conditions,
        generation,
        update.now ?? new Date(),
      ),
      ...(owner.observesGeneration && generation !== undefined ? { observedGeneration: generation } : {}),
    };
    const changed = update.changed ?? ((a, b) => stableJson(a) !== stableJson(b));
    return changed(before, next) ? next : undefined;
  }

  /** Writes the owner's part of `object`'s status when it changed; true when it wrote. */
  async write<O extends StatusOwner>(
    owner: O,
    object: StatusObject,
    update: StatusUpdate<O>,
  ): Promise<boolean> {
    const status = StatusWriter.next(owner, object, update);
    if (!status) return false;
    const { name, namespace } = object.metadata ?? {};
    await this.client.apply(
      {
        apiVersion: object.apiVersion,
        kind: object.kind ?? owner.kind,
        metadata: namespace ? { name, namespace } : { name },
        status,
      },
      { fieldManager: owner.fieldManager, subresource: "status" },
    );
    return true;
  }

  /** Like `write`, for status written on the way out of a failure: a failed write is logged, not thrown. */
  async writeOrLog<O extends StatusOwner>(
    owner: O,
    object: StatusObject,
    update: StatusUpdate<O>,
  ): Promise<void> {
    try {
      await this.write(owner, object, update);
    } catch (error) {
      this.log.warn(
        { err: error, kind: owner.kind, name: object.metadata?.name, namespace: object.metadata?.namespace },
        "status write failed",
      );
    }
  }
}
