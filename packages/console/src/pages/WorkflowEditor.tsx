/**
 * The workflow editor (`/workflows/new`, `/workflows/:id/edit`): the graph on a canvas beside the
 * spec's YAML, each following the other. On the canvas: add and edit nodes (a task of the
 * namespace, or an inline target), drag from a node's right handle to another node to add a need,
 * click an edge to switch it between required and optional (dashed), delete the selection,
 * lay out again. The YAML redraws the canvas whenever it parses.
 *
 * Every change is validated by the API (POST /workflows/validate, debounced): the nodes its
 * issues name get a red border and the messages in a tooltip, and the edge closing a cycle turns
 * red. Save creates the workflow or a new revision of it, then opens its page.
 */
import { DeleteOutlined, EditOutlined, LayoutOutlined, PlusOutlined, SaveOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Background, Controls, MarkerType, MiniMap, ReactFlow, type Connection, type Edge, type EdgeChange, type NodeChange, type ReactFlowInstance,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { Alert, App, Button, Card, Col, Input, Row, Space, Spin, Tag, theme, Tooltip, Typography } from 'antd';
import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams } from 'react-router-dom';
import YAML from 'yaml';
import { api, ApiError, saveWorkflow, validateWorkflow, type FieldIssue, type WorkflowResource } from '../api.ts';
import { ErrorView, errorMessage } from '../components/common.tsx';
import { dagFlowNode, NODE_TYPES, type DagFlowNode } from '../components/workflow/DagNodeView.tsx';
import { NodeModal } from '../components/workflow/NodeModal.tsx';
import { useDagLayout } from '../components/workflow/useDagLayout.ts';
import { useNamespace } from '../namespace.tsx';
import { specToText } from '../spec.ts';
import {
  addNeed, addNode, compactNeeds, markIssues, nodeRuns, removeNeeds, removeNodes, replaceNode, specToDag, toggleNeedOptional,
} from '../workflow/graph.ts';
import { LARGE_DAG, type Point } from '../workflow/layout.ts';
import type { WorkflowNodeSpec, WorkflowSpec } from '../workflow/types.ts';

const NEW_SPEC: WorkflowSpec = { namespace: 'default', name: '', schedule: { manual: true }, nodes: [] };
const VALIDATE_AFTER_MS = 400;
const CANVAS_HEIGHT = 620;

export default function WorkflowEditor() {
  const { id } = useParams() as { id?: string };
  // Read once: a refresh must not undo the edits.
  const existing = useQuery({
    queryKey: ['workflow', id, 'edit'],
    queryFn: () => api<WorkflowResource>('GET', `/workflows/${encodeURIComponent(id!)}`),
    enabled: !!id,
    staleTime: Infinity,
    gcTime: 0,
  });
  if (id && existing.error) return <ErrorView error={existing.error} />;
  if (id && !existing.data) return <Spin />;
  return <Editor key={id ?? 'new'} workflow={existing.data} />;
}

/** The API's last word on the spec; the previous one stays shown while the next is awaited. */
type Validation =
  | { state: 'idle' | 'ok' }
  | { state: 'issues'; spec: unknown; issues: FieldIssue[] }
  | { state: 'error'; message: string };

