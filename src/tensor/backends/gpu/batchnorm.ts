import type { Backend, BatchNormRunning } from '../../backend.js';
import { divMod, I, idiv, indexInts, kept, kernel, letIndex, threadIndex, widthFor } from './codegen.js';
import type { Device, GpuHandle } from './device.js';
import { reluGradSource } from './kernels.js';
import { partStride } from './webgpu-batch.js';
import { channelWalk, runReduction, splitPlan, type Reduction } from './split.js';

/**
 * Batch-norm training forward and backward as gpu.js kernels: a few kernels each way instead of the two
 * dozen elementwise and reduce kernels of the composed form (src/autograd/ops/batchnorm.ts), which on an
 * asynchronous GPU cost more to submit than to run. x is [N, C, H, W], statistics are [C]; the sums over
 * (N, H, W) are split reductions (split.ts).
 */

/** The channel of flat index `at` (default i) in [N, C, H, W]; integers with `int` (codegen.ts's indexInts). */
const channelOf = (c: number, hw: number, at = 'i', int = false): string[] =>
  int ? [...divMod(at, hw, 'q', 'qr', true), ...divMod('q', c, 'qn', 'c', true)] : [`let q = ${idiv(at, hw)};`, `let c = q - ${idiv('q', c)} * ${c};`];

/**
 * An elementwise batch-norm kernel's first lines where each thread computes `width` neighbouring
 * elements of one channel (widthFor(hw, …)): i0, the first of them, and c, their channel.
 */
const elementsOf = (c: number, hw: number, width: number, int: boolean): string[] => [...threadIndex(int), ...letIndex('i0', `i * ${width}`, int), ...channelOf(c, hw, 'i0', int)];

/** The return of `width` values: y0, or [y0, …]. */
const returnAll = (width: number): string => (width === 1 ? 'return y0;' : `return [${Array.from({ length: width }, (_, j) => `y${j}`).join(', ')}];`);

/**
 * Lines setting `kp`, which of `parts` parts (S = partStride(C) floats apart) of a packed per-channel output
 * the output index `o` falls in, and `ch`, its channel; a padding output (ch ≥ C, never read) returns 0
 * at once, so a layer of 16 channels does not sum its last channel 48 times more. (Not `k`: runReduction's
 * loops count with it.)
 */
const partAndChannel = (o: string, S: number, parts: number, c: number, int = false): string[] => [
  ...letIndex('kp', `Math.min(Math.floor((${o} + 0.5) / ${S}), ${parts - 1})`, int),
  ...letIndex('ch', `${o} - kp * ${S}`, int),
  `if (ch >= ${c}) { return 0; }`,
];

/** Lines setting s1 and s2, channel ch's two sums over the P chunks of pairPartials' output `part`. */
const foldPairs = (P: number, c: number): string[] => [
  'let s1 = 0;', 'let s2 = 0;',
  `for (let j = 0; j < ${P}; j++) {`, `  s1 = s1 + part[(j * ${c} + ch) * 2];`, `  s2 = s2 + part[(j * ${c} + ch) * 2 + 1];`, '}',
];

/**
 * The normalising kernel of the forward: y = γ·(x − μ)/√(σ² + eps) + β per channel, then the ReLU as the
 * relu kernel has it; `width` elements a thread, which share the channel's factors.
 */
function applySource(stats: string[], mean: string, variance: string, c: number, hw: number, gamma: boolean, beta: boolean, relu: boolean, width = 1, int = false): string {
  const one = (j: number): string[] => [
    `let t${j} = (xs[i0 + ${j}] - m) * s;`,
    ...(beta ? [`t${j} = t${j} + b;`] : []),
    ...(relu ? [`let y${j} = 0;`, `if (t${j} > 0) { y${j} = t${j}; }`] : [`let y${j} = t${j};`]),
  ];
  return kept(`bnApply|${stats}|${mean}|${variance}|${c}|${hw}|${gamma}|${beta}|${relu}|${width}|${int}`, () =>
    kernel(
      ['xs', ...stats, ...(gamma ? ['gs'] : []), ...(beta ? ['bs'] : []), 'eps'],
      [
        ...elementsOf(c, hw, width, int),
        `let m = ${mean};`,
        `let s = ${gamma ? 'gs[c]' : '1'} / Math.sqrt(${variance} + eps);`,
        ...(beta ? ['let b = bs[c];'] : []),
        ...Array.from({ length: width }, (_, j) => one(j)).flat(),
        returnAll(width),
      ],
      int,
    ),
  );
}

