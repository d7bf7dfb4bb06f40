// zerosink property names as GStreamer reads them, and the one startStream,
// watch and the CLI set themselves (its own module, without imports: the
// CLI's argument check loads no addon).

/** zerosink's property for the ring's name: the orchestrator sets it, never the caller. */
export const RING_PROPERTY = 'buffer-name';

/**
 * A property name as GLib looks it up (g_object_class_find_property): `_`
 * reads as `-`, so `buffer_name=x` sets buffer-name.
 */
export function glibPropertyName(name: string): string {
  return name.replace(/_/g, '-');
}

/**
 * A TypeError when sinkProperties sets zerosink's buffer-name, in any
 * spelling GLib takes for it: gst-launch would apply it after the ring's
 * own, and zerosink would wait for a ring nobody creates. why: the message's
 * end, saying whose ring zerosink writes into.
 */
export function refuseRingProperty(properties: unknown, why: string): void {
  if (typeof properties !== 'object' || properties === null) return;
  const given = Object.keys(properties).find((k) => glibPropertyName(k) === RING_PROPERTY);
  if (given === undefined) return;
  const spelled = given === RING_PROPERTY ? '' : ` (given as ${JSON.stringify(given)})`;
  throw new TypeError(`option "sinkProperties" must not set ${RING_PROPERTY}${spelled}: ${why}`);
}
