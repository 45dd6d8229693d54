/**
 * One node of a workflow graph on the canvas: its id, what it runs, and (in a run) its status and
 * duration, coloured as the status's tag is. A node with validation issues has a red border and
 * the issues in a tooltip.
 */
import { Handle, Position, type Node, type NodeProps } from '@xyflow/react';
import { theme, Tooltip } from 'antd';
import { memo } from 'react';
import { NODE_HEIGHT, NODE_WIDTH } from '../../workflow/layout.ts';
import { useStatusColors } from '../common.tsx';

export interface DagNodeData extends Record<string, unknown> {
  id: string;
  /** What it runs (task or target). */
  runs: string;
  /** A status to colour the node by; none in a spec's graph. */
  status?: string | null;
  /** Below what it runs: the status and duration in a run, the run condition in a spec. */
  detail?: string;
  issues?: string[];
  /** The editor's nodes take and give edges. */
  connectable?: boolean;
}

export type DagFlowNode = Node<DagNodeData, 'dag'>;

const LINE = { whiteSpace: 'nowrap', overflow: 'hidden', textOverflow: 'ellipsis' } as const;

export const DagNodeView = memo(function DagNodeView({ data, selected }: NodeProps<DagFlowNode>) {
  const { token } = theme.useToken();
  const colorsOf = useStatusColors();
  const colors = data.status
    ? colorsOf(data.status)
    : { background: token.colorBgContainer, border: token.colorBorder, color: token.colorTextSecondary, accent: token.colorTextQuaternary };
  const invalid = !!data.issues?.length;
  const frame = invalid ? token.colorError : selected ? token.colorPrimary : colors.border;
  const handle = { width: 8, height: 8, opacity: data.connectable ? 1 : 0, background: token.colorTextTertiary };
  const box = (
    <div
      data-testid="dag-node" data-node-id={data.id} data-status={data.status ?? undefined} data-invalid={invalid ? 'true' : undefined}
      style={{
        width: NODE_WIDTH, height: NODE_HEIGHT, boxSizing: 'border-box', padding: '3px 8px', borderRadius: 6, fontSize: 12, lineHeight: '16px',
        background: colors.background, border: `${invalid || selected ? 2 : 1}px solid ${frame}`, borderLeft: `4px solid ${invalid ? token.colorError : colors.accent}`,
        boxShadow: selected ? `0 0 0 2px ${token.colorPrimaryBorder}` : undefined, color: token.colorText, cursor: 'pointer',
      }}
    >
      <Handle type="target" position={Position.Left} isConnectable={!!data.connectable} style={handle} />
      <div style={{ ...LINE, fontWeight: 600 }}>{data.id}</div>
      <div style={{ ...LINE, color: token.colorTextSecondary }}>{data.runs}</div>
      {data.detail && <div style={{ ...LINE, color: data.status ? colors.color : token.colorTextTertiary }} data-testid="dag-node-detail">{data.detail}</div>}
      <Handle type="source" position={Position.Right} isConnectable={!!data.connectable} style={handle} />
    </div>
  );
  if (!invalid) return box;
  return (
    <Tooltip title={<div data-testid="dag-node-issues">{data.issues!.map((issue, i) => <div key={i}>{issue}</div>)}</div>} color={token.colorError}>
      {box}
    </Tooltip>
  );
});

export const NODE_TYPES = { dag: DagNodeView };

const HANDLE = 8;
/**
 * Where the two handles are (as the default handle styles place them: centred on the left and
 * right borders). Given with the node's size, they let the canvas draw edges without measuring
 * the nodes in the page, so rebuilding the nodes (every second on a run's page) re-measures none.
 */
const HANDLES: NonNullable<DagFlowNode['handles']> = [
  { type: 'target', position: Position.Left, x: -HANDLE / 2, y: NODE_HEIGHT / 2 - HANDLE / 2, width: HANDLE, height: HANDLE },
  { type: 'source', position: Position.Right, x: NODE_WIDTH - HANDLE / 2, y: NODE_HEIGHT / 2 - HANDLE / 2, width: HANDLE, height: HANDLE },
];

/** A canvas node of the graph, sized and with its handles placed. */
export function dagFlowNode(id: string, position: { x: number; y: number }, data: DagNodeData, rest: Partial<DagFlowNode> = {}): DagFlowNode {
  return {
    id, type: 'dag', position, data, width: NODE_WIDTH, height: NODE_HEIGHT,
    measured: { width: NODE_WIDTH, height: NODE_HEIGHT }, handles: HANDLES, ...rest,
  };
}
