/**
 * A workflow's graph, read-only: a spec's (the workflow page) or a run's, with each node's live
 * status (the run page). Drawn on a canvas, or listed in a table (virtualized when long). A graph
 * of {@link LARGE_DAG} nodes or more starts as the list; its canvas draws only the nodes in view,
 * animates no edge, and is laid out once (see useDagLayout).
 */
import { Background, Controls, MarkerType, MiniMap, ReactFlow, type Edge } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { Alert, Segmented, Space, Spin, Table, Typography } from 'antd';
import { useMemo, useState, type MouseEvent, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { durationBetween, formatDuration } from '../../format.ts';
import { needsOf, nodeRuns, type Dag } from '../../workflow/graph.ts';
import { LARGE_DAG, type Layout } from '../../workflow/layout.ts';
import type { WorkflowNeed, WorkflowRunNode } from '../../workflow/types.ts';
import { StatusTag, useStatusColors } from '../common.tsx';
import { dagFlowNode, NODE_TYPES, type DagFlowNode } from './DagNodeView.tsx';
import { useDagLayout } from './useDagLayout.ts';

export interface WorkflowDagProps {
  dag: Dag;
  /** The object the graph was drawn from: the layout is kept while it stays the same. */
  layoutKey: object;
  /** The run's nodes by id: colours, durations and links. None for a spec's graph. */
  states?: Map<string, WorkflowRunNode>;
  selected?: string | null;
  onNodeClick?(id: string): void;
  onNodeContextMenu?(id: string, event: MouseEvent): void;
  /** The list's last column (a run's per-node actions). */
  actions?(id: string): ReactNode;
  height?: number;
}

export function WorkflowDag(props: WorkflowDagProps) {
  const { t } = useTranslation();
  const large = props.dag.nodes.length >= LARGE_DAG;
  const [view, setView] = useState<'graph' | 'list'>(large ? 'list' : 'graph');
  return (
    <Space orientation="vertical" style={{ width: '100%' }}>
      <Space wrap>
        <Segmented<'graph' | 'list'> value={view} onChange={setView} aria-label={t('dag.view')} data-testid="dag-view"
          options={[{ value: 'graph', label: t('dag.graph') }, { value: 'list', label: t('dag.list') }]} />
        {large && <Typography.Text type="secondary">{t('dag.large', { count: props.dag.nodes.length })}</Typography.Text>}
        {view === 'graph' && props.dag.edges.some((e) => e.optional) && <Typography.Text type="secondary">{t('dag.optionalLegend')}</Typography.Text>}
      </Space>
      {view === 'graph' ? <GraphView {...props} /> : <NodesTable {...props} />}
    </Space>
  );
}

function GraphView({ dag, layoutKey, height = 520, ...rest }: WorkflowDagProps) {
  const { t } = useTranslation();
  const state = useDagLayout(dag, layoutKey);
  if (state.error) return <Alert type="error" showIcon title={t('dag.layoutFailed', { message: state.error })} />;
  if (!state.layout) {
    return (
      <div style={{ height, display: 'flex', alignItems: 'center', justifyContent: 'center' }}>
        <Spin description={t('dag.layingOut', { count: dag.nodes.length })}><div style={{ width: 200, height: 80 }} /></Spin>
      </div>
    );
  }
  return <Canvas dag={dag} layout={state.layout} height={height} layoutKey={layoutKey} {...rest} />;
}

/** A node's status and duration, as its third line on the canvas. */
function runDetail(state: WorkflowRunNode | undefined, t: (key: string) => string): string | undefined {
  if (!state) return undefined;
  const duration = durationBetween(state.startedAt, state.finishedAt);
  return duration === null ? t(`status.${state.status}`) : `${t(`status.${state.status}`)} · ${formatDuration(duration)}`;
}

function Canvas({ dag, layout, states, selected, onNodeClick, onNodeContextMenu, height }: WorkflowDagProps & { layout: Layout; height: number }) {
  const { t } = useTranslation();
  const colorsOf = useStatusColors();
  const large = dag.nodes.length >= LARGE_DAG;
  const nodes = useMemo<DagFlowNode[]>(() => dag.nodes.map((node) => {
    const state = states?.get(node.id);
    const runs = nodeRuns(node.spec, t);
    return dagFlowNode(node.id, layout.positions[node.id] ?? { x: 0, y: 0 }, {
      id: node.id, runs: runs.kind === 'task' ? `${t('workflow.task')}: ${runs.text}` : runs.text, status: state?.status ?? null,
      detail: states ? runDetail(state, t) : t(`runConditions.${node.spec.run ?? 'on-success'}`, { defaultValue: String(node.spec.run) }),
    }, { draggable: false, connectable: false, selected: selected === node.id });
  }), [dag, layout, states, selected, t]);
  const edges = useMemo<Edge[]>(() => dag.edges.map((edge) => ({
    id: edge.id, source: edge.source, target: edge.target, focusable: false,
    // An edge into a running node moves (not in a large graph: thousands of animated paths cost too much).
    animated: !large && states?.get(edge.target)?.status === 'running',
    markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16 },
    style: edge.optional ? { strokeDasharray: '6 4' } : undefined,
  })), [dag, states, large]);
  return (
    <div style={{ height, border: '1px solid #f0f0f0', borderRadius: 6 }} data-testid="dag-canvas">
      <ReactFlow
        nodes={nodes} edges={edges} nodeTypes={NODE_TYPES}
        nodesDraggable={false} nodesConnectable={false} elementsSelectable={false} edgesFocusable={false} deleteKeyCode={null}
        onlyRenderVisibleElements={large}
        // A large graph opens at its first columns; a small one fits the frame.
        fitView={!large} fitViewOptions={{ maxZoom: 1 }} defaultViewport={large ? { x: 16, y: 16, zoom: 0.8 } : undefined}
        minZoom={large ? 0.2 : 0.05} maxZoom={2}
        onNodeClick={onNodeClick ? (_, node) => onNodeClick(node.id) : undefined}
        onNodeContextMenu={onNodeContextMenu ? (event, node) => onNodeContextMenu(node.id, event) : undefined}
      >
        <Background />
        <Controls showInteractive={false} />
        {!large && <MiniMap pannable zoomable nodeColor={(node: DagFlowNode) => (node.data.status ? colorsOf(node.data.status).accent : '#e2e2e2')} />}
      </ReactFlow>
    </div>
  );
}

