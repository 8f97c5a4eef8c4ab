/**
 * JSON for traces: handles the types internode messages carry (bigint, Uint8Array, Map, undefined)
 * so two runs can be compared byte for byte. Not a wire format.
 */
export function traceJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return `${v}n`;
    if (v instanceof Uint8Array) return `0x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
    if (v instanceof Map) return { $map: [...v.entries()] };
    if (v instanceof Set) return { $set: [...v.values()] };
    if (v === undefined) return null;
    return v;
  });
}
