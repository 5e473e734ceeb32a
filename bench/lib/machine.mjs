// What a set of figures was measured on, so that figures from different machines are not compared
// as if they were alike.
import { cpus, totalmem, release, loadavg } from 'node:os';

export function describeMachine() {
  const cores = cpus();
  return {
    cpu: cores[0]?.model?.trim() ?? 'unknown',
    cores: cores.length,
    memory_gib: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    load_average_at_start: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
