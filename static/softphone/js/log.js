// Troubleshooting log: kept in memory (last 500 lines) and echoed to the
// console while the agent's Logs setting is on; Settings offers a download.

const lines = [];
export const logging = { on: false };

/** log records one line (never tokens, notes or full numbers). */
export function log(...parts) {
  const line = `${new Date().toISOString()} ${parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join(' ')}`;
  lines.push(line);
  if (lines.length > 500) lines.shift();
  if (logging.on) console.debug('[switchboard]', line);
}

/** logText returns the kept lines. */
export const logText = () => lines.join('\n') + '\n';
