import type { KubeApiError, KubeObject } from "../../lib/kube/client.ts";

/**
 * What to tell an owner when the API server found one of the children the platform applies for it invalid
 * (not a policy's refusal: the object's own validation, e.g. a Service whose ports, merged with ports
 * someone added by hand, repeat a name). `otherwise` is the fix when nobody edited it.
 */
export function invalidChildMessage(
  owner: string,
  child: KubeObject,
  error: KubeApiError,
  otherwise: string,
): string {
  return (
    `The API server refused the ${owner}'s ${child.kind} "${child.metadata?.name}": ${error.message}. ` +
    `If it was edited by hand (kubectl edit), take out what was added or delete it so the platform creates it again; otherwise ${otherwise}`
  );
}
