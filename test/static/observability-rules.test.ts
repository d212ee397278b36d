// Static checks of the observability config in deploy/: the Prometheus config
// and alert rules pass promtool (check config, check rules, and the rules'
// unit tests in deploy/alert-rules.test.yml), every Grafana panel's query
// parses, every alert carries what an on-call engineer needs (for, severity,
// summary, description, a runbook annotation) and its runbook entry exists in
// docs/runbook.md, section "Alerts", with the command that diagnoses it.
// Whether the metrics they use are exported is test/integration/observability-metrics.test.ts.
//
// promtool comes from stack/toolchain.ts (PROMTOOL, PATH, or built into the
// tools cache by `npm run provision`; built here on first run if missing).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadStackConfig } from '../../config';
import { ensurePromtool } from '../../stack/toolchain';
import {
  ALERT_RULES_FILE,
  ALERT_RULES_TEST_FILE,
  alertRules,
  dashboardExpressions,
  headingAnchor,
  metricNamesOf,
  PROMETHEUS_CONFIG_FILE,
  REPO_ROOT,
  ruleExpressions,
  RUNBOOK_FILE,
  runbookSections,
  selectorsOf,
  withGrafanaVariables,
} from '../support/observability-config';

const run = promisify(execFile);
const SEVERITIES = ['page', 'warning'];
const RUNBOOK = path.relative(REPO_ROOT, RUNBOOK_FILE);

let promtool = '';

beforeAll(async () => {
  promtool = await ensurePromtool(loadStackConfig().tools, (line) => console.log(`[observability-rules] ${line}`));
}, 15 * 60_000);

/** promtool's exit code and its whole output (it reports on stdout and stderr both). */
async function promtoolRun(args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(promtool, args, { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message };
  }
}