function Editor({ workflow }: { workflow?: WorkflowResource }) {
  const { t } = useTranslation();
  const { token } = theme.useToken();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const client = useQueryClient();
  const { namespace } = useNamespace();
  // A new workflow starts in the header's namespace.
  const [spec, setSpec] = useState<WorkflowSpec>(() => (workflow ? compactNeeds(workflow.spec) : { ...NEW_SPEC, namespace: namespace ?? NEW_SPEC.namespace }));
  const [text, setText] = useState(() => specToText(spec, 'yaml'));
  const [parseError, setParseError] = useState<string | null>(null);
  /** Where the user dragged nodes; the others go where the layout puts them. */
  const [pinned, setPinned] = useState<Record<string, Point>>({});
  const [selected, setSelected] = useState<{ nodes: Set<string>; edges: Set<string> }>({ nodes: new Set(), edges: new Set() });
  const [nodeModal, setNodeModal] = useState<{ node?: WorkflowNodeSpec } | null>(null);
  const [validation, setValidation] = useState<Validation>({ state: 'idle' });
  const [validating, setValidating] = useState(false);
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<string | null>(null);

  /** A change made on the canvas or in the fields: the YAML is written anew. */
  function change(next: WorkflowSpec) {
    if (next === spec) return;
    setSpec(next);
    setText(specToText(next, 'yaml'));
    setParseError(null);
  }

  /** A change in the YAML: the canvas follows when it parses; the text stays as typed. */
  function editText(value: string) {
    setText(value);
    let parsed: unknown;
    try {
      parsed = YAML.parse(value);
    } catch (error) {
      setParseError(t('workflowEditor.yamlInvalid', { message: (error as Error).message }));
      return;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      setParseError(t('workflowEditor.notMapping'));
      return;
    }
    setParseError(null);
    setSpec(parsed as WorkflowSpec);
  }

  // The API validates the spec once typing pauses; an answer about an older spec is dropped.
  useEffect(() => {
    if (parseError) return;
    let live = true;
    const timer = setTimeout(() => {
      setValidating(true);
      validateWorkflow(spec).then(
        () => {
          if (!live) return;
          setValidating(false);
          setValidation({ state: 'ok' });
        },
        (error: unknown) => {
          if (!live) return;
          setValidating(false);
          if (error instanceof ApiError && error.code === 'VALIDATION_FAILED' && error.issues.length) setValidation({ state: 'issues', spec, issues: error.issues });
          else setValidation({ state: 'error', message: errorMessage(error) });
        },
      );
    }, VALIDATE_AFTER_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [spec, parseError]);

  const dag = useMemo(() => specToDag(spec), [spec]);
  const issues = validation.state === 'issues' ? validation : null;
  const marks = useMemo(() => markIssues(issues?.spec ?? null, issues?.issues ?? []), [issues]);
  // Laid out again when nodes or edges come or go, not when a node's content changes.
  const shape = dag.nodes.map((n) => n.id).join('\n') + '\n\n' + dag.edges.map((e) => e.id).join('\n');
  const layoutGraph = useMemo(() => ({ nodes: dag.nodes, edges: dag.edges }), [shape]);
  const layout = useDagLayout(layoutGraph, layoutGraph);
  const large = dag.nodes.length >= LARGE_DAG;
  const [flow, setFlow] = useState<ReactFlowInstance<DagFlowNode> | null>(null);
  // A new layout moves nodes: bring them all into view (once the canvas has taken the positions).
  useEffect(() => {
    if (!flow || !layout.layout || large) return;
    const frame = requestAnimationFrame(() => void flow.fitView({ padding: 0.15, maxZoom: 1, duration: 200 }));
    return () => cancelAnimationFrame(frame);
  }, [flow, layout.layout, large]);

  const nodes = useMemo<DagFlowNode[]>(() => dag.nodes.map((node) => {
    const runs = nodeRuns(node.spec, t);
    return dagFlowNode(node.id, pinned[node.id] ?? layout.layout?.positions[node.id] ?? { x: 0, y: 0 }, {
      id: node.id, connectable: true, issues: marks.nodes.get(node.id),
      runs: runs.kind === 'task' ? `${t('workflow.task')}: ${runs.text}` : runs.text,
      detail: t(`runConditions.${node.spec.run ?? 'on-success'}`, { defaultValue: String(node.spec.run) }),
    }, { selected: selected.nodes.has(node.id) });
  }), [dag, pinned, layout.layout, selected, marks, t]);
  const edges = useMemo<Edge[]>(() => dag.edges.map((edge) => {
    const problem = marks.edges.get(edge.id);
    const color = problem ? token.colorError : undefined;
    return {
      id: edge.id, source: edge.source, target: edge.target, selected: selected.edges.has(edge.id), interactionWidth: 16,
      markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16, ...(color ? { color } : {}) },
      style: { ...(edge.optional ? { strokeDasharray: '6 4' } : {}), ...(problem ? { stroke: color, strokeWidth: 2.5 } : {}) },
      ...(problem ? { label: t('workflowEditor.cycle'), labelStyle: { fill: token.colorError, fontWeight: 600 }, data: { problem } } : {}),
    };
  }), [dag, selected, marks, token, t]);

  function onNodesChange(changes: NodeChange<DagFlowNode>[]) {
    let moved: Record<string, Point> | null = null;
    let picked: Set<string> | null = null;
    for (const c of changes) {
      if (c.type === 'position' && c.position) moved = { ...(moved ?? {}), [c.id]: c.position };
      if (c.type === 'select') {
        picked ??= new Set(selected.nodes);
        if (c.selected) picked.add(c.id);
        else picked.delete(c.id);
      }
    }
    if (moved) setPinned((p) => ({ ...p, ...moved }));
    if (picked) setSelected((s) => ({ ...s, nodes: picked }));
  }

  function onEdgesChange(changes: EdgeChange[]) {
    let picked: Set<string> | null = null;
    for (const c of changes) {
      if (c.type !== 'select') continue;
      picked ??= new Set(selected.edges);
      if (c.selected) picked.add(c.id);
      else picked.delete(c.id);
    }
    if (picked) setSelected((s) => ({ ...s, edges: picked }));
  }

  function remove(nodeIds: string[], edgeList: { source: string; target: string }[]) {
    change(removeNeeds(removeNodes(spec, nodeIds), edgeList));
    setSelected({ nodes: new Set(), edges: new Set() });
  }

  function deleteSelected() {
    remove([...selected.nodes], dag.edges.filter((e) => selected.edges.has(e.id)));
  }

  function saveNode(node: WorkflowNodeSpec, previous?: WorkflowNodeSpec) {
    change(previous ? replaceNode(spec, previous.id, node) : addNode(spec, node));
    if (previous && previous.id !== node.id) {
      setPinned(({ [previous.id]: at, ...rest }) => (at ? { ...rest, [node.id]: at } : rest));
    }
    setNodeModal(null);
  }

  async function save() {
    if (parseError) {
      setSaveError(t('workflowEditor.fixYaml'));
      return;
    }
    setSaving(true);
    setSaveError(null);
    try {
      const saved = await saveWorkflow(spec, workflow?.id);
      message.success(t(workflow ? 'workflowEditor.saved' : 'workflowEditor.created', { name: `${saved.namespace}/${saved.name}` }));
      client.setQueryData(['workflow', saved.id], saved);
      await client.invalidateQueries({ queryKey: ['workflows'] });
      navigate(`/workflows/${saved.id}`);
    } catch (error) {
      if (error instanceof ApiError && error.code === 'VALIDATION_FAILED' && error.issues.length) setValidation({ state: 'issues', spec, issues: error.issues });
      setSaveError(errorMessage(error));
      setSaving(false);
    }
  }

  const field = (key: 'namespace' | 'name' | 'description') => ({
    value: typeof spec[key] === 'string' ? spec[key] : '',
    onChange: (e: { target: { value: string } }) => change({ ...spec, [key]: e.target.value || (key === 'description' ? undefined : '') }),
  });
  const oneSelected = selected.nodes.size === 1 ? dag.nodes.find((n) => selected.nodes.has(n.id))?.spec : undefined;

  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Space style={{ width: '100%', justifyContent: 'space-between' }} wrap>
        <Typography.Title level={3} style={{ margin: 0 }}>
          {workflow ? t('workflowEditor.editTitle', { name: workflow.name, revision: workflow.revision }) : t('workflowEditor.newTitle')}
        </Typography.Title>
        <Space wrap>
          <Link to={workflow ? `/workflows/${workflow.id}` : '/workflows'}><Button>{t('common.cancel')}</Button></Link>
          <Button type="primary" icon={<SaveOutlined />} loading={saving} disabled={!!parseError} onClick={save} data-testid="save-workflow">
            {workflow ? t('workflowEditor.save') : t('workflowEditor.create')}
          </Button>
        </Space>
      </Space>
      <Space wrap>
        <Space.Compact style={{ width: 240 }}>
          <Space.Addon>{t('common.namespace')}</Space.Addon>
          <Input {...field('namespace')} aria-label={t('common.namespace')} data-testid="workflow-namespace" disabled={!!workflow} />
        </Space.Compact>
        <Space.Compact style={{ width: 280 }}>
          <Space.Addon>{t('common.name')}</Space.Addon>
          <Input {...field('name')} aria-label={t('common.name')} data-testid="workflow-name" disabled={!!workflow} />
        </Space.Compact>
        <Space.Compact style={{ width: 420 }}>
          <Space.Addon>{t('workflowEditor.description')}</Space.Addon>
          <Input {...field('description')} aria-label={t('workflowEditor.description')} data-testid="workflow-description-input" />
        </Space.Compact>
      </Space>
      {saveError && <Alert type="error" showIcon closable onClose={() => setSaveError(null)} title={<span data-testid="save-error">{saveError}</span>} />}
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={15}>
          <Card size="small" styles={{ body: { padding: 8 } }}
            title={(
              <Space wrap size="small">
                <Button size="small" type="primary" icon={<PlusOutlined />} onClick={() => setNodeModal({})} data-testid="add-node">{t('workflowEditor.addNode')}</Button>
                <Button size="small" icon={<EditOutlined />} disabled={!oneSelected} onClick={() => setNodeModal({ node: oneSelected })} data-testid="edit-node">
                  {t('workflowEditor.editNode')}
                </Button>
                <Button size="small" danger icon={<DeleteOutlined />} disabled={!selected.nodes.size && !selected.edges.size} onClick={deleteSelected} data-testid="delete-selected">
                  {t('workflowEditor.deleteSelected')}
                </Button>
                <Button size="small" icon={<LayoutOutlined />} onClick={() => setPinned({})} data-testid="auto-layout">{t('workflowEditor.autoLayout')}</Button>
              </Space>
            )}>
            <Typography.Paragraph type="secondary" style={{ fontSize: 12, margin: '0 0 8px' }}>{t('workflowEditor.help')}</Typography.Paragraph>
            <div style={{ height: CANVAS_HEIGHT, position: 'relative' }} data-testid="editor-canvas">
              {layout.error && <Alert type="error" showIcon title={t('dag.layoutFailed', { message: layout.error })} />}
              {!layout.layout && !layout.error && <Spin description={t('dag.layingOut', { count: dag.nodes.length })}><div style={{ height: 200 }} /></Spin>}
              {layout.layout && (
                <ReactFlow<DagFlowNode>
                  nodes={nodes} edges={edges} nodeTypes={NODE_TYPES}
                  onNodesChange={onNodesChange} onEdgesChange={onEdgesChange}
                  onConnect={(c: Connection) => change(addNeed(spec, c.source, c.target))}
                  isValidConnection={(c) => c.source !== c.target}
                  onEdgeClick={(_, edge) => change(toggleNeedOptional(spec, edge.source, edge.target))}
                  onNodeDoubleClick={(_, node) => setNodeModal({ node: dag.nodes.find((n) => n.id === node.id)?.spec })}
                  onDelete={({ nodes: gone, edges: cut }) => remove(gone.map((n) => n.id), cut)}
                  deleteKeyCode={['Backspace', 'Delete']}
                  onInit={setFlow} onlyRenderVisibleElements={large} fitView fitViewOptions={{ maxZoom: 1 }} minZoom={0.05} maxZoom={2}
                >
                  <Background />
                  <Controls />
                  {!large && <MiniMap pannable zoomable />}
                </ReactFlow>
              )}
              {dag.nodes.length === 0 && (
                <Typography.Text type="secondary" style={{ position: 'absolute', top: '45%', width: '100%', textAlign: 'center', pointerEvents: 'none' }}>
                  {t('workflowEditor.empty')}
                </Typography.Text>
              )}
            </div>
          </Card>
        </Col>
        <Col xs={24} xl={9}>
          <Space orientation="vertical" style={{ width: '100%' }}>
            <Card size="small" title={t('workflowEditor.yaml')} extra={<ValidationTag validation={validation} validating={validating} parseError={!!parseError} />}>
              <Typography.Paragraph type="secondary" style={{ fontSize: 12, margin: '0 0 8px' }}>{t('workflowEditor.yamlHelp')}</Typography.Paragraph>
              <Input.TextArea value={text} onChange={(e) => editText(e.target.value)} aria-label={t('workflowEditor.yaml')} data-testid="workflow-yaml" spellCheck={false}
                style={{ fontFamily: 'monospace', fontSize: 12, height: CANVAS_HEIGHT - 120, resize: 'vertical' }} status={parseError ? 'error' : undefined} />
              {parseError && <Alert type="error" showIcon style={{ marginTop: 8 }} title={<span data-testid="yaml-error">{parseError}</span>} />}
            </Card>
            {validation.state === 'error' && <Alert type="warning" showIcon title={t('workflowEditor.validationFailed', { message: validation.message })} />}
            {issues && (
              <Card size="small" title={t('workflowEditor.issues', { count: issues.issues.length })}>
                <div data-testid="workflow-issues">
                  {issues.issues.map((issue, i) => (
                    <div key={i} style={{ padding: '6px 0', borderTop: i ? `1px solid ${token.colorSplit}` : undefined }}>
                      <Space wrap size={4}><Typography.Text code>{issue.path || '—'}</Typography.Text><Tag color="error">{issue.code}</Tag></Space>
                      <div><Typography.Text>{issue.message}</Typography.Text></div>
                    </div>
                  ))}
                </div>
              </Card>
            )}
          </Space>
        </Col>
      </Row>
      {nodeModal && (
        <NodeModal spec={spec} node={nodeModal.node} onClose={() => setNodeModal(null)} onSave={(node) => saveNode(node, nodeModal.node)} />
      )}
    </Space>
  );
}

function ValidationTag({ validation, validating, parseError }: { validation: Validation; validating: boolean; parseError: boolean }) {
  const { t } = useTranslation();
  if (parseError) return null;
  if (validating) return <Tag color="processing" data-testid="validation-state">{t('workflowEditor.validating')}</Tag>;
  switch (validation.state) {
    case 'ok': return <Tag color="success" data-testid="validation-state">{t('workflowEditor.valid')}</Tag>;
    case 'issues': return (
      <Tooltip title={validation.issues.map((i) => i.message).join('\n')}>
        <Tag color="error" data-testid="validation-state">{t('workflowEditor.issues', { count: validation.issues.length })}</Tag>
      </Tooltip>
    );
    default: return null;
  }
}
