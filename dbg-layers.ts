import { conv2d, randn, tidy, noGrad } from './src/index.js';
const shapes: [number, number, number][] = [[1, 16, 128], [16, 16, 128], [16, 32, 64], [32, 32, 64], [32, 64, 32], [64, 64, 32], [64, 128, 16], [128, 128, 16], [128, 256, 8], [256, 256, 8], [256, 128, 16], [128, 64, 32], [64, 32, 64], [32, 16, 128]];
const N = 8;
for (const [ci, co, s] of shapes) {
  const x = randn([N, ci, s, s], { seed: 1 }), w = randn([co, ci, 3, 3], { seed: 2 });
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t = performance.now();
    noGrad(() => tidy(() => { conv2d(x, w, { padding: 1 }).dataSync(); }));
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const ms = times[3];
  const gf = (2 * N * co * ci * 9 * s * s) / (ms * 1e6);
  console.log(`${ci}->${co} @${s}: ${ms.toFixed(2)} ms, ${gf.toFixed(1)} GF/s`);
  x.dispose(); w.dispose();
}
