/** An IANA time-zone picker, searchable, with the viewer's zone first. */
import { Select } from 'antd';
import { useMemo } from 'react';
import { viewerZone } from '../format.ts';

const zones = (): string[] => {
  const all = (Intl as unknown as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf?.('timeZone') ?? [];
  return ['UTC', ...all.filter((z) => z !== 'UTC')];
};

export function TimezoneSelect({ value, onChange, id, ...rest }: { value?: string; onChange?: (zone: string) => void; id?: string; 'aria-label'?: string }) {
  const options = useMemo(() => {
    const local = viewerZone();
    const list = zones();
    return [local, ...list.filter((z) => z !== local)].map((zone) => ({ value: zone, label: zone }));
  }, []);
  return <Select id={id} showSearch value={value} onChange={onChange} options={options} style={{ width: 260 }} data-testid="timezone-select" {...rest} />;
}
