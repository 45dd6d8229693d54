/**
 * A cron builder with seconds: six fields (second, minute, hour, day of month, month, day of
 * week), each set as every / every N / at these values / between, or typed by hand; presets; and
 * the expression itself, editable. The value is always a 6-field expression.
 */
import { Input, InputNumber, Select, Space, Typography } from 'antd';
import { useTranslation } from 'react-i18next';

export const CRON_FIELDS = ['second', 'minute', 'hour', 'dayOfMonth', 'month', 'dayOfWeek'] as const;
type FieldName = (typeof CRON_FIELDS)[number];
const RANGES: Record<FieldName, [number, number]> = { second: [0, 59], minute: [0, 59], hour: [0, 23], dayOfMonth: [1, 31], month: [1, 12], dayOfWeek: [0, 7] };

type Part =
  | { mode: 'every' }
  | { mode: 'step'; step: number; start?: number }
  | { mode: 'at'; values: string }
  | { mode: 'between'; from: number; to: number }
  | { mode: 'custom'; text: string };

function parsePart(text: string): Part {
  if (text === '*' || text === '?') return { mode: 'every' };
  let match = /^(\*|\d+)\/(\d+)$/.exec(text);
  if (match) return { mode: 'step', step: Number(match[2]), ...(match[1] === '*' ? {} : { start: Number(match[1]) }) };
  if (/^\d+(,\d+)*$/.test(text)) return { mode: 'at', values: text };
  match = /^(\d+)-(\d+)$/.exec(text);
  if (match) return { mode: 'between', from: Number(match[1]), to: Number(match[2]) };
  return { mode: 'custom', text };
}

function partText(part: Part): string {
  switch (part.mode) {
    case 'every': return '*';
    case 'step': return `${part.start ?? '*'}/${part.step}`;
    case 'at': return part.values || '0';
    case 'between': return `${part.from}-${part.to}`;
    default: return part.text || '*';
  }
}

/** The six fields of an expression (a 5-field one gets second 0). */
export function splitCron(expression: string | undefined): string[] {
  const fields = (expression ?? '').trim().split(/\s+/).filter(Boolean);
  if (fields.length === 5) return ['0', ...fields];
  if (fields.length === 6) return fields;
  return ['0', '*', '*', '*', '*', '*'];
}

const PRESETS = [
  ['*/5 * * * * *', 'cron.presetEvery5s'],
  ['0 * * * * *', 'cron.presetEveryMinute'],
  ['0 */5 * * * *', 'cron.presetEvery5m'],
  ['0 0 * * * *', 'cron.presetHourly'],
  ['0 30 2 * * *', 'cron.presetDaily'],
  ['0 0 9 * * 1-5', 'cron.presetWeekdays'],
  ['0 0 0 1 * *', 'cron.presetMonthly'],
] as const;

export function CronBuilder({ value, onChange }: { value?: string; onChange?: (value: string) => void }) {
  const { t } = useTranslation();
  const fields = splitCron(value);
  const setField = (index: number, part: Part) => {
    const next = [...fields];
    next[index] = partText(part);
    onChange?.(next.join(' '));
  };
  return (
    <Space direction="vertical" style={{ width: '100%' }} data-testid="cron-builder">
      <Space wrap>
        <Input
          aria-label={t('cron.expression')}
          data-testid="cron-expression"
          value={value}
          onChange={(e) => onChange?.(e.target.value)}
          style={{ width: 260, fontFamily: 'monospace' }}
        />
        <Select
          aria-label={t('cron.presets')}
          placeholder={t('cron.presets')}
          style={{ width: 220 }}
          value={null}
          onChange={(preset: string) => onChange?.(preset)}
          options={PRESETS.map(([expression, label]) => ({ value: expression, label: `${t(label)} — ${expression}` }))}
        />
      </Space>
      <div style={{ display: 'grid', gridTemplateColumns: 'minmax(110px, max-content) 1fr', gap: '6px 12px', alignItems: 'center' }}>
        {CRON_FIELDS.map((name, index) => {
          const part = parsePart(fields[index]!);
          const [min, max] = RANGES[name];
          return [
            <Typography.Text key={`${name}-label`}>{t(`cron.${name}`)}</Typography.Text>,
            <Space key={name} wrap size="small" data-testid={`cron-${name}`}>
              <Select
                aria-label={t('cron.modeOf', { field: t(`cron.${name}`) })}
                data-testid={`cron-${name}-mode`}
                size="small"
                style={{ width: 150 }}
                value={part.mode}
                onChange={(mode: Part['mode']) => setField(index, mode === 'every' ? { mode } : mode === 'step' ? { mode, step: name === 'second' || name === 'minute' ? 5 : 2 }
                  : mode === 'at' ? { mode, values: String(min) } : mode === 'between' ? { mode, from: min, to: max } : { mode, text: fields[index]! })}
                options={(['every', 'step', 'at', 'between', 'custom'] as const).map((mode) => ({ value: mode, label: t(`cron.mode.${mode}`) }))}
              />
              {part.mode === 'step' && (
                <InputNumber size="small" min={1} max={max} value={part.step} aria-label={t('cron.step')} data-testid={`cron-${name}-step`}
                  onChange={(step) => step && setField(index, { ...part, step })} addonBefore={t('cron.every')} />
              )}
              {part.mode === 'at' && (
                <Input size="small" style={{ width: 160 }} value={part.values} aria-label={t('cron.values')} placeholder="0,15,30"
                  onChange={(e) => setField(index, { mode: 'at', values: e.target.value.replace(/[^\d,]/g, '') })} />
              )}
              {part.mode === 'between' && (
                <Space size={4}>
                  <InputNumber size="small" min={min} max={max} value={part.from} aria-label={t('cron.from')} onChange={(from) => from !== null && setField(index, { ...part, from })} />
                  <span>–</span>
                  <InputNumber size="small" min={min} max={max} value={part.to} aria-label={t('cron.to')} onChange={(to) => to !== null && setField(index, { ...part, to })} />
                </Space>
              )}
              {part.mode === 'custom' && (
                <Input size="small" style={{ width: 160, fontFamily: 'monospace' }} value={part.text} aria-label={t('cron.custom')}
                  onChange={(e) => setField(index, { mode: 'custom', text: e.target.value.replace(/\s/g, '') })} />
              )}
              <Typography.Text type="secondary" style={{ fontSize: 12 }}>{min}–{max}</Typography.Text>
            </Space>,
          ];
        })}
      </div>
      <Typography.Text type="secondary" style={{ fontSize: 12 }}>{t('cron.help')}</Typography.Text>
    </Space>
  );
}
