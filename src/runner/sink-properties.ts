// zerosink's and zerofilter's property names as GStreamer reads them, and
// the one the runner sets itself (its own module, without imports: the
// CLI's argument check loads no addon).

/** zerosink's property for the ring's name: the runner sets it, never the caller. */
export const RING_PROPERTY = 'buffer-name';

/** zerofilter's property for the duplex channel's name: the runner sets it, never the caller. */
export const CHANNEL_PROPERTY = 'channel';

/**
 * A property name as GLib looks it up (g_object_class_find_property): `_`
 * reads as `-`, so `buffer_name=x` sets buffer-name.
 */
export function glibPropertyName(name: string): string {
  return name.replace(/_/g, '-');
}

/**
 * The properties that have a value: one whose value is undefined (as
 * spreading options leaves it) is not given, everywhere properties are
 * read, checked or turned into gst-launch's arguments.
 */
export function givenProperties<T>(properties: Record<string, T | undefined>): Record<string, T> {
  return Object.fromEntries(Object.entries(properties).filter((e): e is [string, T] => e[1] !== undefined));
}

/**
 * A TypeError when sinkProperties sets property (RING_PROPERTY, or
 * CHANNEL_PROPERTY for zerofilter), in any spelling GLib takes for it:
 * gst-launch would apply it after the runner's own, and the element would
 * wait for a ring nobody creates. why: the message's end, saying whose ring
 * the element uses.
 */
export function refuseRingProperty(properties: unknown, property: string, why: string): void {
  if (typeof properties !== 'object' || properties === null) return;
  const given = Object.keys(givenProperties(properties as Record<string, unknown>)).find((k) => glibPropertyName(k) === property);
  if (given === undefined) return;
  const spelled = given === property ? '' : ` (given as ${JSON.stringify(given)})`;
  throw new TypeError(`option "sinkProperties" must not set ${property}${spelled}: ${why}`);
}
