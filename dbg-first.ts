import { conv2d, randn, tidy, noGrad } from './src/index.js';
const N = 8;
const x = randn([N, 1, 128, 128], { seed: 1 }), w = randn([16, 1, 3, 3], { seed: 2 });
for (let i = 0; i < 40; i++) noGrad(() => tidy(() => { conv2d(x, w, { padding: 1 }).dataSync(); }));
