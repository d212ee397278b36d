// Resident memory of a process we started, from /proc (Linux): VmRSS in MiB.
import fs from 'node:fs';

/** VmRSS of pid in MiB, or undefined when the process is gone or /proc is absent. */
export function rssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kib === undefined ? undefined : Math.round((Number(kib) / 1024) * 10) / 10;
  } catch {
    return undefined;
  }
}
