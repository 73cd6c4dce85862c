/**
 * The segrad teaching playground: trains a small U-Net live, explores ALL, runs gradchecks, races
 * losses and exports the results. Trains one step at a time with a macrotask in between, so the page
 * stays responsive. `window.__segrad.state` exposes what the page shows, for tests.
 */
import { chooseBackend, describe, type BackendChoice, type BackendState } from './backend.js';
import { allFigure, chart, type AllParams } from './charts.js';
import { GRADCHECK_CASES, runGradcheck } from './gradcheck-cases.js';
import { gradientView } from './gradients.js';
import { drawGrid } from './grid.js';
import { data, encodeHost, losses, VERSION, type HostTensor } from './lib.js';
import { hostDataFromSamples, loadData, pairImageFiles, PLAYGROUND_LOSSES, Session, type DataSettings, type EpochReport, type HostData, type ModelChoice, type PlaygroundLoss, type StepReport } from './session.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`playground: no element #${id}`);
  return el as T;
};
const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));
const SIZE = 32;
const COUNT = 40;
const BATCH = 8;
const SEED = 1;
const SHOWN = 4;

/** Everything the page shows, readable by tests as `window.__segrad.state`. */
export interface PageState {
  ready: boolean;
  backend: string;
  fellBack: boolean;
  rejected: string[];
  running: boolean;
  steps: number;
  epoch: number;
  lossHistory: number[];
  baseHistory: number[];
  epochs: EpochReport[];
  lastStep: StepReport | null;
  msPerStep: number;
  all: AllParams;
  /** Bumped every time the ALL figure is redrawn with new parameters. */
  allVersion: number;
  gradcheck: { id: string; ok: boolean; maxAbsError: number; maxRelError: number; checks: number } | null;
  race: { running: boolean; losses: string[]; steps: number; history: Record<string, number[]>; iou: Record<string, number[]> };
  /** The gradient panel: its foreground share, losses and ALL's parameters as last drawn, and each loss's gradient norm at Dice loss 0.5 and 0.05. */
  gradients: { foreground: number; losses: string[]; all: AllParams | null; at: Record<string, { half: number; near: number }>; version: number };
  error: string | null;
}

const state: PageState = {
  ready: false, backend: '', fellBack: false, rejected: [], running: false, steps: 0, epoch: 0, lossHistory: [], baseHistory: [], epochs: [],
  lastStep: null, msPerStep: 0, all: { omega: 10, epsilon: 0.5, delta: 0.1 }, allVersion: 0, gradcheck: null,
  race: { running: false, losses: [], steps: 0, history: {}, iou: {} }, gradients: { foreground: 0, losses: [], all: null, at: {}, version: 0 }, error: null,
};
(window as unknown as { __segrad: { state: PageState } }).__segrad = { state };

let hostData: HostData | null = null;
/** The user's own images, once chosen ('your images…'). */
let ownData: HostData | null = null;
let session: Session | null = null;
let raceSessions: Session[] = [];
/** Start-up and rebuilds in progress: `state.ready` is false while any runs. */
let starting = true;
let pending = 0;
async function busy(fn: () => Promise<void>): Promise<void> {
  pending++;
  state.ready = false;
  try {
    await fn();
  } finally {
    pending--;
    state.ready = !starting && pending === 0;
  }
}
/** The step now running (training or race), awaited before anything rebuilds the sessions. */
let inFlight: Promise<unknown> = Promise.resolve();

// ---------- settings ----------

function dataSettings(): DataSettings {
  return { kind: $<HTMLSelectElement>('dataset').value as DataSettings['kind'], foreground: Number($<HTMLInputElement>('foreground').value) / 100, size: SIZE, count: COUNT, seed: SEED };
}

function sessionOptions(loss: PlaygroundLoss) {
  return { loss, all: { ...state.all }, model: $<HTMLSelectElement>('model').value as ModelChoice, lr: Number($<HTMLSelectElement>('lr').value), batchSize: BATCH, seed: SEED };
}

function maxEpochs(): number {
  const v = Math.floor(Number($<HTMLInputElement>('epochs').value));
  return Number.isFinite(v) && v >= 1 ? v : 30;
}

