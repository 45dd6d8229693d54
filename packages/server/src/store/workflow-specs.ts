/**
 * Parsed workflow specs by (workflow id, revision), for the transactions that advance workflow
 * runs. A revision never changes once written, so entries never go stale; the map is bounded.
 */
import type { WorkflowSpec } from '@ecron/contracts';

const MAX_ENTRIES = 256;

export class WorkflowSpecCache {
  readonly #specs = new Map<string, WorkflowSpec>();

  /**
   * The cached spec, or `load()`'s (a revision's stored JSON text, parsed here); null when the
   * revision is gone (the workflow was deleted: its revisions go with it).
   */
  get(taskId: string, revision: number, load: () => string | null): WorkflowSpec | null;
  get(taskId: string, revision: number, load: () => Promise<string | null>): Promise<WorkflowSpec | null>;
  get(taskId: string, revision: number, load: () => string | null | Promise<string | null>): WorkflowSpec | null | Promise<WorkflowSpec | null> {
    const key = `${taskId}:${revision}`;
    const cached = this.#specs.get(key);
    if (cached) return cached;
    const remember = (text: string | null): WorkflowSpec | null => {
      if (text === null) return null;
      const spec = JSON.parse(text) as WorkflowSpec;
      if (this.#specs.size >= MAX_ENTRIES) this.#specs.delete(this.#specs.keys().next().value!);
      this.#specs.set(key, spec);
      return spec;
    };
    const text = load();
    return typeof text === 'string' || text === null ? remember(text) : text.then(remember);
  }
}