/** The backend's `batchNormForward`, `batchNormBackward` and `batchNormEvalAffine` on `dev` (float32; the caller checks dtypes). */
export function gpuBatchNorm(dev: Device, h: (x: unknown) => GpuHandle): Pick<Required<Backend>, 'batchNormForward' | 'batchNormBackward' | 'batchNormEvalAffine'> {
  /** A sum over (N, H, W) per channel of `term` (reading `at`, the flat index of the term's element). */
  const channelSum = (shape: readonly number[], op: string, part: Omit<Reduction, 'op' | 'outputs' | 'terms' | 'fold' | 'term'> & { term: string }): GpuHandle => {
    const [n, c, height, w] = shape;
    const hw = height * w;
    return runReduction(dev, {
      ...part,
      op,
      outputs: c,
      terms: n * hw,
      fold: 'sum',
      walk: { channel: 'o', c, hw },
      term: [`let v = ${part.term};`],
    });
  };
  /**
   * webgpu, sums split into P chunks of L terms: both sums of a channel's chunk in one thread, (s1, s2)
   * returned as a pair ([P, C, 2]; foldPairs adds them up), so each term is read once, by C·P threads.
   * `prelude` runs with `ch` set, `body` adds term `at` (channelWalk) to s1 and s2.
   */
  const pairPartials = (op: string, params: string[], args: GpuHandle[], shape: readonly number[], P: number, L: number, prelude: string[], body: string[]): GpuHandle => {
    const [n, c, height, w] = shape;
    const int = indexInts(n * c * height * w);
    const source = kept(`bnPairs|${params}|${shape}|${P}|${L}|${prelude.join(';')}|${body.join(';')}`, () => {
      const chunk = channelWalk(`p * ${L}`, 'ch', c, height * w, int);
      return kernel(params, [
        ...threadIndex(int), ...divMod('i', c, 'p', 'ch', int), ...prelude, 'let s1 = 0;', 'let s2 = 0;', ...chunk.start,
        `for (let j = 0; j < ${L}; j++) {`, ...letIndex('r', `p * ${L} + j`, int).map((l) => `  ${l}`), `  if (r < ${n * height * w}) {`, ...body.map((l) => `    ${l}`), ...chunk.step.map((l) => `    ${l}`), '  }', '}',
        'return [s1, s2];',
      ], int);
    });
    return dev.run(op, source, P * c * 2, args, 2);
  };
  return {
    batchNormEvalAffine: (mean, variance, gamma, beta, eps, c) => {
      const scaleSource = kernel(['va', ...(gamma ? ['gs'] : []), 'eps'], [I, `return ${gamma ? 'gs[i]' : '1'} / Math.sqrt(va[i] + eps);`]);
      const scale = dev.run('batchNormEvalAffine', scaleSource, c, [h(variance), ...(gamma ? [h(gamma)] : []), eps]);
      const shiftSource = kernel(['mu', 'sc', ...(beta ? ['bs'] : [])], [I, `return ${beta ? 'bs[i] - ' : '-'}mu[i] * sc[i];`]);
      const shift = dev.run('batchNormEvalAffine', shiftSource, c, [h(mean), scale, ...(beta ? [h(beta)] : [])]);
      return { scale, shift };
    },
    batchNormForward: (x, shape, gamma, beta, eps, _dtype, relu, running) => {
      if (dev.mode === 'webgpu') return packedForward(x, shape, gamma, beta, eps, relu ?? false, running);
      const [n, c, height, w] = shape;
      const count = n * height * w;
      // Σ(x − x₀) with x₀ the channel's first value, so a large mean does not swamp the sum's precision
      const mean = channelSum(shape, 'batchNormForward', {
        params: ['xs'],
        args: [h(x)],
        prelude: [`let x0 = xs[o * ${height * w}];`],
        term: 'xs[at] - x0',
        result: { expr: `x0s[o * ${height * w}] + acc / ${count}`, params: ['x0s'], args: [h(x)] },
      });
      const variance = channelSum(shape, 'batchNormForward', {
        params: ['xs', 'mu'],
        args: [h(x), mean],
        prelude: ['let m = mu[o];'],
        term: '(xs[at] - m) * (xs[at] - m)',
        result: { expr: `acc / ${count}` },
      });
      const apply = applySource(['mu', 'va'], 'mu[c]', 'va[c]', c, height * w, gamma !== null, beta !== null, relu ?? false);
      const params = [gamma, beta].filter((p) => p !== null).map(h);
      const y = dev.run('batchNormForward', apply, n * c * height * w, [h(x), mean, variance, ...params, eps]);
      return { y, mean, variance };
    },
    batchNormBackward: (dyIn, x, shape, mean, variance, gamma, eps, _dtype, reluOut) => {
      if (dev.mode === 'webgpu') return packedBackward(dyIn, x, shape, mean, variance, gamma, eps, reluOut);
      const [n, c, height, w] = shape;
      const count = n * height * w;
      // after a ReLU, reluGrad's dy·step(y) in dy's place, as a kernel of its own (webgpu masks inside
      // its kernels instead: packedBackward)
      const masked = reluOut ? dev.run('batchNormBackward', reluGradSource, n * c * height * w, [h(dyIn), h(reluOut)]) : null;
      const dy = masked ?? h(dyIn);
      const dbeta = channelSum(shape, 'batchNormBackward', { params: ['dy'], args: [dy], term: 'dy[at]' });
      // Σ dy·x̂ = Σ dy·(x − μ) / √(σ² + eps)
      const dgamma = channelSum(shape, 'batchNormBackward', {
        params: ['dy', 'xs', 'mu'],
        args: [dy, h(x), h(mean)],
        prelude: ['let m = mu[o];'],
        term: 'dy[at] * (xs[at] - m)',
        result: { expr: 'acc / Math.sqrt(va[o] + eps)', params: ['va', 'eps'], args: [h(variance), eps] },
      });
      const g = gamma === null ? '1' : 'gs[c]';
      // dx = γ/σ̂·(dy − Σdy/count − x̂·Σ(dy·x̂)/count)
      const dxSource = kept(`bnDxPlain|${shape}|${g}`, () =>
        kernel(
          ['dy', 'xs', 'mu', 'va', 'db', 'dg', ...(gamma ? ['gs'] : []), 'eps'],
          [
            I,
            ...channelOf(c, height * w),
            'let r = 1 / Math.sqrt(va[c] + eps);',
            'let xh = (xs[i] - mu[c]) * r;',
            `return ${g} * r * (dy[i] - db[c] / ${count} - xh * dg[c] / ${count});`,
          ],
        ),
      );
      const gs = gamma === null ? [] : [h(gamma)];
      const dx = dev.run('batchNormBackward', dxSource, n * c * height * w, [dy, h(x), h(mean), h(variance), dbeta, dgamma, ...gs, eps]);
      if (masked) dev.release(masked);
      return { dx, dgamma, dbeta };
    },
  };

  /**
   * webgpu: the forward in two kernel calls (three where the sums split) instead of three (five): the mean
   * and the variance from one pass, as Σd and Σd² of d = x − x₀ (x₀ the channel's first value, so a large
   * mean cancels before it is squared), at [0, C) and [S, S + C) of one output (S = partStride(C)),
   * read by the normalising kernel through one binding and handed on as two views of it. With `running`,
   * the new running mean and variance follow at [2S, 2S + C) and [3S, 3S + C) (batchNormRunningUpdate's
   * formula), so they take no call of their own.
   */
  function packedForward(x: unknown, shape: readonly number[], gamma: unknown, beta: unknown, eps: number, relu: boolean, running?: BatchNormRunning): { y: GpuHandle; mean: GpuHandle; variance: GpuHandle; running?: { mean: GpuHandle; variance: GpuHandle } } {
    const [n, c, height, w] = shape;
    const hw = height * w;
    const count = n * hw;
    const S = partStride(c);
    const parts = running ? 4 : 2;
    const int = indexInts(n * c * hw);
    const { P, L } = splitPlan(count, 2 * S);
    // part kp of an output: 0 Σd or the mean, 1 Σd² or the variance, 2 and 3 the running ones
    // mean = x₀ + Σd/count, variance = Σd²/count − (Σd/count)² (not below 0, which rounding could give)
    const result = [
      `let md = s1 / ${count};`,
      `let mu = xs[ch * ${hw}] + md;`,
      `let va = Math.max(s2 / ${count} - md * md, 0);`,
      'if (kp == 0) { return mu; }',
      ...(running ? ['if (kp == 2) { return rm[ch] * keep + mu * wm; }', 'if (kp == 3) { return rv[ch] * keep + va * wv; }'] : []),
      'return va;',
    ];
    const runParams = running ? ['rm', 'rv', 'keep', 'wm', 'wv'] : [];
    const runArgs = running ? [h(running.mean), h(running.variance), 1 - running.momentum, running.momentum, running.varFactor] : [];
    let stats: GpuHandle;
    if (P === 1) {
      const source = kept(`bnForward|${shape}|${parts}`, () => {
        const all = channelWalk('0', 'ch', c, hw, int);
        return kernel(['xs', ...runParams], [
          ...letIndex('o', 'this.thread.x', int), ...partAndChannel('o', S, parts, c, int), `let x0 = xs[ch * ${hw}];`, 'let s1 = 0;', 'let s2 = 0;', ...all.start,
          `for (let r = 0; r < ${count}; r++) {`, '  let d = xs[at] - x0;', '  s1 = s1 + d;', '  s2 = s2 + d * d;', ...all.step.map((l) => `  ${l}`), '}',
          ...result,
        ], int);
      });
      stats = dev.run('batchNormForward', source, parts * S, [h(x), ...runArgs]);
    } else {
      const part = pairPartials('batchNormForward', ['xs'], [h(x)], shape, P, L, [`let x0 = xs[ch * ${hw}];`], ['let d = xs[at] - x0;', 's1 = s1 + d;', 's2 = s2 + d * d;']);
      const combineSource = kept(`bnForwardCombine|${shape}|${parts}|${P}`, () => kernel(['part', 'xs', ...runParams], [...letIndex('o', 'this.thread.x', int), ...partAndChannel('o', S, parts, c, int), ...foldPairs(P, c), ...result], int));
      try {
        stats = dev.run('batchNormForward', combineSource, parts * S, [part, h(x), ...runArgs]);
      } finally {
        dev.release(part);
      }
    }
    const width = widthFor(hw, dev.mostFor(n * c * hw));
    const apply = applySource(['st'], 'st[c]', `st[c + ${S}]`, c, hw, gamma !== null, beta !== null, relu, width, int);
    const params = [gamma, beta].filter((p) => p !== null).map(h);
    const y = dev.run('batchNormForward', apply, n * c * hw, [h(x), stats, ...params, eps], width);
    const [mean, variance, runMean, runVar] = dev.parts(stats, parts, c);
    return { y, mean, variance, ...(running ? { running: { mean: runMean, variance: runVar } } : {}) };
  }

  /**
   * webgpu: the backward in two kernel calls (three where the sums split): both sums in one reduction,
   * Σdy at [0, C) and Σdy·x̂ at [S, S + C) of one output (S = partStride(C)), handed on as
   * two views of it (dβ, dγ) and read by the dx kernel through one binding, which leaves one for y: after
   * a ReLU each kernel masks dy itself (dy·step(y) as reluGrad computes it, y > 0 giving 1).
   */
  function packedBackward(dy: unknown, x: unknown, shape: readonly number[], mean: unknown, variance: unknown, gamma: unknown, eps: number, reluOut: unknown): { dx: GpuHandle; dgamma: GpuHandle; dbeta: GpuHandle } {
    const [n, c, height, w] = shape;
    const hw = height * w;
    const count = n * hw;
    const S = partStride(c);
    const ys = reluOut ? ['ys'] : [];
    const ysArgs = reluOut ? [h(reluOut)] : [];
    const dyAt = (at: string): string => (reluOut ? `dy[${at}] * Math.min(Math.ceil(Math.max(ys[${at}], 0)), 1)` : `dy[${at}]`);
    // part kp of an output: 0 Σdy, 1 Σdy·(x − μ), the latter times r for dγ (the factor is exactly 1 for the first part)
    const scaled = (kp: string, ch: string): string => `acc * (1 - ${kp} + ${kp} / Math.sqrt(va[${ch}] + eps))`;
    const int = indexInts(n * c * hw);
    const { P, L } = splitPlan(count, 2 * S);
    let sums: GpuHandle;
    if (P === 1) {
      // `half` is kp for the result expression, which has no prelude
      const half = `Math.min(Math.floor((o + 0.5) / ${S}), 1)`;
      sums = runReduction(dev, {
        op: 'batchNormBackward',
        params: ['dy', 'xs', 'mu', ...ys],
        args: [h(dy), h(x), h(mean), ...ysArgs],
        outputs: 2 * S,
        terms: count,
        fold: 'sum',
        prelude: [...partAndChannel('o', S, 2, c, int), 'let m = mu[ch];'],
        walk: { channel: 'ch', c, hw },
        int,
        term: [`let v = ${dyAt('at')};`, 'if (kp > 0) { v = v * (xs[at] - m); }'],
        result: { expr: scaled(half, `Math.min(o - ${half} * ${S}, ${c - 1})`), params: ['va', 'eps'], args: [h(variance), eps] },
      });
    } else {
      const part = pairPartials('batchNormBackward', ['dy', 'xs', 'mu', ...ys], [h(dy), h(x), h(mean), ...ysArgs], shape, P, L, ['let m = mu[ch];'], [`let v = ${dyAt('at')};`, 's1 = s1 + v;', 's2 = s2 + v * (xs[at] - m);']);
      const combineSource = kept(`bnBackwardCombine|${shape}|${P}`, () =>
        kernel(['part', 'va', 'eps'], ['let o = this.thread.x;', ...partAndChannel('o', S, 2, c), ...foldPairs(P, c), 'let acc = s1;', 'if (kp > 0) { acc = s2; }', `return ${scaled('kp', 'ch')};`]),
      );
      try {
        sums = dev.run('batchNormBackward', combineSource, 2 * S, [part, h(variance), eps]);
      } finally {
        dev.release(part);
      }
    }
    const g = gamma === null ? '1' : 'gs[c]';
    // dx = γ/σ̂·(dy − Σdy/count − x̂·Σ(dy·x̂)/count), `width` elements a thread sharing the channel's factors
    const width = widthFor(hw, dev.mostFor(n * c * hw));
    const dxSource = kept(`bnDx|${shape}|${g}|${ys}|${width}`, () =>
      kernel(
        ['dy', 'xs', 'mu', 'va', 'pk', ...(gamma ? ['gs'] : []), ...ys, 'eps'],
        [
          ...elementsOf(c, hw, width, int),
          'let r = 1 / Math.sqrt(va[c] + eps);',
          'let m = mu[c];',
          `let gr = ${g} * r;`,
          `let mdy = pk[c] / ${count};`,
          `let sxh = pk[c + ${S}];`,
          ...Array.from({ length: width }, (_, j) => [`let xh${j} = (xs[i0 + ${j}] - m) * r;`, `let y${j} = gr * (${dyAt(`i0 + ${j}`)} - mdy - xh${j} * sxh / ${count});`]).flat(),
          returnAll(width),
        ],
        int,
      ),
    );
    const gs = gamma === null ? [] : [h(gamma)];
    const dx = dev.run('batchNormBackward', dxSource, n * c * hw, [h(dy), h(x), h(mean), h(variance), sums, ...gs, ...ysArgs, eps], width);
    const [dbeta, dgamma] = dev.parts(sums, 2, c);
    return { dx, dgamma, dbeta };
  }
}
