/**
 * How late this process's event loop runs: a timer due every `intervalMs` notes how much later than
 * due it fired. When the loop is saturated, requests wait unread in socket buffers for about that
 * long before any code sees them — a wait admission control cannot measure itself (admission.ts uses
 * it to refuse requests whose timeout that wait alone has used up).
 *
 * The figure is the largest lateness of the last window (a few intervals), so one quiet tick does not
 * hide a backlog.
 */
export interface LagProbe {
  /** milliseconds the loop currently runs late */
  lagMs(): number;
  stop(): void;
}

export function startEventLoopLagProbe(intervalMs = 20, windowTicks = 5): LagProbe {
  const recent = new Float64Array(windowTicks);
  let slot = 0;
  let expected = performance.now() + intervalMs;
  const timer = setInterval(() => {
    const now = performance.now();
    recent[slot] = Math.max(0, now - expected);
    slot = (slot + 1) % windowTicks;
    expected = now + intervalMs;
  }, intervalMs);
  timer.unref();
  return {
    lagMs: () => {
      let max = 0;
      for (let i = 0; i < windowTicks; i++) if (recent[i] > max) max = recent[i];
      return max;
    },
    stop: () => clearInterval(timer),
  };
}
