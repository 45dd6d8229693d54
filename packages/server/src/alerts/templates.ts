/**
 * Alert messages, rendered from a notification in the channel's locale (English or Chinese): a
 * title, and the same body as plain text (generic webhooks, e-mail), Markdown (DingTalk, WeCom,
 * Feishu cards), Slack mrkdwn and HTML (e-mail). The title says the state, the severity, the
 * subject and what the rule saw ("[FIRING · critical] Task nightly-report: run failed"); the body
 * gives the rule's summary, then the rule, the namespace, the time, the details and a link.
 *
 * Values come from users (names, error messages): each format escapes what it must (HTML, Slack's
 * `&<>`, Markdown's emphasis and link characters), and every detail is cut to 500 characters on
 * one line, so that a stack trace cannot flood a chat.
 */
import type { AlertLocale, AlertNotification } from '@ecron/contracts';
import { detailText, PHRASES, type Phrases } from './template-phrases.ts';

export interface RenderedNotification {
  title: string;
  text: string;
  markdown: string;
  slackMrkdwn: string;
  html: string;
}

/** The longest a detail value is shown. */
const MAX_DETAIL_CHARS = 500;
/** The most details shown. */
const MAX_DETAILS = 20;

interface Line {
  label: string;
  value: string;
}

function oneLine(value: string, max = MAX_DETAIL_CHARS): string {
  const flat = value.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** The title: state, severity, subject and what the rule saw. */
export function renderTitle(n: AlertNotification, locale: AlertLocale): string {
  const p = PHRASES[locale];
  const what = n.test ? p.testWhat : n.state === 'resolved' ? p.rule[n.rule.on].resolved : p.rule[n.rule.on].firing(n.details);
  const subject = `${p.subject[n.subject.kind]} ${oneLine(n.subject.name, 200)}`;
  const state = n.test ? p.test : p.state[n.state];
  if (locale === 'zh') return `【${state}·${p.severity[n.severity]}】${subject}${p.colon}${what}`;
  return `[${state} · ${p.severity[n.severity]}] ${subject}: ${what}`;
}

function lines(n: AlertNotification, p: Phrases): { head: Line[]; details: Line[] } {
  const head: Line[] = [
    { label: p.labels.rule, value: n.test ? oneLine(n.rule.name, 200) : `${oneLine(n.rule.name, 200)} (${n.rule.on})` },
    { label: p.labels.severity, value: p.severity[n.severity] },
    { label: p.subject[n.subject.kind], value: n.subject.id && n.subject.id !== n.subject.name ? `${oneLine(n.subject.name, 200)} (${oneLine(n.subject.id, 200)})` : oneLine(n.subject.name, 200) },
    { label: p.labels.namespace, value: oneLine(n.namespace, 200) },
    { label: p.labels.at, value: n.at },
  ];
  if (!n.test) head.push({ label: p.labels.incident, value: oneLine(n.incidentId, 200) });
  const details = Object.entries(n.details).filter(([, value]) => value !== undefined && value !== null).slice(0, MAX_DETAILS)
    .map(([key, value]) => ({ label: p.details[key] ?? oneLine(key, 100), value: oneLine(detailText(key, value)) }));
  return { head, details };
}

function summary(n: AlertNotification, p: Phrases): string {
  return n.test ? p.testSummary : n.summary.trim();
}

export function renderText(n: AlertNotification, locale: AlertLocale): string {
  const p = PHRASES[locale];
  const { head, details } = lines(n, p);
  const out = [renderTitle(n, locale), '', summary(n, p), '', ...head.map((l) => `${l.label}${p.colon}${l.value}`)];
  if (details.length > 0) out.push('', `${p.labels.details}${p.colon}`, ...details.map((l) => `  ${l.label}${p.colon}${l.value}`));
  if (n.url) out.push('', `${p.labels.open}${p.colon}${n.url}`);
  return out.join('\n');
}

/**
 * Markdown's emphasis, code, link and tag characters escaped (`_` is left: inside words, where
 * identifiers have it, it is no emphasis, and not every chat client drops the backslash of `\_`).
 */
export function escapeMarkdown(value: string): string {
  return value.replace(/([\\`*[\]<>])/g, '\\$1');
}

/** The body in Markdown, without the title (each platform shows it its own way). */
export function renderMarkdownBody(n: AlertNotification, locale: AlertLocale): string {
  const p = PHRASES[locale];
  const { head, details } = lines(n, p);
  const out = [escapeMarkdown(summary(n, p)), '', ...head.map((l) => `**${l.label}**${p.colon}${escapeMarkdown(l.value)}`)];
  if (details.length > 0) out.push('', `**${p.labels.details}**`, ...details.map((l) => `- ${escapeMarkdown(l.label)}${p.colon}${escapeMarkdown(l.value)}`));
  if (n.url) out.push('', `[${p.labels.open}](${n.url.replace(/[()\s]/g, encodeURIComponent)})`);
  return out.join('\n');
}

/** Slack's three escapes. */
export function escapeSlack(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function renderSlack(n: AlertNotification, p: Phrases): string {
  const { head, details } = lines(n, p);
  const out = [escapeSlack(summary(n, p)), '', ...head.map((l) => `*${escapeSlack(l.label)}*${p.colon}${escapeSlack(l.value)}`)];
  if (details.length > 0) out.push('', `*${p.labels.details}*`, ...details.map((l) => `• ${escapeSlack(l.label)}${p.colon}${escapeSlack(l.value)}`));
  if (n.url) out.push('', `<${n.url.replace(/[|<>]/g, encodeURIComponent)}|${p.labels.open}>`);
  return out.join('\n');
}

export function escapeHtml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function renderHtml(n: AlertNotification, locale: AlertLocale, p: Phrases): string {
  const { head, details } = lines(n, p);
  const row = (l: Line) => `<tr><th align="left" style="padding:2px 12px 2px 0">${escapeHtml(l.label)}</th><td>${escapeHtml(l.value)}</td></tr>`;
  const parts = [
    `<!doctype html><html lang="${locale}"><body style="font-family:sans-serif">`,
    `<h2>${escapeHtml(renderTitle(n, locale))}</h2>`,
    `<p>${escapeHtml(summary(n, p))}</p>`,
    `<table>${head.map(row).join('')}</table>`,
  ];
  if (details.length > 0) parts.push(`<h3>${escapeHtml(p.labels.details)}</h3><table>${details.map(row).join('')}</table>`);
  if (n.url) parts.push(`<p><a href="${escapeHtml(n.url)}">${escapeHtml(p.labels.open)}</a></p>`);
  parts.push('</body></html>');
  return parts.join('\n');
}

export function renderNotification(n: AlertNotification, locale: AlertLocale): RenderedNotification {
  const p = PHRASES[locale];
  return {
    title: renderTitle(n, locale),
    text: renderText(n, locale),
    markdown: renderMarkdownBody(n, locale),
    slackMrkdwn: renderSlack(n, p),
    html: renderHtml(n, locale, p),
  };
}

/** `text` cut to at most `maxBytes` of UTF-8, ending with "…" when cut (never inside a character). */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let out = '';
  let size = 0;
  for (const char of text) {
    const bytes = Buffer.byteLength(char);
    if (size + bytes > maxBytes - 3) break;
    out += char;
    size += bytes;
  }
  return `${out}…`;
}
