/** This package's version, sent in heartbeats unless the executor names its own. */
export const SDK_VERSION = '0.1.0';
