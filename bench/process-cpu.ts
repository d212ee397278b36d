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

/** CPU ms used so far by each of pid and its living descendants, by pid. */
export function treeCpuMs(pid: number | undefined): Map<number, number> {
  const used = new Map<number, number>();
  if (pid === undefined) return used;
  const stats = new Map<number, { ppid: number; cpuTicks: number }>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = statOf(Number(entry));
    if (s) stats.set(Number(entry), s);
  }
  const queue = [pid];
  while (queue.length > 0) {
    const current = queue.pop() as number;
    used.set(current, ((stats.get(current)?.cpuTicks ?? 0) * 1000) / TICKS_PER_SECOND);
    for (const [child, s] of stats) if (s.ppid === current) queue.push(child);
  }
  return used;
}

/**
 * CPU ms per part over a piece of work: call the returned function when it
 * ends. A process that exits in between (an idle Postgres backend) drops out,
 * so the figure can only be low, never negative.
 */
export function cpuMeter(pids: Record<string, number | undefined>): () => Record<string, number> {
  const start = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, treeCpuMs(pid)]));
  return () =>
    Object.fromEntries(
      Object.entries(pids).map(([name, pid]) => {
        let ms = 0;
        for (const [p, end] of treeCpuMs(pid)) ms += end - (start[name]?.get(p) ?? 0);
        return [name, ms];
      }),
    );
}

/** CPU ms per second each part burns with no load (pollers, timers), over ms. */
export async function idleCpuPerSecond(pids: Record<string, number | undefined>, ms: number): Promise<Record<string, number>> {
  const meter = cpuMeter(pids);
  await new Promise((r) => setTimeout(r, ms));
  return Object.fromEntries(Object.entries(meter()).map(([name, used]) => [name, (used * 1000) / ms]));
}

/** CPU ms per answered request: what the phase used less what the parts burn idle over as long, per answer. */
export function perAnswer(used: Record<string, number>, idlePerSecond: Record<string, number>, phaseMs: number, answered: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(used).map(([name, ms]) => [name, Math.round((Math.max(0, ms - ((idlePerSecond[name] ?? 0) * phaseMs) / 1000) / Math.max(1, answered)) * 100) / 100]),
  );
}
