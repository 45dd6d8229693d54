/**
 * A namespace's container image allowlist (`quotas.containerImages`): patterns over image
 * references as the spec writes them. `*` stands for any run of characters but `/`, `**` for any
 * run at all; the rest matches itself. `registry.example/team/**` allows every image under the
 * team's path, `busybox:*` every tag of `busybox` (not `busybox` without a tag, nor a digest).
 */

const cache = new Map<string, RegExp>();

function patternRegExp(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (!re) {
    const body = pattern.split('**').map((part) => part.split('*').map((text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')).join('.*');
    re = new RegExp(`^${body}$`);
    if (cache.size > 4096) cache.clear();
    cache.set(pattern, re);
  }
  return re;
}

/** Whether `image` is allowed by `patterns` (null: any image). */
export function imageAllowed(image: string, patterns: readonly string[] | null | undefined): boolean {
  if (!patterns) return true;
  return patterns.some((pattern) => patternRegExp(pattern).test(image));
}

/** The message of an image the namespace does not allow. */
export function imageRefusal(namespace: string, image: string, patterns: readonly string[]): string {
  return `namespace ${JSON.stringify(namespace)} allows the container images ${patterns.map((p) => JSON.stringify(p)).join(', ') || '(none)'}, not ${JSON.stringify(image)}`
    + ` (an admin sets them: PUT /api/v1/namespaces/${namespace} {"quotas":{"containerImages":[…]}})`;
}
