// What run's and filter's startup lines add to the bytes of the ring they created.
import { native } from '../native.js';
import type { RingSizes } from '../orchestrator/sizes.js';

/**
 * ", the default: ..." when the caps did not size the ring (sizes: undefined when --payload-size did): 18 MB
 * for a small encoded stream (whose frames' size no caps give) is the readers' fallback, zerosrc's and
 * zerofilter's response ring's too, not a mistake; a caps filter before the source's last elements whose
 * frames need more raised it. '' when the caps or --payload-size sized it.
 */
export function defaultSizeNote(sizes: RingSizes | undefined): string {
  if (sizes?.from !== 'default') return '';
  const raised = sizes.payloadSize > native.defaultPayloadSize(0) ? ' raised to the caps filter\'s frames' : '';
  return `, the default${raised}: the caps at the source's end give no frame size; --payload-size N to change`;
}