/** The data to train on: the synthetic set the controls describe, or the user's own images; null while those are not chosen yet. */
async function ensureData(): Promise<HostData | null> {
  const want = dataSettings();
  if (want.kind === 'own') return ownData;
  if (!hostData || JSON.stringify(hostData.settings) !== JSON.stringify(want)) hostData = await loadData(want);
  return hostData;
}

const CHOOSE_FILES = 'Choose your images and their masks above: name.png with name_mask.png (or _seg, _gt, _label), masks 0/255 or 0/1.';

/** Decodes one chosen file to `SIZE`² pixels: smooth scaling for images, nearest for masks (labels are never blended). */
async function decodeChosen(file: File, mask: boolean): Promise<ImageData> {
  const bitmap = await createImageBitmap(file, { resizeWidth: SIZE, resizeHeight: SIZE, resizeQuality: mask ? 'pixelated' : 'high', colorSpaceConversion: 'none', premultiplyAlpha: 'none' }).catch(() => {
    throw new Error(`${file.name} is not an image this browser can read`);
  });
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = SIZE;
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  return ctx.getImageData(0, 0, SIZE, SIZE);
}

/** Reads the chosen files into the playground's own data: pairs by name, grey images, binary masks. */
async function loadOwnFiles(files: readonly File[]): Promise<{ data: HostData; unpaired: string[] }> {
  const byName = new Map(files.map((f) => [f.name, f]));
  const { pairs, unpaired } = pairImageFiles(files.map((f) => f.name));
  if (pairs.length < 2) throw new Error(`${pairs.length} image–mask pair${pairs.length === 1 ? '' : 's'} found in ${files.length} file(s); two or more are needed. ${CHOOSE_FILES}`);
  const images: Float32Array[] = [];
  const masks: Float32Array[] = [];
  for (const p of pairs) {
    images.push(data.fromImageData(await decodeChosen(byName.get(p.image)!, false), { channels: 1 }));
    const m = await decodeChosen(byName.get(p.mask)!, true);
    try {
      masks.push(data.maskFromImageData(m));
    } catch (e) {
      throw new Error(`${p.mask}: ${(e as Error).message.replace(/^maskFromImageData: /, '')}`);
    }
  }
  const settings: DataSettings = { kind: 'own', foreground: 0, size: SIZE, count: pairs.length, seed: SEED, files: pairs.flatMap((p) => [p.image, p.mask]) };
  return { data: hostDataFromSamples(images, masks, settings), unpaired };
}

async function chooseOwnFiles(files: readonly File[]): Promise<void> {
  pauseTrain();
  pauseRace();
  await inFlight;
  try {
    const { data: d, unpaired } = await loadOwnFiles(files);
    ownData = d;
    await resetTrain();
    await resetRace();
    if (unpaired.length) setTrainStatus(`${$('train-status').textContent} Left out, without a partner: ${unpaired.join(', ')}.`);
  } catch (e) {
    setTrainStatus((e as Error).message, true);
  }
}

/** Shows the file chooser and greys out the foreground slider for 'your images…'. */
function showDataControls(): void {
  const own = $<HTMLSelectElement>('dataset').value === 'own';
  $('own-files-label').hidden = !own;
  $<HTMLInputElement>('foreground').disabled = own;
}

// ---------- backend ----------

function showBackend(b: BackendState, choice: BackendChoice, extra = ''): void {
  state.backend = describe(b.info);
  state.fellBack = b.fellBack || extra !== '';
  state.rejected = b.rejected;
  $('backend-info').textContent = state.backend + (b.info.synchronous ? '' : ' (asynchronous)');
  const lines = [extra];
  if (b.fellBack) {
    lines.push(choice === 'auto'
      ? `No hardware GPU mode is available, so the cpu backend runs. Passed over: ${b.rejected.join(' · ')}`
      : `The gpu backend in mode ${choice} is not available here, so the cpu backend runs: ${b.rejected.join(' · ')}`);
  } else if (b.rejected.length) lines.push(`Passed over: ${b.rejected.join(' · ')}`);
  if (b.info.backend === 'gpu' && b.info.synchronous && (b.info.mode === 'webasm' || /swiftshader|llvmpipe|software/i.test(b.info.adapter ?? ''))) {
    lines.push(`gpu.js mode ${b.info.mode} computes each step synchronously on the page's thread, here without a hardware GPU: expect the page to pause during every step.`);
  }
  const warning = $('backend-warning');
  const text = lines.filter(Boolean).join(' ');
  warning.hidden = text === '';
  warning.textContent = text;
}

