/**
 * Incidents of the header's namespace (or all), open and acknowledged ones by default, open ones
 * first; `?ruleId=` keeps those of one rule (the rules page links here). Each opens its detail
 * page. Fetched again as runs end (the evaluator opens and resolves incidents from their events)
 * and every few seconds.
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Button, Select, Space, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router-dom';
import { listIncidents } from '../alerts/api.ts';
import { INCIDENT_STATES, type IncidentResource, type IncidentState } from '../alerts/types.ts';
import { IncidentStateTag, INCIDENT_POLL_MS, SeverityTag, SubjectText, useIncidentRefresh } from '../components/alerts/AlertTags.tsx';
import { Age, ErrorView, NOWRAP } from '../components/common.tsx';
import { Pager } from '../components/Pager.tsx';
import { useCursorPages } from '../components/useCursorPages.ts';
import { useNamespace } from '../namespace.tsx';

const DEFAULT_STATES: IncidentState[] = ['open', 'acknowledged'];
const RANK: Record<IncidentState, number> = { open: 0, acknowledged: 1, resolved: 2 };

/** Open ones first, then acknowledged, then resolved; newest first within each (the API's order). */
export const byState = (items: IncidentResource[]) => items.map((item, i) => ({ item, i }))
  .sort((a, b) => RANK[a.item.state] - RANK[b.item.state] || a.i - b.i).map(({ item }) => item);

export default function Incidents() {
  const { t } = useTranslation();
  const { namespace } = useNamespace();
  const [search, setSearch] = useSearchParams();
  const ruleId = search.get('ruleId') ?? undefined;
  const [states, setStates] = useState<IncidentState[]>(DEFAULT_STATES);
  const pages = useCursorPages();
  const incidents = useQuery({
    queryKey: ['incidents', 'list', namespace, states, ruleId, pages.cursor],
    queryFn: () => listIncidents({ namespace, states: states.length ? states : undefined, ruleId, cursor: pages.cursor }),
    placeholderData: keepPreviousData,
    refetchInterval: INCIDENT_POLL_MS,
  });
  useIncidentRefresh(namespace);

  if (incidents.error) return <ErrorView error={incidents.error} />;
  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Typography.Title level={3} style={{ margin: 0 }}>{t('alerts.incidents.title')}</Typography.Title>
      <Space wrap>
        <Select mode="multiple" allowClear placeholder={t('alerts.incidents.allStates')} aria-label={t('alerts.incidents.state')} style={{ minWidth: 260 }}
          value={states} onChange={(value: IncidentState[]) => { pages.reset(); setStates(value); }} data-testid="incident-state-filter"
          options={INCIDENT_STATES.map((s) => ({ value: s, label: t(`alerts.states.${s}`) }))} />
        {ruleId && (
          <Tag closable onClose={() => { pages.reset(); setSearch({}); }} data-testid="incident-rule-filter">{t('alerts.incidents.ofRule', { rule: incidents.data?.items[0]?.ruleName ?? ruleId })}</Tag>
        )}
        <Typography.Text type="secondary">{t('alerts.incidents.refresh', { seconds: INCIDENT_POLL_MS / 1000 })}</Typography.Text>
      </Space>
      <Table<IncidentResource>
        rowKey="id" size="small" pagination={false} loading={incidents.isLoading} dataSource={byState(incidents.data?.items ?? [])} scroll={{ x: true }}
        data-testid="incidents-table"
        locale={{ emptyText: t('alerts.incidents.none') }}
        columns={[
          { title: t('alerts.incidents.state'), dataIndex: 'state', render: (s: IncidentState, incident) => <Link to={`/alerts/incidents/${incident.id}`} data-testid="incident-link"><IncidentStateTag state={s} /></Link> },
          { title: t('alerts.incidents.severity'), dataIndex: 'severity', render: (s: IncidentResource['severity']) => <SeverityTag severity={s} /> },
          {
            title: t('alerts.incidents.rule'), key: 'rule',
            render: (_, incident) => (
              <div style={{ minWidth: 140 }}>
                <span style={NOWRAP}>{incident.namespace}/{incident.ruleName}</span>
                <Typography.Text type="secondary" style={{ display: 'block', fontSize: 12, ...NOWRAP }}>{t(`alerts.kinds.${incident.on}`)}</Typography.Text>
              </div>
            ),
          },
          { title: t('alerts.incidents.subject'), key: 'subject', render: (_, incident) => <SubjectText subject={incident.subject} /> },
          { title: t('alerts.incidents.opened'), dataIndex: 'openedAt', render: (v: string) => <Age value={v} /> },
          {
            title: t('alerts.incidents.summary'), dataIndex: 'summary',
            render: (summary: string, incident) => (
              <Link to={`/alerts/incidents/${incident.id}`}>
                <Typography.Text ellipsis={{ tooltip: summary }} style={{ maxWidth: 360 }} data-testid="incident-summary">{summary}</Typography.Text>
              </Link>
            ),
          },
        ]}
      />
      <Space>
        <Pager page={pages.page} hasNext={!!incidents.data?.nextCursor} onPrevious={pages.previous} onNext={() => pages.next(incidents.data?.nextCursor ?? null)} />
        {states.length > 0 && states.length < INCIDENT_STATES.length && (
          <Button size="small" type="link" onClick={() => { pages.reset(); setStates([]); }} style={{ marginTop: 12 }}>{t('alerts.incidents.showAll')}</Button>
        )}
      </Space>
    </Space>
  );
}
