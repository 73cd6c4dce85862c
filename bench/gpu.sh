#!/usr/bin/env bash
# segrad's GPU benchmark on a fresh Linux machine with an NVIDIA GPU and no Node.
#
# Here, in the repository (node_modules installed):
#   bench/gpu.sh --pack [FILE]     writes FILE (default .cache/gpu-bundle.tar.gz, about 50 MB) holding
#                                  bin/node (this machine's Node binary), bench-dist/run.mjs (the bench
#                                  suites bundled with segrad's sources), node_modules/ (gpu.js, webgpu
#                                  with its linux-x64 Dawn binary only, and their dependencies), debs/
#                                  (libglvnd + Vulkan loader .debs from `apt-get download`), this script.
# On the GPU machine (x86-64 Linux, NVIDIA driver installed; nothing else needed):
#   mkdir segrad-gpu && cd segrad-gpu && tar xzf ../gpu-bundle.tar.gz && ./bench/gpu.sh
# It unpacks libglvnd and the Vulkan loader with `dpkg -x` (or ar + tar) where the system lacks them,
# checks every gpu primitive against the cpu backend on the card (bench/gpu-conformance.ts), runs `unet` on
# gpu:webgpu (64² and 128², train step and inference, profile of one step) beside eager PyTorch on the same
# card (where python3 imports a CUDA torch), the trainer's own 128² step (`--workload fit`: train.fit with
# ALL and gradient norms, as segrad train runs), the 128² train step with the Lovász hinge (sorted on the
# card), the 128² train step again with the conv kernels' integer
# offsets compiled as floats (SEGRAD_GPU_INT_INDEX=0) and once more with one output a thread in the conv and batch-norm kernels
# (SEGRAD_GPU_WIDE=0), with several only where at least 131072 threads remain (SEGRAD_GPU_WIDE_MIN_THREADS),
# with Adam's kernel call a parameter instead of a group of them (SEGRAD_GPU_ADAM_GROUPS=0), and with Dawn's
# polling at full speed while segrad waits for the device (SEGRAD_GPU_POLL=spin),
# then `widths` (each U-Net conv kernel at 1, 2 and 4 outputs a thread), `dispatch` and `matmul`, prints the tables and leaves the
# rows in gpu-results/*.json. Under 5 minutes: every step runs under `timeout`, within its own limit and
# what is left of one 285 s budget (GPU_SH_SECONDS), so a slow step shortens the later ones. Options after the script name go to the unet suite (before its defaults, so they win), e.g. `./bench/gpu.sh --backend
# gpu:webasm --size 64` (that is how it is checked on a machine without a GPU). GPU_SH_CHECK_ONLY=1
# stops after the library setup and the WebGPU adapter probe.
set -euo pipefail

DEBS=(libglvnd0 libvulkan1 libegl1 libgl1 libglx0 libopengl0 libgles2)