async function setupBackend(choice: BackendChoice, extra = ''): Promise<void> {
  $('backend-info').textContent = 'probing…';
  const b = await chooseBackend(choice);
  showBackend(b, choice, extra);
}

// ---------- training panel ----------

function setTrainStatus(text: string, error = false): void {
  const el = $('train-status');
  el.textContent = text;
  el.classList.toggle('error', error);
}

function updateButtons(): void {
  const busy = state.running || state.race.running;
  // no session while 'your images…' waits for files
  $<HTMLButtonElement>('start').disabled = state.running || !session;
  $<HTMLButtonElement>('pause').disabled = !state.running;
  $<HTMLButtonElement>('step').disabled = busy || !session;
  $<HTMLButtonElement>('race-start').disabled = state.race.running;
  $<HTMLButtonElement>('race-pause').disabled = !state.race.running;
}

function renderTrainCharts(): void {
  const s = session;
  const steps = s ? s.stepLosses.map((_, i) => i + 1) : [];
  const series = [{ name: s?.lossName === 'all' ? 'ALL (training loss)' : `${s?.lossName ?? ''} (training loss)`, x: steps, y: s?.stepLosses ?? [] }];
  if (s && s.lossName === 'all') series.push({ name: 'base: dice', x: steps, y: s.stepBase });
  $('loss-chart').innerHTML = chart({ title: 'Loss per step', xLabel: 'step', yLabel: 'loss', series, width: 400, height: 260, id: 'loss' });
  const ep = s?.epochs ?? [];
  $('metric-chart').innerHTML = chart({
    title: 'Validation, per epoch', xLabel: 'epoch', yLabel: 'score', yDomain: [0, 1], width: 400, height: 260, id: 'metric',
    series: [{ name: 'IoU', x: ep.map((e) => e.epoch), y: ep.map((e) => e.iou) }, { name: 'Dice', x: ep.map((e) => e.epoch), y: ep.map((e) => e.dice) }],
  });
}

function renderSamples(probs: Float32Array | null): void {
  if (!hostData) return;
  const px = SIZE * SIZE;
  const idx = hostData.val.slice(0, SHOWN);
  const pick = (arr: Float32Array, k: number): Float32Array => arr.subarray(k * px, (k + 1) * px);
  drawGrid($<HTMLCanvasElement>('samples'), [
    { label: 'input', maps: idx.map((k) => pick(hostData!.images, k)) },
    { label: 'ground truth', maps: idx.map((k) => pick(hostData!.masks, k)) },
    { label: 'prediction', maps: idx.map((_, j) => (probs ? pick(probs, j) : new Float32Array(px).fill(0.5))) },
  ], SIZE);
}

function renderAll(): void {
  const s = session;
  const current = s && s.lossName === 'all' && state.lastStep?.base !== undefined ? state.lastStep.base : undefined;
  $('all-chart').innerHTML = allFigure(state.all, 'dice', current);
  const { omega, epsilon, delta, C } = losses.adaptiveLogParams(state.all);
  $('all-params').textContent = `C = ${C.toFixed(3)} · ALL(δ) = ${losses.adaptiveLogValue(delta, state.all).toFixed(3)} · gradient multiplier: ω/ε = ${(omega / epsilon).toFixed(2)} at x = 0, ω/(ε+δ) = ${(omega / (epsilon + delta)).toFixed(2)} just below δ, 1 from δ on`;
  const readout = $('all-readout');
  if (current === undefined) {
    readout.textContent = s?.lossName === 'all' ? 'Press Start or Step to see the current Dice loss on the curves.' : 'Train with the loss “all” (panel 1) to see the current base loss on the curves.';
    return;
  }
  const m = losses.adaptiveLogSlope(current, state.all);
  const recent = s!.stepBase.slice(-20);
  const below = recent.filter((v) => v < delta).length;
  const share = ` · below δ in ${below} of the last ${recent.length} steps`;
  readout.textContent = (current < delta
    ? `step ${state.steps}: dice x = ${current.toFixed(4)} < δ = ${delta}: gradient × ω/(ε+x) = ${omega}/(${epsilon}+${current.toFixed(3)}) = ${m.toFixed(2)}`
    : `step ${state.steps}: dice x = ${current.toFixed(4)} ≥ δ = ${delta}: gradient × 1 (ALL = x − C, the plain Dice gradient)`) + share;
}

