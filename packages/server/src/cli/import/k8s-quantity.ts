/**
 * Kubernetes resource quantities (`500m`, `2`, `128Mi`, `1Gi`, `500M`, `1e9`) as numbers, for the
 * limits of an imported CronJob's container. Pure.
 */

const SUFFIX: Readonly<Record<string, number>> = {
  n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/**
 * The value of a quantity in its base unit (cores, bytes), or undefined when it is not one.
 * A suffix is tried before an exponent, as Kubernetes does: `1E` is 10^18, `1e3` is 1000.
 */
export function parseQuantity(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = /^\+?(\d+\.?\d*|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/.exec(value.trim());
  if (!match) return undefined;
  const number = Number(match[1]);
  if (match[3] !== undefined) return number * 10 ** Number(match[3]);
  return number * SUFFIX[match[2] ?? '']!;
}

/** CPU cores of a quantity (`500m` → 0.5, `2` → 2), to a thousandth. */
export function cpusOf(value: unknown): number | undefined {
  const cores = parseQuantity(value);
  return cores === undefined ? undefined : Math.round(cores * 1000) / 1000;
}

/** Mebibytes of a memory quantity, rounded up (`128Mi` → 128, `1Gi` → 1024, `500M` → 477). */
export function memoryMbOf(value: unknown): number | undefined {
  const bytes = parseQuantity(value);
  return bytes === undefined ? undefined : Math.ceil(bytes / 2 ** 20);
}
