// What run's and filter's startup lines add to the bytes of the ring they created.
import type { RingSizes } from '../orchestrator/sizes.js';

/**
 * ", the default: ..." when the caps did not size the ring (sizes: undefined when --payload-size did): 18 MB
 * for a small encoded stream (whose frames' size no caps give) is the readers' fallback, zerosrc's and
 * zerofilter's response ring's too, not a mistake. '' when the caps or --payload-size sized it.
 */
export function defaultSizeNote(sizes: RingSizes | undefined): string {
  return sizes?.from === 'default' ? ', the default: the caps at the source\'s end give no frame size; --payload-size N to change' : '';
}
