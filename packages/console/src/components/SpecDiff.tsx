/** A line diff between two revisions' specs (as YAML). */
import { diffLines } from 'diff';
import { specToText, type Spec } from '../spec.ts';

export function SpecDiff({ before, after }: { before: Spec; after: Spec }) {
  const parts = diffLines(specToText(before, 'yaml'), specToText(after, 'yaml'));
  return (
    <pre style={{ margin: 0, padding: 12, background: '#f6f8fa', borderRadius: 6, overflow: 'auto', fontSize: 12 }} data-testid="spec-diff">
      {parts.map((part, index) => (
        <span key={index} style={{ background: part.added ? '#e6ffec' : part.removed ? '#ffebe9' : undefined, color: part.added ? '#116329' : part.removed ? '#82071e' : undefined, display: 'block' }}>
          {part.value.replace(/\n$/, '').split('\n').map((line) => `${part.added ? '+ ' : part.removed ? '- ' : '  '}${line}`).join('\n')}
        </span>
      ))}
    </pre>
  );
}