describe('promtool accepts deploy/', () => {
  it('deploy/prometheus.yml is a valid config whose rule files load', async () => {
    const { code, output } = await promtoolRun(['check', 'config', PROMETHEUS_CONFIG_FILE]);
    expect(code, `promtool check config ${path.relative(REPO_ROOT, PROMETHEUS_CONFIG_FILE)} failed:\n${output}`).toBe(0);
  });

  it('every expression in deploy/alert-rules.yml parses and every rule is well formed', async () => {
    const { code, output } = await promtoolRun(['check', 'rules', '--lint=all', '--lint-fatal', ALERT_RULES_FILE]);
    expect(code, `promtool check rules ${path.relative(REPO_ROOT, ALERT_RULES_FILE)} failed:\n${output}`).toBe(0);
  });

  it("the alert rules' unit tests pass (deploy/alert-rules.test.yml)", async () => {
    const { code, output } = await promtoolRun(['test', 'rules', ALERT_RULES_TEST_FILE]);
    expect(code, `promtool test rules ${path.relative(REPO_ROOT, ALERT_RULES_TEST_FILE)} failed (exp: what the test file expects, got: what the rules did):\n${output}`).toBe(0);
  });

  it("every Grafana panel's query parses (checked as a recording rule, Grafana's $__ intervals at 5m)", async () => {
    const expressions = dashboardExpressions();
    expect(expressions, 'deploy/grafana/dashboards/ has no panel queries').not.toHaveLength(0);
    const rules = expressions.map((e, i) => ({ record: `dashboard_query_${i}`, expr: withGrafanaVariables(e.expr) }));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-queries-'));
    try {
      const file = path.join(dir, 'dashboard-queries.yml');
      fs.writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
      const { code, output } = await promtoolRun(['check', 'rules', file]);
      const legend = expressions.map((e, i) => `  dashboard_query_${i}: ${e.where}: ${e.expr}`).join('\n');
      expect(code, `a dashboard query does not parse:\n${output}\nwhich query is which:\n${legend}`).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('every alert says what it is and where its runbook entry is', () => {
  const rules = alertRules();
  const sections = runbookSections();

  it('deploy/alert-rules.yml has the alerts the on-call needs', () => {
    const names = rules.map((r) => r.alert);
    for (const needed of [
      'CheckoutErrorRateHigh',
      'CheckoutLatencyP99OverBudget',
      'ProviderBreakerOpen',
      'ProviderRetryBudgetExhausted',
      'PaymentPendingTooOld',
      'OutboxLag',
      'WebhookDeadLettersGrowing',
      'ReconciliationMismatch',
      'DbPoolSaturated',
    ]) {
      expect(names, `deploy/alert-rules.yml has no alert ${needed}`).toContain(needed);
    }
    expect(new Set(names).size, `an alert name is used twice in deploy/alert-rules.yml: ${names.join(', ')}`).toBe(names.length);
  });

  it.each(rules.map((r) => [r.alert, r] as const))('%s has a for:, a severity, a summary, a description and a runbook annotation', (name, rule) => {
    expect(rule.for, `alert ${name}: set for: (how long the condition must hold), so one bad scrape does not page`).toMatch(/^\d+[smhd]$/);
    expect(SEVERITIES, `alert ${name}: labels.severity must be one of ${SEVERITIES.join(', ')}`).toContain(rule.labels?.severity);
    for (const annotation of ['summary', 'description', 'runbook']) {
      expect(rule.annotations?.[annotation]?.trim(), `alert ${name}: annotations.${annotation} is missing`).toBeTruthy();
    }
  });

  it.each(rules.map((r) => [r.alert, r] as const))("%s's runbook annotation names its entry in the runbook's Alerts section", (name, rule) => {
    const runbook = rule.annotations?.runbook ?? '';
    const [file, anchor] = runbook.split('#');
    expect(file, `alert ${name}: annotations.runbook must be ${RUNBOOK}#<anchor>, not "${runbook}"`).toBe(RUNBOOK);
    expect(anchor, `alert ${name}: annotations.runbook must be ${RUNBOOK}#${headingAnchor(name)} (the heading "### ${name}")`).toBe(headingAnchor(name));
    const section = sections.get(anchor as string);
    expect(section, `${RUNBOOK} has no heading for alert ${name}: add "### ${name}" under "## Alerts" (anchor #${anchor})`).toBeDefined();
    expect(section?.level, `${RUNBOOK}: "${section?.title}" must be a ### entry under "## Alerts"`).toBe(3);
    const alertsSection = sections.get('alerts')?.body ?? '';
    expect(alertsSection, `${RUNBOOK}: "### ${name}" must stand under "## Alerts"`).toContain(`### ${name}\n`);
    const body = section?.body ?? '';
    for (const part of ['**Means.**', '**Diagnose.**', '**Do.**']) {
      expect(body, `${RUNBOOK}, "### ${name}": say ${part}`).toContain(part);
    }
    const diagnose = body.slice(body.indexOf('**Diagnose.**'), body.indexOf('**Do.**'));
    expect(diagnose, `${RUNBOOK}, "### ${name}": **Diagnose.** must give a command to run, in backticks`).toMatch(/`(curl|psql|temporal|npm|docker|promtool|SELECT)\b[^`]*`/);
  });

  it("the runbook's Alerts section has no entry for an alert that does not exist", () => {
    const alerts = sections.get('alerts');
    expect(alerts, `${RUNBOOK} has no "## Alerts" section`).toBeDefined();
    const entries = [...(alerts?.body ?? '').matchAll(/^### (.+)$/gm)].map((m) => (m[1] as string).trim());
    const names = rules.map((r) => r.alert);
    expect(entries.filter((e) => !names.includes(e)), `${RUNBOOK}, "## Alerts": entries for alerts deploy/alert-rules.yml does not have`).toEqual([]);
  });

  it("the links in the runbook's Alerts section lead to headings that exist", () => {
    const body = sections.get('alerts')?.body ?? '';
    const broken = [...body.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1] as string).filter((a) => !sections.has(a));
    expect(broken, `${RUNBOOK}, "## Alerts": links to anchors no heading has`).toEqual([]);
  });

  it('every metric an alert uses is also on the dashboard, so the on-call sees what paged them', () => {
    const onDashboard = new Set(dashboardExpressions().flatMap((e) => metricNamesOf(withGrafanaVariables(e.expr))));
    const missing = ruleExpressions().flatMap((e) => metricNamesOf(e.expr).filter((m) => !onDashboard.has(m)).map((m) => `${m} (${e.where})`));
    expect(missing, 'metrics the alert rules use that no panel of deploy/grafana/dashboards/ shows').toEqual([]);
  });
});

describe('the metric-name reader the observability tests rely on', () => {
  it.each([
    ['sum by (le) (rate(http_request_duration_seconds_bucket{method="POST", route="/checkout"}[5m]))', ['http_request_duration_seconds_bucket']],
    ['sum by (provider) (increase(provider_breaker_transitions_total{to="open"}[5m])) > 0 or max by (provider) (provider_breaker_state) == 2', ['provider_breaker_transitions_total', 'provider_breaker_state']],
    ['x_total unless x_total offset 1h', ['x_total']],
    ['delta(max(webhook_deliveries{state="dead"})[1h:1m]) > 0', ['webhook_deliveries']],
    ['sum(a{job="api"}) / on (job, instance) group_left (state) max without (le) (b) # the rest is a comment: c_total', ['a', 'b']],
    ['histogram_quantile(0.99, sum(rate(d_bucket{le=~"1|2", name="sum(e)"}[5m])) by (le)) > bool 1e3', ['d_bucket']],
    ['{__name__="f_total", kind="x"}', ['f_total']],
    ['up{job=~"api|worker"} == 0', ['up']],
  ])('%s uses %j', (expr, names) => {
    expect(metricNamesOf(expr)).toEqual(names);
  });

  it('reads the label names of a selector', () => {
    expect(selectorsOf('sum(rate(m{method="POST", route!~"/x"}[5m]))')).toEqual([{ metric: 'm', labels: ['method', 'route'] }]);
  });
});
