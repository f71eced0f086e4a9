import {
  isAdmissionRefusal,
  isPolicyRefusal,
  type KubeApiError,
  type KubeObject,
} from "../../lib/kube/client.ts";

/** The API server's admission refusal of one of the children a reconciler applies, naming that child. */
export class RefusedChild extends Error {
  readonly child: KubeObject;
  readonly refusal: KubeApiError;

  constructor(child: KubeObject, refusal: KubeApiError) {
    super(refusal.message);
    this.child = child;
    this.refusal = refusal;
  }

  /** A policy refused it (a baseline rule, Pod Security, a webhook), not the object's own validation. */
  get byPolicy(): boolean {
    return isPolicyRefusal(this.refusal);
  }
}

/** Applies `child` with `apply`; an admission refusal comes back as a {@link RefusedChild} naming it. */
export async function applyChild<T>(child: KubeObject, apply: (child: KubeObject) => Promise<T>): Promise<T> {
  try {
    return await apply(child);
  } catch (error) {
    if (isAdmissionRefusal(error)) throw new RefusedChild(child, error);
    throw error;
  }
}

/**
 * What to tell an owner when the API server found one of the children the platform applies for it invalid
 * (not a policy's refusal: the object's own validation, e.g. a Service whose ports, merged with ports
 * someone added by hand, repeat a name). `otherwise` is the fix when nobody edited it.
 */
export function invalidChildMessage(owner: string, refused: RefusedChild, otherwise: string): string {
  const { child, refusal } = refused;
  return (
    `The API server refused the ${owner}'s ${child.kind} "${child.metadata?.name}": ${refusal.message}. ` +
    `If it was edited by hand (kubectl edit), take out what was added or delete it so the platform creates it again; otherwise ${otherwise}`
  );
}
