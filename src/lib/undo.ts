/**
 * Runs `step`; should it throw, runs `undo` and rethrows the step's error with the outcome appended to its message,
 * so one error says both what failed and the state it left behind. `undo` takes back what was done and returns what
 * it could not (an undo that gives up on one item goes on with the rest). `said` words the outcome: `undone` when
 * everything was taken back (nothing is appended without it), `notUndone` before the list of what was not.
 */
export function undoOnFailure<T>(step: () => T, undo: () => readonly string[], said: { undone?: string; notUndone: string }): T {
  try {
    return step();
  } catch (err) {
    const failed = undo();
    const outcome = failed.length === 0 ? said.undone : `${said.notUndone} ${failed.join('; ')}`;
    if (outcome !== undefined && err instanceof Error) err.message += `; ${outcome}`;
    throw err;
  }
}
