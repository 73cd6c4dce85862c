import { enableProfiling, prepareGpu, profileReport, randn, resetProfile, setBackend, getBackend } from './src/index.js';
await prepareGpu('webgpu');
setBackend('gpu', { mode: 'webgpu' });
const shapes = [[2, 16, 64, 64, 16], [2, 32, 32, 32, 32], [4, 64, 16, 16, 64]];
for (const [n, c, h, w, o] of shapes) {
  const x = randn([n, c, h, w], { seed: 1 }), dy = randn([n, o, h, w], { seed: 2 });
  const b = getBackend();
  const g = { stride: [1, 1], pad: [1, 1, 1, 1], dilation: [1, 1], groups: 1 } as any;
  const run = async () => { const r = b.conv2dBackwardFilter((x as any).handle, [n, c, h, w], (dy as any).handle, [n, o, h, w], [o, c, 3, 3], g, 'float32'); await b.read(r, o * c * 9, 'float32'); b.dispose(r); };
  await run(); await run();
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    enableProfiling(true, { deviceTime: true }); resetProfile();
    await run();
    times.push(profileReport('device').reduce((s, r) => s + r.totalMs, 0));
    enableProfiling(false);
  }
  times.sort((a, b) => a - b);
  console.log(`${n}x${c}x${h}x${w} -> ${o}: device ms median ${times[2].toFixed(2)} (min ${times[0].toFixed(2)})`);
}
process.exit(0);
