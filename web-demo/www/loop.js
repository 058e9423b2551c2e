// The live loop's simulating half. Each animation frame moves the target
// simulated time on (wall time × speed, `advance`); the simulator catches up
// in slices of at most SLICE_MS of wall time, run as tasks between frames, so
// a slow simulation delays a frame by one slice at most instead of holding it
// for a whole step, and uses the time the page does not draw in.

const SLICE_MS = 8;
// How far the target may run ahead of the simulator, in wall ms at the
// chosen speed: past it, simulated time runs slower than asked (honestly).
const MAX_LAG_MS = 100;

const channel = new MessageChannel();
let queued = false, state = null;
channel.port1.onmessage = () => { queued = false; slice(state); };

function schedule(S) {
  state = S;
  if (!queued) { queued = true; channel.port2.postMessage(0); }
}

// Wall time `dt` ms passed at `speed`: the target moves on and the simulator
// is woken. `S.lagging`: it had not reached the previous target.
export function advance(S, dt, speed) {
  S.speedNow = speed;
  S.lagging = S.sim.now_ms() < S.simT - 0.01;
  S.simT = Math.min(S.simT + dt * speed, S.sim.now_ms() + MAX_LAG_MS * speed);
  schedule(S);
}

// True while the simulator lags behind the wall clock.
export const behind = S => !!(S.running && S.sim && S.lagging);

// Run towards the target for at most SLICE_MS, in steps of about 1 ms of
// wall time, and measure simulated requests per second of wall time.
function slice(S) {
  const sim = S.sim;
  if (!S.running || !sim) return;
  const t0 = performance.now(), before = sim.generated();
  const step = Math.max(1, S.speedNow || 1);
  let t = sim.now_ms();
  while (t < S.simT && performance.now() - t0 < SLICE_MS) {
    t = Math.min(S.simT, t + step);
    sim.run_until(t);
  }
  const wall = performance.now() - t0;
  S.rateWindow.push([t0, wall, sim.generated() - before]);
  while (S.rateWindow.length && S.rateWindow[0][0] < t0 - 1000) S.rateWindow.shift();
  const [w, n] = S.rateWindow.reduce(([a, b], [, c, d]) => [a + c, b + d], [0, 0]);
  S.simRate = w > 0 ? n / w * 1000 : 0;
  if (t < S.simT) schedule(S);
}
