/**
 * Resolves on the first SIGINT or SIGTERM, for the commands that serve in the foreground (`ec2 serve`, `k8s serve`).
 * Call it before the banner goes out: a client that stops the server as soon as it reads the banner must not meet
 * Node's default action (killed, no clean close).
 */
export function stopSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
