// Reads deploy/'s alert rules and Grafana dashboards for the observability
// tests: every PromQL expression with where it came from, the metric names an
// expression uses, and the metric families a /metrics text exports. Whether
// an expression parses is promtool's call (stack/toolchain.ts ensurePromtool);
// the names come from a tokenizer that knows PromQL's lexical rules well
// enough to skip everything that is not a metric name.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const ALERT_RULES_FILE = path.join(REPO_ROOT, 'deploy', 'alert-rules.yml');
export const ALERT_RULES_TEST_FILE = path.join(REPO_ROOT, 'deploy', 'alert-rules.test.yml');
export const PROMETHEUS_CONFIG_FILE = path.join(REPO_ROOT, 'deploy', 'prometheus.yml');
export const DASHBOARDS_DIR = path.join(REPO_ROOT, 'deploy', 'grafana', 'dashboards');
export const RUNBOOK_FILE = path.join(REPO_ROOT, 'docs', 'runbook.md');

/** Series Prometheus writes for every scrape itself: no process exports them. */
export const SCRAPE_SERIES = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added']);

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface RuleFile {
  groups?: { name: string; rules?: (AlertRule | { record: string; expr: string })[] }[];
}

export function alertRules(file = ALERT_RULES_FILE): AlertRule[] {
  const doc = parse(fs.readFileSync(file, 'utf8')) as RuleFile;
  return (doc.groups ?? []).flatMap((g) => (g.rules ?? []).filter((r): r is AlertRule => 'alert' in r));
}

/** One PromQL expression and where it stands, for failure messages. */
export interface Expression {
  where: string;
  expr: string;
}

export function ruleExpressions(file = ALERT_RULES_FILE): Expression[] {
  const doc = parse(fs.readFileSync(file, 'utf8')) as RuleFile;
  return (doc.groups ?? []).flatMap((g) =>
    (g.rules ?? []).map((r) => ({ where: `${path.relative(REPO_ROOT, file)}: ${'alert' in r ? `alert ${r.alert}` : `record ${r.record}`}`, expr: r.expr })),
  );
}

interface Panel {
  title?: string;
  type?: string;
  targets?: { expr?: string; refId?: string }[];
  panels?: Panel[];
}

export function dashboardFiles(): string[] {
  return fs
    .readdirSync(DASHBOARDS_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => path.join(DASHBOARDS_DIR, f));
}

/** Every panel query of the dashboards, rows' nested panels included. */
export function dashboardExpressions(files = dashboardFiles()): Expression[] {
  return files.flatMap((file) => {
    const dashboard = JSON.parse(fs.readFileSync(file, 'utf8')) as { panels?: Panel[] };
    const walk = (panels: Panel[]): Expression[] =>
      panels.flatMap((p) => [
        ...(p.targets ?? []).filter((t) => t.expr).map((t) => ({ where: `${path.relative(REPO_ROOT, file)}: panel "${p.title}" query ${t.refId}`, expr: t.expr as string })),
        ...walk(p.panels ?? []),
      ]);
    return walk(dashboard.panels ?? []);
  });
}

/** Grafana's built-in interval variables, as Prometheus would get them. Any other `$variable` is refused: the tests cannot know its values. */
export function withGrafanaVariables(expr: string): string {
  const replaced = expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m');
  const unknown = /\$\{?\w+/.exec(replaced);
  if (unknown) throw new Error(`the expression uses the variable ${unknown[0]}, which the observability tests do not know how to fill in: ${expr}`);
  return replaced;
}

const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'atan2', 'inf', 'nan', 'smoothed', 'anchored']);
const STRING = /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g;

/** A selector of an expression: its metric name and the label names its matchers use. */
export interface Selector {
  metric: string;
  labels: string[];
}

/**
 * The metric selectors an expression uses. Skipped: functions and
 * aggregations (a name before `(`, or an aggregation before by/without),
 * keywords, label lists after by/without/on/ignoring/group_*, matchers'
 * values, ranges and durations, numbers, strings and comments.
 */