pack() {
  local out=${1:-.cache/gpu-bundle.tar.gz}
  local root stage
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  cd "$root"
  [ -d node_modules/gpu.js ] && [ -d node_modules/webgpu ] || { echo "gpu.sh --pack: run it in the repository after npm install (node_modules/gpu.js, node_modules/webgpu)" >&2; exit 1; }
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' RETURN
  mkdir -p "$stage/bin" "$stage/bench/peers" "$stage/bench-dist" "$stage/node_modules" "$stage/debs"
  cp "$(node -p process.execPath)" "$stage/bin/node"
  cp bench/gpu.sh "$stage/bench/gpu.sh"
  cp bench/peers/pytorch_unet.py "$stage/bench/peers/" 2>/dev/null || true
  # the bench suites and segrad's sources in one ESM file; packages stay external (node_modules beside it)
  # and the gpu conformance cases (fast-check bundled in: only gpu.js and webgpu stay external)
  node --input-type=module -e "
    import { build } from 'esbuild';
    await build({ entryPoints: ['bench/run.ts'], outfile: '$stage/bench-dist/run.mjs', bundle: true, platform: 'node',
      format: 'esm', target: 'es2022', packages: 'external', keepNames: true, logLevel: 'warning' });
    await build({ entryPoints: ['bench/gpu-conformance.ts'], outfile: '$stage/bench-dist/conformance.mjs', bundle: true, platform: 'node',
      format: 'esm', target: 'es2022', external: ['gpu.js', 'webgpu'], keepNames: true, logLevel: 'warning' });"
  # gpu.js, webgpu and everything they depend on (dependencies + installed optional ones)
  node --input-type=module -e "
    import { readFileSync, existsSync } from 'node:fs';
    const seen = new Set(), todo = ['gpu.js', 'webgpu'];
    while (todo.length) {
      const name = todo.pop();
      if (seen.has(name) || !existsSync('node_modules/' + name + '/package.json')) continue;
      seen.add(name);
      const p = JSON.parse(readFileSync('node_modules/' + name + '/package.json', 'utf8'));
      todo.push(...Object.keys({ ...p.dependencies, ...p.optionalDependencies }));
    }
    console.log([...seen].join('\n'));" > "$stage/modules.txt"
  while read -r m; do
    mkdir -p "$stage/node_modules/$(dirname "$m")"
    if [ "$m" = webgpu ]; then
      # Dawn binaries for other platforms are 110 MB: keep linux-x64
      cp -r node_modules/webgpu "$stage/node_modules/"
      find "$stage/node_modules/webgpu/dist" -mindepth 1 -maxdepth 1 ! -name linux-x64 -exec rm -rf {} +
    else
      cp -r "node_modules/$m" "$stage/node_modules/$m"
    fi
  done < "$stage/modules.txt"
  (cd "$stage/debs" && apt-get download "${DEBS[@]}" >/dev/null 2>&1) \
    || echo "gpu.sh --pack: apt-get download failed; the bundle has no .debs (the GPU machine must have libglvnd and libvulkan1)" >&2
  mkdir -p "$(dirname "$out")"
  tar czf "$out" -C "$stage" .
  echo "wrote $out ($(du -h "$out" | cut -f1)): node $(node -v), modules: $(tr '\n' ' ' < "$stage/modules.txt"), debs: $(ls "$stage/debs" | wc -l)"
}

