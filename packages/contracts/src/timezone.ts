const known = new Map<string, boolean>();

/** True when `zone` is an IANA time-zone name this runtime knows ("UTC", "Asia/Shanghai"). */
export function isValidTimeZone(zone: string): boolean {
  let valid = known.get(zone);
  if (valid === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      // Offsets such as "+08:00" are accepted by Intl but are not zones: they have no DST rules.
      valid = /^[A-Za-z]/.test(zone);
    } catch {
      valid = false;
    }
    known.set(zone, valid);
  }
  return valid;
}
