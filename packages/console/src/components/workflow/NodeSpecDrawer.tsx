/** A node of a workflow's spec, in a side panel: what it runs, its needs, when it runs, its retry, timeout and params. */
import { Descriptions, Drawer, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { msText } from '../../spec.ts';
import { needsOf, nodeRuns } from '../../workflow/graph.ts';
import type { WorkflowNodeSpec } from '../../workflow/types.ts';
import { Json } from '../common.tsx';

export function NodeSpecDrawer({ node, onClose }: { node: WorkflowNodeSpec | null; onClose(): void }) {
  const { t } = useTranslation();
  return (
    <Drawer open={!!node} onClose={onClose} title={node ? t('workflow.nodeTitle', { id: node.id }) : ''} size={420} mask={false} data-testid="node-drawer">
      {node && <NodeSpecDescriptions node={node} />}
    </Drawer>
  );
}

export function NodeSpecDescriptions({ node }: { node: WorkflowNodeSpec }) {
  const { t } = useTranslation();
  const runs = nodeRuns(node, t);
  const needs = needsOf(node);
  return (
    <Descriptions size="small" column={1} bordered>
      {node.description && <Descriptions.Item label={t('workflowEditor.description')}>{node.description}</Descriptions.Item>}
      <Descriptions.Item label={runs.kind === 'task' ? t('workflow.task') : t('workflow.target')}>
        <Typography.Text code style={{ overflowWrap: 'anywhere' }}>{runs.text}</Typography.Text>
      </Descriptions.Item>
      <Descriptions.Item label={t('workflow.needs')}>
        {needs.length ? needs.map((need) => (need.optional ? `${need.node} (${t('dag.optional')})` : need.node)).join(', ') : t('workflow.none')}
      </Descriptions.Item>
      <Descriptions.Item label={t('workflow.runsWhen')}>{t(`runConditions.${node.run ?? 'on-success'}`, { defaultValue: String(node.run) })}</Descriptions.Item>
      {node.timeoutMs !== undefined && <Descriptions.Item label={t('workflow.timeout')}>{msText(node.timeoutMs)}</Descriptions.Item>}
      {node.retry && <Descriptions.Item label={t('workflow.retry')}><Json value={node.retry} /></Descriptions.Item>}
      {node.params && Object.keys(node.params).length > 0 && <Descriptions.Item label={t('workflow.params')}><Json value={node.params} /></Descriptions.Item>}
    </Descriptions>
  );
}
