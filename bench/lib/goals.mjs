// The figures Flotilla promises (issue 14's goals) and how each is read from the benchmarks'
// RESULT lines. A ratio's name says what is divided by what: `hub_over_jupyter` is Flotilla's
// figure divided by JupyterHub's path (configurable-http-proxy → jupyter-server).
export const GOALS = [
  { key: 'http_rps_hub_over_jupyter', label: 'front door req/s, hub ÷ JupyterHub path', at: 'least', goal: 1.5 },
  { key: 'http_p99_hub_over_jupyter', label: 'front door p99, hub ÷ JupyterHub path', at: 'most', goal: 1.0 },
  { key: 'fanout_single_p99_ms_200', label: 'one change → 200 subscribers, p99 ms', at: 'most', goal: 50 },
  { key: 'fanout_busy_p99_ms_200', label: 'busy run: job end → last of 200 subscribers, p99 ms', at: 'most', goal: 100 },
  { key: 'scheduler_tasks_per_s', label: 'trivial tasks per second', at: 'least', goal: 100 },
  { key: 'scheduler_total_cpu_ms_per_job', label: 'CPU per job, engine and wrapper, ms', at: 'most', goal: 10 },
  { key: 'coldstart_api_ms', label: 'cold start, API → first 200, ms', at: 'most', goal: 1000 },
  { key: 'coldstart_page_ms', label: 'cold start, browser → workflow list, ms', at: 'most', goal: 1200 },
  { key: 'memory_idle_mb', label: 'workflow server idle RSS, MB', at: 'most', goal: 60 },
  { key: 'memory_loaded_mb', label: 'with a 2,000-task workflow loaded, MB', at: 'most', goal: 100 },
  { key: 'memory_subscribers_mb', label: 'with 200 subscribers, MB', at: 'most', goal: 200 },
  { key: 'memory_busy_peak_mb', label: 'busy run peak, MB', at: 'most', goal: 200 },
  { key: 'authz_cached_decisions_per_s', label: 'cached authorization decisions per second', at: 'least', goal: 1_000_000 },
];

/** Each goal with the measured value and whether it was met (undefined when not measured). */
export function judge(figures) {
  return GOALS.map((g) => {
    const value = figures[g.key];
    const measured = typeof value === 'number' && Number.isFinite(value);
    const met = measured ? (g.at === 'least' ? value >= g.goal : value <= g.goal) : undefined;
    return { ...g, value: measured ? value : undefined, met };
  });
}

export function formatJudgement(rows) {
  const width = Math.max(...rows.map((r) => r.label.length));
  const number = (n) => (n === undefined ? 'not measured' : n >= 1000 ? Math.round(n).toLocaleString('en') : String(Math.round(n * 100) / 100));
  return rows
    .map((r) => `${r.label.padEnd(width)}  ${number(r.value).padStart(12)}  goal ${r.at === 'least' ? '≥' : '≤'} ${number(r.goal).padEnd(10)} ${r.met === undefined ? '—' : r.met ? 'met' : 'NOT met'}`)
    .join('\n');
}
