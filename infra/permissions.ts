import type { Capability, OperationDef } from '../functions/routes';

export type { Capability } from '../functions/routes';

/**
 * The capabilities of the function that serves these operations (one module): the union of what
 * each operation declares in functions/routes.ts, in a stable order.
 */
export function capabilitiesOf(ops: Pick<OperationDef, 'capabilities'>[]): Capability[] {
  return [...new Set(ops.flatMap((o) => o.capabilities))].sort();
}