export function selectorsOf(expression: string): Selector[] {
  // strings become empty ones, so a `#`, bracket or name inside one means nothing below
  const named = [...expression.matchAll(/__name__\s*=\s*"([^"]+)"/g)].map((m) => m[1] as string);
  let s = expression.replace(STRING, '""').replace(/#[^\n]*/g, ' ');
  s = s.replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' $1 ');
  const selectors: Selector[] = [];
  const tokens = [...s.matchAll(/([A-Za-z_:][\w:]*)|(\d[\w.]*)|(\{[^}]*\})|(\S)/g)];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as RegExpMatchArray;
    const word = t[1];
    if (t[3] !== undefined) {
      // a matcher block with no name before it: {__name__="..."}
      const previous = tokens[i - 1]?.[1];
      if (previous === undefined || KEYWORDS.has(previous)) selectors.push(...named.map((metric) => ({ metric, labels: labelNamesOf(t[3] as string) })));
      continue;
    }
    if (word === undefined) continue;
    const next = tokens[i + 1]?.[0];
    if (KEYWORDS.has(word.toLowerCase())) continue;
    if (next === '(') continue; // a function or an aggregation
    if (AGGREGATIONS.has(word) && (next === 'by' || next === 'without')) continue;
    const matchers = next?.startsWith('{') ? labelNamesOf(next) : [];
    selectors.push({ metric: word, labels: matchers });
  }
  return selectors;
}

function labelNamesOf(block: string): string[] {
  return [...block.matchAll(/([A-Za-z_][\w]*)\s*(?:=~|!~|!=|=)\s*""/g)].map((m) => m[1] as string).filter((l) => l !== '__name__');
}

export function metricNamesOf(expression: string): string[] {
  return [...new Set(selectorsOf(expression).map((s) => s.metric))];
}

/** What a /metrics text exports: families by # HELP / # TYPE (with their type), and the label names seen on each family's samples. */
export interface Exported {
  types: Map<string, string>;
  /** sample name → label names seen on it */
  samples: Map<string, Set<string>>;
}

export function parseExposition(text: string, into: Exported = { types: new Map(), samples: new Map() }): Exported {
  for (const line of text.split('\n')) {
    const meta = /^#\s+(HELP|TYPE)\s+([A-Za-z_:][\w:]*)(?:\s+(\S+))?/.exec(line);
    if (meta) {
      const name = meta[2] as string;
      if (meta[1] === 'TYPE') into.types.set(name, meta[3] ?? 'untyped');
      else if (!into.types.has(name)) into.types.set(name, 'untyped');
      continue;
    }
    const sample = /^([A-Za-z_:][\w:]*)(\{[^}]*\})?\s/.exec(line);
    if (!sample) continue;
    const labels = into.samples.get(sample[1] as string) ?? new Set<string>();
    for (const m of (sample[2] ?? '').matchAll(/([A-Za-z_]\w*)="/g)) labels.add(m[1] as string);
    into.samples.set(sample[1] as string, labels);
  }
  return into;
}

const SUFFIXES: Record<string, string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['_sum', '_count'], counter: ['_total'] };

/** The family a used name belongs to, if exported: the name itself, or a histogram's _bucket/_sum/_count, a summary's _sum/_count, a counter's _total. */
export function familyOf(name: string, exported: Exported): string | undefined {
  if (exported.types.has(name) || exported.samples.has(name)) return name;
  for (const [type, suffixes] of Object.entries(SUFFIXES)) {
    for (const suffix of suffixes) {
      if (!name.endsWith(suffix)) continue;
      const base = name.slice(0, -suffix.length);
      if (exported.types.get(base) === type) return base;
    }
  }
  return undefined;
}

/** GitHub's anchor for a heading: lower case, punctuation but - and _ dropped, spaces to -. */
export function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The runbook's headings by anchor, with the text under each up to the next heading of the same or a higher level. */
export function runbookSections(file = RUNBOOK_FILE): Map<string, { level: number; title: string; body: string }> {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const sections = new Map<string, { level: number; title: string; body: string }>();
  const headings = lines.flatMap((line, index) => {
    const m = /^(#{1,6})\s+(.*)$/.exec(line);
    return m ? [{ index, level: (m[1] as string).length, title: m[2] as string }] : [];
  });
  headings.forEach((h, k) => {
    const end = headings.slice(k + 1).find((n) => n.level <= h.level)?.index ?? lines.length;
    sections.set(headingAnchor(h.title), { level: h.level, title: h.title, body: lines.slice(h.index + 1, end).join('\n') });
  });
  return sections;
}