function onStep(s: Session, r: StepReport, ms: number): void {
  state.steps = s.step;
  state.epoch = s.epoch;
  state.lossHistory = [...s.stepLosses];
  state.baseHistory = [...s.stepBase];
  state.epochs = [...s.epochs];
  state.lastStep = r;
  state.msPerStep = state.msPerStep ? 0.8 * state.msPerStep + 0.2 * ms : ms;
  const last = s.epochs[s.epochs.length - 1];
  setTrainStatus(
    `epoch ${s.epoch}/${maxEpochs()} · step ${s.step} · loss ${r.loss.toFixed(4)}` +
      (r.base !== undefined ? ` (dice ${r.base.toFixed(4)}, ×${r.multiplier!.toFixed(2)})` : '') +
      (last ? ` · val IoU ${last.iou.toFixed(3)} · Dice ${last.dice.toFixed(3)}` : '') +
      ` · ${Math.round(state.msPerStep)} ms/step`,
  );
  renderTrainCharts();
  renderAll();
  if (r.epochEnded) renderSamples(s.lastProbs);
}

/** Handles a failed step: on the gpu backend, says so and falls back to the cpu backend. */
async function onStepError(e: unknown): Promise<void> {
  const msg = (e as Error).message ?? String(e);
  state.running = false;
  state.race.running = false;
  updateButtons();
  if (!state.backend.startsWith('cpu')) {
    const extra = `The gpu backend (${state.backend}) failed while training (${msg}); switched to the cpu backend and reset.`;
    await busy(async () => {
      await setupBackend('cpu', extra);
      $<HTMLSelectElement>('backend').value = 'cpu';
      await resetTrain();
      await resetRace();
    });
    return;
  }
  state.error = msg;
  setTrainStatus(`Error: ${msg}`, true);
}

async function trainOneStep(s: Session): Promise<void> {
  const t0 = performance.now();
  const p = s.trainStep();
  inFlight = p.catch(() => undefined);
  const r = await p;
  onStep(s, r, performance.now() - t0);
}

async function trainLoop(): Promise<void> {
  const s = session;
  if (!s) return;
  try {
    while (state.running && session === s && s.epoch < maxEpochs()) {
      await trainOneStep(s);
      await tick();
    }
    if (session === s && s.epoch >= maxEpochs()) setTrainStatus(`Done · ` + $('train-status').textContent);
  } catch (e) {
    await onStepError(e);
  } finally {
    if (session === s) state.running = false;
    updateButtons();
  }
}

async function startTrain(): Promise<void> {
  if (state.running || !session) return;
  if (state.race.running) pauseRace();
  await inFlight;
  state.running = true;
  updateButtons();
  void trainLoop();
}

function pauseTrain(): void {
  state.running = false;
  updateButtons();
}

async function stepTrain(): Promise<void> {
  if (state.running || state.race.running || !session) return;
  $<HTMLButtonElement>('step').disabled = true;
  try {
    await trainOneStep(session);
  } catch (e) {
    await onStepError(e);
  } finally {
    updateButtons();
  }
}

async function resetTrain(): Promise<void> {
  state.running = false;
  await inFlight;
  session?.dispose();
  session = null;
  state.error = null;
  setTrainStatus('Generating data…');
  const d = await ensureData();
  Object.assign(state, { steps: 0, epoch: 0, lossHistory: [], baseHistory: [], epochs: [], lastStep: null, msPerStep: 0 });
  if (!d) {
    setTrainStatus(CHOOSE_FILES);
    renderTrainCharts();
    renderSamples(null);
    updateButtons();
    return;
  }
  session = new Session(d, sessionOptions($<HTMLSelectElement>('loss').value as PlaygroundLoss));
  const fg = d.masks.reduce((a, b) => a + b, 0) / d.masks.length;
  setTrainStatus(`Ready: ${d.settings.kind === 'own' ? `your images (${d.settings.count} pairs, resized)` : d.settings.kind}, ${d.train.length} training and ${d.val.length} validation images of ${SIZE}×${SIZE}, foreground ${(100 * fg).toFixed(1)} %, ${session.batchesPerEpoch} steps per epoch.`);
  renderTrainCharts();
  renderSamples(null);
  renderAll();
  updateButtons();
}