# Makes libvulkan.so.1 and libglvnd's libEGL/libGLX/libOpenGL loadable, from debs/ when the system lacks them.
setup_libs() {
  local missing=()
  for lib in libvulkan.so.1 libEGL.so.1 libGLX.so.0 libOpenGL.so.0 libGLdispatch.so.0; do
    # grep without -q reads all of ldconfig's output (-q would make ldconfig die of SIGPIPE under pipefail)
    ldconfig -p 2>/dev/null | grep "$lib" >/dev/null || missing+=("$lib")
  done
  if [ ${#missing[@]} -eq 0 ]; then echo "libglvnd and the Vulkan loader: present"; return; fi
  echo "missing ${missing[*]}: unpacking debs/ into .gpu-libs"
  ls debs/*.deb >/dev/null 2>&1 || { echo "no debs/ in the bundle: install libvulkan1 libglvnd0 libegl1 libgl1 libglx0 libopengl0 libgles2" >&2; return; }
  mkdir -p .gpu-libs
  for d in debs/*.deb; do
    if command -v dpkg >/dev/null; then dpkg -x "$d" .gpu-libs
    else (t=$(mktemp -d); cd "$t" && ar x "$OLDPWD/$d" && tar xf data.tar.* -C "$OLDPWD/.gpu-libs"; rm -rf "$t"); fi
  done
  export LD_LIBRARY_PATH="$PWD/.gpu-libs/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
}

bench() {
  cd "$(dirname "${BASH_SOURCE[0]}")/.."
  # one budget for every step (GPU_SH_SECONDS, default 285 s), so the run ends inside 5 minutes whatever
  # the card does: a step gets its own limit or what is left, whichever is less
  local deadline=$((SECONDS + ${GPU_SH_SECONDS:-285}))
  budget() { local left=$((deadline - SECONDS - 5)); if ((left < $1)); then echo $((left > 1 ? left : 1)); else echo "$1"; fi; }
  local node=./bin/node
  [ -x "$node" ] || node=$(command -v node) || { echo "no bin/node and no node on PATH: unpack gpu-bundle.tar.gz here" >&2; exit 1; }
  [ -f bench-dist/run.mjs ] || { echo "no bench-dist/run.mjs: unpack gpu-bundle.tar.gz here (made by bench/gpu.sh --pack)" >&2; exit 1; }
  local backend=gpu:webgpu
  local args=("$@")
  for ((i = 0; i < ${#args[@]}; i++)); do [ "${args[$i]}" = --backend ] && backend=${args[$((i + 1))]}; done
  echo "== machine: $(uname -srm), node $("$node" -v), $(nproc) cores"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "no nvidia-smi"
  setup_libs
  if [ -z "${VK_ICD_FILENAMES:-}" ]; then
    # the last is where containers that mount the driver (NVIDIA's container toolkit) put its ICD file
    for f in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json; do
      [ -f "$f" ] && export VK_ICD_FILENAMES=$f && break
    done
  fi
  echo "VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-(loader default)}"
  # the adapter Dawn finds (or why none): the one check worth seeing before the benches
  timeout -k 5 "$(budget 60)" "$node" --input-type=module -e "
    import { create, globals } from './node_modules/webgpu/index.js';
    Object.assign(globalThis, globals);
    const a = await create([]).requestAdapter();
    const i = a?.info ?? {};
    console.log('webgpu adapter:', a ? ['vendor', 'architecture', 'device', 'description'].map((k) => i[k]).filter(Boolean).join(' ') || 'found (no info)' : 'none');
    process.exit(0);" 2>&1 | grep -v XDG_RUNTIME_DIR || echo "webgpu adapter: the probe failed"
  [ "${GPU_SH_CHECK_ONLY:-}" = 1 ] && return
  mkdir -p gpu-results
  local has_backend=0
  for a in "${args[@]}"; do [ "$a" = --backend ] && has_backend=1; done
  [ $has_backend = 1 ] || args=(--backend "$backend" "${args[@]}")
  echo "== conformance: every gpu primitive against the cpu backend, on ${backend#gpu:}"
  timeout -k 5 "$(budget 60)" "$node" bench-dist/conformance.mjs "${backend#gpu:}" 2>&1 | grep -v XDG_RUNTIME_DIR | tail -n 12 \
    || echo "conformance: stopped (exit $?; 124 = out of time)"
  # PyTorch eager on the same card, where the machine's python3 has a CUDA torch (the GPU target's yardstick)
  local peer=(--no-peer)
  if python3 -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' >/dev/null 2>&1; then peer=(--peer-device cuda); fi
  echo "== unet on $backend (peer: ${peer[*]})"
  timeout -k 5 "$(budget 200)" "$node" bench-dist/run.mjs unet "${args[@]}" --reps 5 --warmup 6 --profile "${peer[@]}" --json gpu-results/unet.json \
    || echo "unet: stopped (exit $?; 124 = out of time)"
  # the trainer's own step (train.fit: a batch loaded, ALL over Dice, gradient norms, one read, Adam), which segrad train runs
  echo "== unet fit 128² on $backend: the trainer's own step, for comparison with the bare train step"
  timeout -k 5 "$(budget 45)" "$node" bench-dist/run.mjs unet "${args[@]}" --size 128 --workload fit --reps 3 --warmup 6 --no-peer --json gpu-results/unet-fit.json \
    || echo "unet fit: stopped (exit $?; 124 = out of time)"
  # the 128² train step with the Lovász hinge in place of Dice: its errors sorted on the card (124 kernel calls at 128², batch 8)
  echo "== unet train 128² on $backend with the Lovász hinge loss (sorted on the device), for comparison with Dice's step"
  timeout -k 5 "$(budget 45)" "$node" bench-dist/run.mjs unet "${args[@]}" --size 128 --workload train --loss lovasz-hinge --reps 3 --warmup 3 --no-peer --json gpu-results/unet-lovasz.json \
    || echo "unet with the Lovász hinge: stopped (exit $?; 124 = out of time)"
  # the same 128² train step with the conv kernels' integer offsets compiled as floats: what intVar saves here
  echo "== unet train 128² on $backend with float indices (SEGRAD_GPU_INT_INDEX=0), for comparison"
  SEGRAD_GPU_INT_INDEX=0 timeout -k 5 "$(budget 60)" "$node" bench-dist/run.mjs unet "${args[@]}" --size 128 --workload train --reps 5 --warmup 6 --no-peer --json gpu-results/unet-float-index.json \
    || echo "unet with float indices: stopped (exit $?; 124 = out of time)"
  # and with one output a thread in every kernel (conv, batch norm): what several outputs a thread save here
  echo "== unet train 128² on $backend with one output a thread in the conv and batch-norm kernels (SEGRAD_GPU_WIDE=0), for comparison"
  SEGRAD_GPU_WIDE=0 timeout -k 5 "$(budget 45)" "$node" bench-dist/run.mjs unet "${args[@]}" --size 128 --workload train --reps 3 --warmup 6 --no-peer --json gpu-results/unet-narrow.json \
    || echo "unet with one output a thread: stopped (exit $?; 124 = out of time)"
  # and with several outputs a thread only where a kernel keeps at least 131072 threads (the deep layers narrower)
  echo "== unet train 128² on $backend with several outputs a thread only above 131072 threads (SEGRAD_GPU_WIDE_MIN_THREADS), for comparison"
  SEGRAD_GPU_WIDE_MIN_THREADS=131072 timeout -k 5 "$(budget 45)" "$node" bench-dist/run.mjs unet "${args[@]}" --size 128 --workload train --reps 3 --warmup 6 --no-peer --json gpu-results/unet-min-threads.json \
    || echo "unet with a thread floor: stopped (exit $?; 124 = out of time)"
  # and with Adam's kernel call a parameter (64) instead of a group of six (11): what the calls cost here
  echo "== unet train 128² on $backend with Adam a kernel call a parameter (SEGRAD_GPU_ADAM_GROUPS=0), for comparison"
  SEGRAD_GPU_ADAM_GROUPS=0 timeout -k 5 "$(budget 45)" "$node" bench-dist/run.mjs unet "${args[@]}" --size 128 --workload train --reps 3 --warmup 6 --no-peer --json gpu-results/unet-adam-per-parameter.json \
    || echo "unet with Adam a call a parameter: stopped (exit $?; 124 = out of time)"
  # and with Dawn polling at full speed during reads (as the webgpu package does by itself): what napping costs or saves here
  echo "== unet train 128² on $backend with Dawn's polling at full speed while waiting (SEGRAD_GPU_POLL=spin), for comparison"
  SEGRAD_GPU_POLL=spin timeout -k 5 "$(budget 45)" "$node" bench-dist/run.mjs unet "${args[@]}" --size 128 --workload train --reps 3 --warmup 6 --no-peer --json gpu-results/unet-spin-poll.json \
    || echo "unet with Dawn's polling at full speed: stopped (exit $?; 124 = out of time)"
  # and with every call binding a new bind group (as before they were kept): what keeping them saves here
  echo "== unet train 128² on $backend with a new bind group every kernel call (SEGRAD_GPU_BIND_GROUPS=0), for comparison"
  SEGRAD_GPU_BIND_GROUPS=0 timeout -k 5 "$(budget 45)" "$node" bench-dist/run.mjs unet "${args[@]}" --size 128 --workload train --reps 3 --warmup 6 --no-peer --json gpu-results/unet-new-bind-groups.json \
    || echo "unet with a new bind group every call: stopped (exit $?; 124 = out of time)"
  echo "== widths: each conv kernel of the U-Net at 128², batch 8, at 1, 2 and 4 outputs a thread"
  timeout -k 5 "$(budget 60)" "$node" bench-dist/run.mjs widths --backend "$backend" --json gpu-results/widths.json \
    || echo "widths: stopped (exit $?; 124 = out of time)"
  echo "== dispatch: kernel-call cost, bandwidth, conv and matmul chained on the device"
  timeout -k 5 "$(budget 60)" "$node" bench-dist/run.mjs dispatch --backend "$backend" --json gpu-results/dispatch.json \
    || echo "dispatch: stopped (exit $?; 124 = out of time)"
  echo "== matmul"
  timeout -k 5 "$(budget 40)" "$node" bench-dist/run.mjs matmul --backend "$backend" --json gpu-results/matmul.json \
    || echo "matmul: stopped (exit $?; 124 = out of time)"
  echo "rows: gpu-results/unet.json gpu-results/unet-fit.json gpu-results/unet-lovasz.json gpu-results/unet-float-index.json gpu-results/unet-narrow.json gpu-results/unet-min-threads.json gpu-results/unet-adam-per-parameter.json gpu-results/unet-spin-poll.json gpu-results/unet-new-bind-groups.json gpu-results/widths.json gpu-results/dispatch.json gpu-results/matmul.json"
}

if [ "${1:-}" = --pack ]; then
  shift
  pack "$@"
else
  bench "$@"
fi
