/**
 * SIGKILL to every process left in the group that `leader` led: after a crash, what a process
 * started (a wrapper script's program, say) must not run on beside its restart. A group's id is
 * not reused while any member lives; once none does, there is nothing to signal, and never the
 * lone pid, which may belong to someone else by then.
 */
export function killGroupOf(leader: number): void {
  try {
    process.kill(-leader, 'SIGKILL');
  } catch {
    // no member left
  }
}

/** Whether any process is left in the group `leader` led. */
export function groupLives(leader: number): boolean {
  try {
    process.kill(-leader, 0);
    return true;
  } catch {
    return false;
  }
}