// ---------- ALL explorer ----------

function readAllSliders(): void {
  const get = (id: string): number => Number($<HTMLInputElement>(id).value);
  state.all = { omega: get('omega'), epsilon: get('epsilon'), delta: get('delta') };
  $('omega-value').textContent = String(state.all.omega);
  $('epsilon-value').textContent = String(state.all.epsilon);
  $('delta-value').textContent = String(state.all.delta);
  session?.setAllOptions({ ...state.all });
  for (const r of raceSessions) r.setAllOptions({ ...state.all });
  state.allVersion++;
  renderAll();
  scheduleGradients();
}

// ---------- gradient strength ----------

let gradientTimer: ReturnType<typeof setTimeout> | undefined;
/** Redraws the gradient panel once a slider rests (each drawing takes a few hundred autograd passes). */
function scheduleGradients(): void {
  clearTimeout(gradientTimer);
  gradientTimer = setTimeout(renderGradients, 150);
}

function renderGradients(): void {
  const names = ticked('grad-losses');
  const foreground = Number($<HTMLInputElement>('grad-fg').value) / 100;
  $('grad-fg-value').textContent = `${$<HTMLInputElement>('grad-fg').value} %`;
  const status = $('grad-status');
  if (names.length === 0) {
    status.textContent = 'Pick one or more losses.';
    return;
  }
  try {
    const view = gradientView(names, foreground, state.all);
    $('grad-chart').innerHTML = view.svg;
    state.gradients = { foreground, losses: names, all: { ...state.all }, at: view.at, version: state.gradients.version + 1 };
    const e = (x: number): string => (Number.isFinite(x) ? x.toExponential(1) : 'n/a');
    status.classList.remove('error');
    status.textContent = `‖∂L/∂z‖ at Dice loss 0.5 → 0.05: ${names.map((n) => `${n} ${e(view.at[n].half)} → ${e(view.at[n].near)}`).join(' · ')}`;
  } catch (err) {
    status.classList.add('error');
    status.textContent = `Error: ${(err as Error).message}`;
  }
}

// ---------- gradcheck ----------

function runSelectedGradcheck(): void {
  const c = GRADCHECK_CASES.find((g) => g.id === $<HTMLSelectElement>('gc-op').value) ?? GRADCHECK_CASES[0];
  const summary = $('gc-summary');
  try {
    const res = runGradcheck(c);
    const r = res.report;
    state.gradcheck = { id: c.id, ok: r.ok, maxAbsError: r.maxAbsError, maxRelError: r.maxRelError, checks: r.checks };
    summary.classList.toggle('error', !r.ok);
    summary.textContent = `${r.ok ? 'ok' : 'FAILED'}: ${c.label}, ${r.checks} elements, max |analytic − numeric| = ${r.maxAbsError.toExponential(2)}` +
      (res.base !== undefined ? `, dice x = ${res.base.toFixed(4)} (δ = 0.1)` : '') + ` · ${(res.seconds * 1000).toFixed(0)} ms`;
    $('gc-table').querySelector('tbody')!.innerHTML = res.rows
      .map((row) => `<tr><td>${row.index}</td><td>${row.analytic.toFixed(8)}</td><td>${row.numeric.toFixed(8)}</td><td>${Math.abs(row.analytic - row.numeric).toExponential(1)}</td></tr>`)
      .join('');
  } catch (e) {
    state.gradcheck = { id: c.id, ok: false, maxAbsError: NaN, maxRelError: NaN, checks: 0 };
    summary.classList.add('error');
    summary.textContent = `Error: ${(e as Error).message}`;
  }
}

