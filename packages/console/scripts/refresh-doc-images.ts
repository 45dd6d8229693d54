/**
 * Refreshes the screenshots in docs/images/ from a run of the console's browser tests. The
 * tests write their screenshots to packages/console/test-output/screenshots/ (ignored by git)
 * and never into docs/: a test run leaves the tracked files as they were, and the images in the
 * docs change only when someone runs this script and commits the result.
 *
 *   npm run docs:images                  # runs the browser tests, then copies their screenshots
 *   npm run docs:images -- --no-run      # copies the screenshots of the last run
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../../..');
const SCREENSHOTS = join(ROOT, 'packages/console/test-output/screenshots');
const DOCS_IMAGES = join(ROOT, 'docs/images');
/** The browser tests that take the screenshots, run one after the other (each builds the console and starts a server and Chromium). */
const E2E = ['packages/console/test/console.e2e.test.ts', 'packages/console/test/workflow.e2e.test.ts'];

/** docs/images/NAME ← the test's screenshot. */
const IMAGES: Record<string, string> = {
  'dashboard.png': 'dashboard.png',
  'task-form.png': 'task-form.png',
  'run-detail.png': 'run-detail.png',
  'executors.png': 'executors.png',
  'nodes.png': 'layout/nodes-1280x800-en.png',
  'run-detail-phone-zh.png': 'layout/run-detail-390x844-zh.png',
  // The layout fixes of issue 14, as the layout test saw them.
  'nodes-zh.png': 'layout/nodes-1280x800-zh.png',
  'executors-zh.png': 'layout/executors-1280x800-zh.png',
  'run-detail-phone.png': 'layout/run-detail-390x844-en.png',
  'audit-zh.png': 'layout/audit-1280x800-zh.png',
  'tokens.png': 'layout/tokens-1280x800-en.png',
  // The workflow pages (workflow.e2e.test.ts): the editor with a DAG, a run with a failed node, the same run after "Rerun from failed".
  'workflow-editor.png': 'workflow-editor.png',
  'workflow-editor-zh.png': 'workflow-editor-zh.png',
  'workflow-run-failed.png': 'workflow-run-failed.png',
  'workflow-run-failed-zh.png': 'workflow-run-failed-zh.png',
  'workflow-run-rerun.png': 'workflow-run-rerun.png',
  'workflow-run-rerun-zh.png': 'workflow-run-rerun-zh.png',
};

const started = Date.now();
const run = !process.argv.includes('--no-run');
if (run) {
  // Throws (and copies nothing) when a test fails.
  execFileSync(join(ROOT, 'node_modules/.bin/vitest'), ['run', '--no-file-parallelism', ...E2E], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, CI: 'true' } });
}
const missing = Object.values(IMAGES).filter((from) => !existsSync(join(SCREENSHOTS, from)) || (run && statSync(join(SCREENSHOTS, from)).mtimeMs < started));
if (missing.length > 0) {
  process.stderr.write(`no fresh screenshot ${missing.join(', ')} in ${SCREENSHOTS}: run the browser tests (${E2E.join(', ')}; they need chromium)\n`);
  process.exit(1);
}
for (const [name, from] of Object.entries(IMAGES)) {
  copyFileSync(join(SCREENSHOTS, from), join(DOCS_IMAGES, name));
  process.stdout.write(`docs/images/${name} ← ${from}\n`);
}