interface Row {
  id: string;
  runs: string;
  needs: WorkflowNeed[];
  run?: string;
  state?: WorkflowRunNode;
}

function NeedsCell({ needs }: { needs: WorkflowNeed[] }) {
  const { t } = useTranslation();
  if (!needs.length) return <span>—</span>;
  return (
    <Typography.Text style={{ fontSize: 12 }} ellipsis={{ tooltip: true }}>
      {needs.map((need) => (need.optional ? `${need.node} (${t('dag.optional')})` : need.node)).join(', ')}
    </Typography.Text>
  );
}

function NodesTable({ dag, states, actions, onNodeClick, height = 520 }: WorkflowDagProps) {
  const { t } = useTranslation();
  const rows = useMemo<Row[]>(() => dag.nodes.map((node) => {
    const runs = nodeRuns(node.spec, t);
    return { id: node.id, runs: runs.kind === 'task' ? `${t('workflow.task')}: ${runs.text}` : runs.text, needs: needsOf(node.spec), run: node.spec.run, state: states?.get(node.id) };
  }), [dag, states, t]);
  // Long lists render only the rows in view.
  const virtual = rows.length > 200;
  return (
    <Table<Row>
      rowKey="id" size="small" dataSource={rows} pagination={false} virtual={virtual} scroll={virtual ? { x: 960, y: height } : { x: true }}
      data-testid="dag-list" onRow={onNodeClick && !states ? (row) => ({ onClick: () => onNodeClick(row.id), style: { cursor: 'pointer' } }) : undefined}
      columns={[
        { title: t('dag.node'), dataIndex: 'id', width: 200, render: (id: string) => <Typography.Text strong data-testid="dag-list-node">{id}</Typography.Text> },
        ...(states ? [
          { title: t('dag.status'), key: 'status', width: 120, render: (_: unknown, row: Row) => <StatusTag status={row.state?.status ?? null} /> },
          {
            title: t('dag.reason'), key: 'reason', width: 200,
            render: (_: unknown, row: Row) => (row.state?.reason ? t(`reasons.${row.state.reason}`, { defaultValue: row.state.reason }) : '—'),
          },
          { title: t('dag.duration'), key: 'duration', width: 110, render: (_: unknown, row: Row) => formatDuration(durationBetween(row.state?.startedAt ?? null, row.state?.finishedAt ?? null)) },
          { title: t('dag.attempts'), key: 'attempts', width: 90, render: (_: unknown, row: Row) => row.state?.attempts ?? '—' },
        ] : [
          { title: t('dag.what'), dataIndex: 'runs', width: 260, render: (v: string) => <Typography.Text style={{ fontSize: 12 }} ellipsis={{ tooltip: v }}>{v}</Typography.Text> },
          { title: t('workflow.runsWhen'), dataIndex: 'run', width: 160, render: (v: string | undefined) => t(`runConditions.${v ?? 'on-success'}`, { defaultValue: String(v) }) },
        ]),
        { title: t('dag.needs'), key: 'needs', width: 260, render: (_: unknown, row: Row) => <NeedsCell needs={row.needs} /> },
        ...(states ? [{
          title: t('dag.run'), key: 'run', width: 110,
          render: (_: unknown, row: Row) => (row.state?.runId ? <Link to={`/runs/${row.state.runId}`} data-testid="dag-list-run">{t('dag.openRun')}</Link> : '—'),
        }] : []),
        ...(actions ? [{ title: t('dag.actions'), key: 'actions', width: 120, render: (_: unknown, row: Row) => actions(row.id) }] : []),
      ]}
    />
  );
}