function showGradcheckSource(): void {
  const c = GRADCHECK_CASES.find((g) => g.id === $<HTMLSelectElement>('gc-op').value) ?? GRADCHECK_CASES[0];
  const a = $<HTMLAnchorElement>('gc-source');
  // dist/web/../../src is the repository's src/ (also served under /src/ by `segrad web`)
  a.href = `../../${c.source}`;
  a.textContent = c.source;
}

// ---------- loss race ----------

function checkedRaceLosses(): PlaygroundLoss[] {
  return ticked('race-losses') as PlaygroundLoss[];
}

function renderRace(): void {
  const steps = (s: Session) => s.stepLosses.map((_, i) => i + 1);
  $('race-loss-chart').innerHTML = chart({
    title: 'Training loss ÷ its first value', xLabel: 'step (per loss)', yLabel: 'relative loss', width: 400, height: 260, id: 'race-loss',
    // losses live on different scales (ALL ≈ 5, focal ≈ 0.05): each relative to its own first step
    series: raceSessions.map((s) => ({ name: s.lossName, x: steps(s), y: s.stepLosses.map((l) => l / Math.abs(s.stepLosses[0])) })),
  });
  $('race-iou-chart').innerHTML = chart({
    title: 'Validation IoU per epoch', xLabel: 'epoch', yLabel: 'IoU', yDomain: [0, 1], width: 400, height: 260, id: 'race-iou',
    series: raceSessions.map((s) => ({ name: s.lossName, x: s.epochs.map((e) => e.epoch), y: s.epochs.map((e) => e.iou) })),
  });
  state.race.losses = raceSessions.map((s) => s.lossName);
  state.race.steps = raceSessions.reduce((n, s) => n + s.step, 0);
  state.race.history = Object.fromEntries(raceSessions.map((s) => [s.lossName, [...s.stepLosses]]));
  state.race.iou = Object.fromEntries(raceSessions.map((s) => [s.lossName, s.epochs.map((e) => e.iou)]));
}

async function resetRace(): Promise<void> {
  state.race.running = false;
  await inFlight;
  for (const s of raceSessions) s.dispose();
  raceSessions = [];
  const chosen = checkedRaceLosses();
  const d = chosen.length >= 2 ? await ensureData() : null;
  if (d) {
    raceSessions = chosen.map((l) => new Session(d, sessionOptions(l)));
    $('race-status').textContent = `Ready: ${chosen.join(' vs ')}, same seed and data.`;
  } else $('race-status').textContent = chosen.length < 2 ? 'Pick two or more losses.' : 'Choose your images first (Train panel).';
  renderRace();
  updateButtons();
}

async function raceLoop(): Promise<void> {
  const group = raceSessions;
  try {
    while (state.race.running && raceSessions === group && group.some((s) => s.epoch < maxEpochs())) {
      for (const s of group) {
        if (!state.race.running || raceSessions !== group) break;
        if (s.epoch >= maxEpochs()) continue;
        const p = s.trainStep();
        inFlight = p.catch(() => undefined);
        await p;
        await tick();
      }
      renderRace();
      const best = group.map((s) => `${s.lossName} ${s.epochs.length ? s.epochs[s.epochs.length - 1].iou.toFixed(3) : '–'}`).join(' · ');
      $('race-status').textContent = `epoch ${Math.min(...group.map((s) => s.epoch))}/${maxEpochs()} · val IoU: ${best}`;
    }
  } catch (e) {
    await onStepError(e);
  } finally {
    if (raceSessions === group) state.race.running = false;
    updateButtons();
  }
}

async function startRace(): Promise<void> {
  if (state.race.running) return;
  const chosen = checkedRaceLosses();
  if (chosen.length < 2) {
    $('race-status').textContent = 'Pick two or more losses.';
    return;
  }
  pauseTrain();
  await inFlight;
  if (chosen.join() !== raceSessions.map((s) => s.lossName).join()) await resetRace();
  if (raceSessions.length === 0) return;
  state.race.running = true;
  updateButtons();
  void raceLoop();
}

function pauseRace(): void {
  state.race.running = false;
  updateButtons();
}

// ---------- export ----------

