// CPU time used by a process and everything it started (Postgres forks a
// backend per connection), from /proc (Linux). On a machine shared with other
// work, CPU milliseconds per checkout stay meaningful where wall-clock rates
// do not: 2 cores give 2,000 CPU ms per second to share.
import fs from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function statOf(pid: number): { ppid: number; cpuTicks: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name may hold spaces: fields start after its closing parenthesis
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined;
  }
}

/** CPU ms used so far by pid and its living descendants. */
export function treeCpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const stats = new Map<number, { ppid: number; cpuTicks: number }>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = statOf(Number(entry));
    if (s) stats.set(Number(entry), s);
  }
  let ticks = 0;
  const queue = [pid];
  while (queue.length > 0) {
    const current = queue.pop() as number;
    ticks += stats.get(current)?.cpuTicks ?? 0;
    for (const [child, s] of stats) if (s.ppid === current) queue.push(child);
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/** CPU ms per part over a piece of work: call the returned function when it ends. */
export function cpuMeter(pids: Record<string, number | undefined>): () => Record<string, number> {
  const start = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, treeCpuMs(pid)]));
  return () => Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, treeCpuMs(pid) - (start[name] ?? 0)]));
}