function download(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function exportWeights(): Promise<void> {
  if (!session) return;
  const host: Record<string, HostTensor> = {};
  for (const [name, t] of Object.entries(session.model.stateDict())) host[name] = { dtype: t.dtype, shape: t.shape, data: await t.data() };
  const o = session.options;
  const bytes = encodeHost(host, { format: 'pt', model: o.model, loss: o.loss, steps: String(session.step), epochs: String(session.epoch), data: JSON.stringify(session.data.settings) });
  download(`segrad-${o.model}-${o.loss}-step${session.step}.safetensors`, new Blob([bytes as BlobPart], { type: 'application/octet-stream' }));
}

/** One row per step: run, step, epoch, loss, base loss (ALL), and the validation scores at epoch ends. */
export function curvesCsv(runs: { run: string; s: Session }[]): string {
  const rows = ['run,step,epoch,loss,base_loss,val_iou,val_dice'];
  for (const { run, s } of runs) {
    const byStep = new Map(s.epochs.map((e) => [e.step, e]));
    const perEpoch = s.batchesPerEpoch;
    s.stepLosses.forEach((l, i) => {
      const e = byStep.get(i + 1);
      rows.push([run, i + 1, Math.floor(i / perEpoch) + 1, l, s.stepBase[i] ?? '', e?.iou ?? '', e?.dice ?? ''].join(','));
    });
  }
  return rows.join('\n') + '\n';
}

function exportCsv(): void {
  const runs = [...(session ? [{ run: `train:${session.lossName}`, s: session }] : []), ...raceSessions.map((s) => ({ run: `race:${s.lossName}`, s }))];
  download('segrad-curves.csv', new Blob([curvesCsv(runs)], { type: 'text/csv' }));
}

async function exportPng(): Promise<void> {
  const svg = $('loss-chart').querySelector('svg');
  if (!svg) return;
  const w = Number(svg.getAttribute('width')) || 400;
  const h = Number(svg.getAttribute('height')) || 260;
  const img = new Image();
  const url = URL.createObjectURL(new Blob([new XMLSerializer().serializeToString(svg)], { type: 'image/svg+xml' }));
  try {
    await new Promise<void>((resolve, reject) => {
      img.onload = () => resolve();
      img.onerror = () => reject(new Error('the chart did not render as an image'));
      img.src = url;
    });
    const canvas = document.createElement('canvas');
    canvas.width = 2 * w;
    canvas.height = 2 * h;
    const ctx = canvas.getContext('2d')!;
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
    if (blob) download('segrad-loss.png', blob);
  } finally {
    URL.revokeObjectURL(url);
  }
}

// ---------- wiring ----------

function fillControls(params: URLSearchParams): void {
  const lossSelect = $<HTMLSelectElement>('loss');
  lossSelect.innerHTML = PLAYGROUND_LOSSES.map((l) => `<option value="${l}">${l === 'all' ? 'all (ALL of dice)' : l}</option>`).join('');
  lossBoxes('race-losses', params.get('race')?.split(',') ?? ['dice', 'all']);
  lossBoxes('grad-losses', params.get('grads')?.split(',') ?? ['dice', 'all', 'bce', 'focal']);
  $<HTMLSelectElement>('gc-op').innerHTML = GRADCHECK_CASES.map((c) => `<option value="${c.id}">${c.label}</option>`).join('');
  const set = (id: string, key: string): void => {
    const v = params.get(key);
    if (v !== null) ($(id) as HTMLInputElement | HTMLSelectElement).value = v;
  };
  set('backend', 'backend');
  set('loss', 'loss');
  set('dataset', 'data');
  set('foreground', 'fg');
  set('epochs', 'epochs');
  set('model', 'model');
  set('lr', 'lr');
  for (const k of ['omega', 'epsilon', 'delta']) set(k, k);
  set('grad-fg', 'gfg');
  $('fg-value').textContent = `${$<HTMLInputElement>('foreground').value} %`;
  showDataControls();
}

/** A checkbox for each playground loss in the fieldset `id`, those named in `on` ticked (a lesson link's race= or grads=, or the defaults). */
function lossBoxes(id: string, on: readonly string[]): void {
  $(id).insertAdjacentHTML('beforeend', PLAYGROUND_LOSSES.map((l) => `<label><input type="checkbox" value="${l}"${on.includes(l) ? ' checked' : ''}> ${l}</label>`).join(''));
}

/** The values of the ticked boxes in the fieldset `id`. */
function ticked(id: string): string[] {
  return [...document.querySelectorAll<HTMLInputElement>(`#${id} input:checked`)].map((i) => i.value);
}

/** The page's address with the current settings as a lesson link (the keys `fillControls` reads). */
function lessonUrl(): string {
  const params = new URLSearchParams();
  const controls: [string, string][] = [['backend', 'backend'], ['data', 'dataset'], ['fg', 'foreground'], ['loss', 'loss'], ['model', 'model'], ['lr', 'lr'], ['epochs', 'epochs'], ['omega', 'omega'], ['epsilon', 'epsilon'], ['delta', 'delta'], ['gfg', 'grad-fg']];
  for (const [key, id] of controls) params.set(key, ($(id) as HTMLInputElement | HTMLSelectElement).value);
  params.set('race', checkedRaceLosses().join(','));
  params.set('grads', ticked('grad-losses').join(','));
  return `${location.origin === 'null' ? location.href.split('?')[0] : location.origin + location.pathname}?${params}`;
}

/** Shows the lesson link, selected for copying, and copies it where the page may use the clipboard. */
function showLessonLink(): void {
  const field = $<HTMLInputElement>('lesson-url');
  field.value = lessonUrl();
  field.hidden = false;
  field.select();
  void navigator.clipboard?.writeText(field.value).catch(() => undefined);
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  fillControls(params);
  $('version').textContent = VERSION;
  readAllSliders();
  showGradcheckSource();
  $('start').addEventListener('click', () => void startTrain());
  $('pause').addEventListener('click', pauseTrain);
  $('step').addEventListener('click', () => void stepTrain());
  $('reset').addEventListener('click', () => void busy(resetTrain));
  for (const id of ['dataset', 'loss', 'model', 'lr']) $(id).addEventListener('change', () => void busy(resetTrain));
  $('dataset').addEventListener('change', showDataControls);
  $('own-files').addEventListener('change', () => void busy(() => chooseOwnFiles([...($<HTMLInputElement>('own-files').files ?? [])])));
  $('foreground').addEventListener('input', () => ($('fg-value').textContent = `${$<HTMLInputElement>('foreground').value} %`));
  $('foreground').addEventListener('change', () => void busy(resetTrain));
  for (const id of ['omega', 'epsilon', 'delta']) $(id).addEventListener('input', readAllSliders);
  $('backend').addEventListener('change', () =>
    void busy(async () => {
      pauseTrain();
      pauseRace();
      await inFlight;
      await setupBackend($<HTMLSelectElement>('backend').value as BackendChoice);
      await resetTrain();
      await resetRace();
    }),
  );
  $('grad-fg').addEventListener('input', () => ($('grad-fg-value').textContent = `${$<HTMLInputElement>('grad-fg').value} %`));
  $('grad-fg').addEventListener('change', scheduleGradients);
  $('grad-losses').addEventListener('change', scheduleGradients);
  $('gc-op').addEventListener('change', showGradcheckSource);
  $('gc-run').addEventListener('click', runSelectedGradcheck);
  $('race-start').addEventListener('click', () => void startRace());
  $('race-pause').addEventListener('click', pauseRace);
  $('race-reset').addEventListener('click', () => void busy(resetRace));
  $('race-losses').addEventListener('change', () => {
    if (!state.race.running) void busy(resetRace);
  });
  $('export-weights').addEventListener('click', () => void exportWeights());
  $('lesson-link').addEventListener('click', showLessonLink);
  $('export-csv').addEventListener('click', exportCsv);
  $('export-png').addEventListener('click', () => void exportPng().catch((e) => setTrainStatus(`PNG export failed: ${(e as Error).message}`, true)));
  await setupBackend($<HTMLSelectElement>('backend').value as BackendChoice);
  await resetTrain();
  await resetRace();
  starting = false;
  state.ready = pending === 0;
}

main().catch((e) => {
  state.error = (e as Error).message ?? String(e);
  setTrainStatus(`The playground failed to start: ${state.error}`, true);
});

