#!/usr/bin/env python3
"""quantmc's GPU tier beside the GPU peers on one card, in one run.

Runs, on the same GPU and the same European call (S=150, K=155, T=0.25,
r=0.05, sigma=0.3, f32):
  * a hand-written CUDA kernel: cuRAND Philox4_32_10 + curand_normal4, sums in
    registers, one launch (compiled here with nvcc);
  * the same by hand with quantmc's own streams (two paths a Philox block);
  * numba.cuda with xoroshiro128p normals (the seed's Numba, on the GPU);
  * JAX, jax.random.normal in batches;
  * quantmc --backend gpu and --backend rayon (a prebuilt binary), European
    10^10 paths, arithmetic Asian 64 steps, VaR 10 assets Student-t 10^8;
and prints one Markdown table of paths per second with the ratios. Built for a
lent machine with no registry: carry the binary (`RUSTFLAGS="-C
target-cpu=x86-64-v3" cargo build --release`) and, if the machine has no
Vulkan loader, the Debian packages (`--vulkan-debs DIR`: libvulkan1 libglvnd0
libegl1 libgl1 libglx0 libgles2 libopengl0). Under 5 minutes on an H100/H200.

Usage: python3 benches/peers/gpu_peers.py --binary PATH [--vulkan-debs DIR]
           [--lab PATH] [--paths 1e10] [--skip cuda,cuda-same-streams,numba,jax]
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

SPOT, STRIKE, MATURITY, RATE, VOL = 150.0, 155.0, 0.25, 0.05, 0.3
DRIFT = (RATE - 0.5 * VOL * VOL) * MATURITY
DIFFUSION = VOL * math.sqrt(MATURITY)
DISCOUNT = math.exp(-RATE * MATURITY)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CUDA_KERNEL = r"""
#include <cstdio>
#include <cstdlib>
#include <curand_kernel.h>

__global__ void european(unsigned long long paths, unsigned long long seed,
                         float log_spot, float drift, float diffusion, float strike,
                         double *sums) {
    unsigned long long id = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x;
    unsigned long long threads = (unsigned long long)gridDim.x * blockDim.x;
    curandStatePhilox4_32_10_t state;
    curand_init(seed, id, 0, &state);
    float sum = 0.0f;
    double total = 0.0;
    unsigned long long quads = paths / 4;
    int in_segment = 0;
    for (unsigned long long q = id; q < quads; q += threads) {
        float4 z = curand_normal4(&state);
        sum += fmaxf(expf(log_spot + drift + diffusion * z.x) - strike, 0.0f);
        sum += fmaxf(expf(log_spot + drift + diffusion * z.y) - strike, 0.0f);
        sum += fmaxf(expf(log_spot + drift + diffusion * z.z) - strike, 0.0f);
        sum += fmaxf(expf(log_spot + drift + diffusion * z.w) - strike, 0.0f);
        if (++in_segment == 256) { total += sum; sum = 0.0f; in_segment = 0; }
    }
    total += sum;
    atomicAdd(sums, total);
}

"""


# The same card with quantmc's own streams, by hand in CUDA: Philox4x32-10
# with quantmc's counter layout (block, substream, stream lo, stream hi) and
# key (the seed), 52-bit uniforms from two words, Box-Muller from one block
# for two paths (the cosine and the sine), the quarter-turn reduction, fast
# device intrinsics as Vulkan uses; sums in registers, f64 per thread. What a
# hand-written kernel makes of these streams: the floor for quantmc's tier.
SAME_STREAMS_KERNEL = r"""
#include <cstdio>
#include <cstdlib>

__device__ __forceinline__ uint4 philox(uint4 c, uint2 k) {
    #pragma unroll
    for (int r = 0; r < 10; r++) {
        if (r > 0) { k.x += 0x9E3779B9u; k.y += 0xBB67AE85u; }
        unsigned hi0 = __umulhi(0xD2511F53u, c.x), lo0 = 0xD2511F53u * c.x;
        unsigned hi1 = __umulhi(0xCD9E8D57u, c.z), lo1 = 0xCD9E8D57u * c.z;
        c = make_uint4(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    }
    return c;
}

__device__ __forceinline__ float uniform01(unsigned lo, unsigned hi) {
    float whole = (float)(hi >> 8);
    float fraction = ((float)(((hi & 0xffu) << 20) | (lo >> 12)) + 0.5f) * 3.7252902984619140625e-9f;
    return (whole + fraction) * 5.9604644775390625e-8f;
}

__global__ void european(unsigned long long streams, unsigned long long seed,
                         float log_spot, float drift, float diffusion, float strike,
                         double *sums) {
    unsigned long long id = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x;
    unsigned long long threads = (unsigned long long)gridDim.x * blockDim.x;
    uint2 key = make_uint2((unsigned)seed, (unsigned)(seed >> 32));
    float sum = 0.0f;
    double total = 0.0;
    int in_segment = 0;
    for (unsigned long long s = id; s < streams; s += threads) {
        uint4 w = philox(make_uint4(0u, 0u, (unsigned)s, (unsigned)(s >> 32)), key);
        float radius = sqrtf(-2.0f * __logf(uniform01(w.x, w.y)));
        float u = uniform01(w.z, w.w);
        float quarter = rintf(u * 4.0f);
        float x = (u - quarter * 0.25f) * 6.283185307179586f;
        float sn = __sinf(x), cs = __cosf(x);
        unsigned q = (unsigned)quarter & 3u;
        float sine = (q & 1u) ? cs : sn, cosine = (q & 1u) ? sn : cs;
        if (q & 2u) sine = -sine;
        if ((q + 1u) & 2u) cosine = -cosine;
        sum += fmaxf(__expf(log_spot + drift + diffusion * radius * cosine) - strike, 0.0f);
        sum += fmaxf(__expf(log_spot + drift + diffusion * radius * sine) - strike, 0.0f);
        if (++in_segment == 256) { total += sum; sum = 0.0f; in_segment = 0; }
    }
    total += sum;
    atomicAdd(sums, total);
}

"""

# The host side of both CUDA programs: the kernel on 16 blocks of 256 threads
# an SM, run 0 a warm-up, then each run's seconds and price on a line.
CUDA_MAIN = r"""int main(int argc, char **argv) {
    unsigned long long paths = strtoull(argv[1], 0, 10);
    int sms = 0;
    cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0);
    int blocks = sms * 16, threads = 256;
    double *sums;
    cudaMalloc(&sums, sizeof(double));
    float log_spot = logf(%(spot)f);
    for (int run = 0; run < 4; run++) {  /* run 0 warms up */
        cudaMemset(sums, 0, sizeof(double));
        cudaEvent_t start, stop;
        cudaEventCreate(&start); cudaEventCreate(&stop);
        cudaEventRecord(start);
        european<<<blocks, threads>>>(%(count)s, %(seed)s, log_spot, %(drift)f, %(diffusion)f, %(strike)f, sums);
        cudaEventRecord(stop);
        cudaEventSynchronize(stop);
        float ms = 0.0f;
        cudaEventElapsedTime(&ms, start, stop);
        double total = 0.0;
        cudaMemcpy(&total, sums, sizeof(double), cudaMemcpyDeviceToHost);
        if (run > 0) printf("%%.6f %%.6f\n", ms / 1000.0, %(discount)f * total / (double)(%(done)s));
    }
    return 0;
}
"""


def cuda_program(kernel, count, seed, done):
    """A CUDA program: `kernel` launched on `count` items with `seed`, its
    price the discounted sum over `done` paths."""
    return kernel + CUDA_MAIN % dict(spot=SPOT, drift=DRIFT, diffusion=DIFFUSION, strike=STRIKE,
                                     discount=DISCOUNT, count=count, seed=seed, done=done)


CUDA_SOURCE = cuda_program(CUDA_KERNEL, "paths", "1234 + run", "paths / 4 * 4")
SAME_STREAMS_SOURCE = cuda_program(SAME_STREAMS_KERNEL, "paths / 2", "42", "paths / 2 * 2")


def ensure_vulkan_loader(debs):
    from gpu_throughput import ensure_vulkan_loader as unpack  # same folder

    unpack(debs)
    icd = "/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json"
    if os.path.exists(icd) and "VK_DRIVER_FILES" not in os.environ:
        os.environ["VK_DRIVER_FILES"] = icd


def nvcc_run(source_text, paths):
    """Compiles a CUDA program here and returns its best (seconds, price)."""
    nvcc = shutil.which("nvcc")
    if not nvcc:
        raise RuntimeError("nvcc not found")
    work = tempfile.mkdtemp()
    source = os.path.join(work, "european.cu")
    binary = os.path.join(work, "european")
    with open(source, "w") as f:
        f.write(source_text)
    subprocess.check_call([nvcc, "-O3", "-arch=native", "-o", binary, source])
    out = subprocess.run([binary, str(paths)], capture_output=True, text=True, check=True).stdout
    runs = [tuple(map(float, line.split())) for line in out.split("\n") if line.strip()]
    return min(runs)


def cuda(paths):
    seconds, price = nvcc_run(CUDA_SOURCE, paths)
    return paths / seconds, f"cuRAND Philox4_32_10, price {price:.5f}"


def cuda_same_streams(paths):
    seconds, price = nvcc_run(SAME_STREAMS_SOURCE, paths)
    return paths / seconds, f"quantmc's streams by hand (2 paths a Philox block), price {price:.5f}"


def numba_cuda(paths):
    import numpy as np

    if not hasattr(np, "row_stack"):
        np.row_stack = np.vstack  # NumPy 2.5 removed it; numba-cuda still imports it.
    from numba import cuda
    from numba.cuda.random import create_xoroshiro128p_states, xoroshiro128p_normal_float32

    blocks, threads = 132 * 32, 256
    per_thread = max(1, paths // (blocks * threads))

    @cuda.jit
    def kernel(states, per_thread, sums):
        i = cuda.grid(1)
        total = 0.0
        for _ in range(per_thread):
            z = xoroshiro128p_normal_float32(states, i)
            total += max(SPOT * math.exp(DRIFT + DIFFUSION * z) - STRIKE, 0.0)
        sums[i] = total

    states = create_xoroshiro128p_states(blocks * threads, seed=7)
    sums = cuda.device_array(blocks * threads, dtype=np.float64)
    kernel[blocks, threads](states, 1, sums)  # compile
    cuda.synchronize()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        kernel[blocks, threads](states, per_thread, sums)
        total = float(sums.copy_to_host().sum())
        best = min(best, time.perf_counter() - start)
    done = per_thread * blocks * threads
    return done / best, f"xoroshiro128p, price {DISCOUNT * total / done:.5f}"


def jax_european(paths, batch=2 * 10**8):
    import jax
    import jax.numpy as jnp

    batch = min(batch, paths)

    @jax.jit
    def batch_payoff_sum(key):
        z = jax.random.normal(key, (batch,), dtype=jnp.float32)
        return jnp.sum(jnp.maximum(SPOT * jnp.exp(DRIFT + DIFFUSION * z) - STRIKE, 0.0))

    def price(seed):
        keys = jax.random.split(jax.random.key(seed), paths // batch)
        # Python floats: the path count passes 2^31, which a jitted int32
        # divide would overflow.
        total = sum(float(batch_payoff_sum(k).block_until_ready()) for k in keys)
        return DISCOUNT * total / float(batch * len(keys))

    price(0)
    best, value = float("inf"), 0.0
    for seed in (1, 2):
        start = time.perf_counter()
        value = price(seed)
        best = min(best, time.perf_counter() - start)
    done = batch * (paths // batch)
    return done / best, f"JAX {jax.__version__} on {jax.devices()[0]}, price {value:.5f}"


def quantmc(binary, *args):
    out = subprocess.run([binary, *args, "--json"], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip())
    return json.loads(out.stdout)


def best_of(binary, runs, *args):
    results = [quantmc(binary, *args) for _ in range(runs)]
    return min(results, key=lambda r: r["elapsed_s"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "quantmc"))
    parser.add_argument("--vulkan-debs")
    parser.add_argument("--paths", type=lambda t: int(float(t)), default=10**10)
    parser.add_argument("--scenarios", type=lambda t: int(float(t)), default=10**8)
    parser.add_argument("--skip", default="", help="comma-separated: cuda,cuda-same-streams,numba,jax")
    parser.add_argument("--lab", help="the gpu_baseline example's binary: adds the warm library call "
                        "and the minimal WGSL kernel")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    ensure_vulkan_loader(args.vulkan_debs)
    print(subprocess.run([args.binary, "info"], capture_output=True, text=True).stdout)

    market = ["--spot", str(SPOT), "--strike", str(STRIKE), "--maturity", str(MATURITY),
              "--rate", str(RATE), "--vol", str(VOL)]
    rows = []
    for name, run in [("cuda", cuda), ("cuda-same-streams", cuda_same_streams),
                      ("numba", numba_cuda), ("jax", jax_european)]:
        if name in skip:
            continue
        try:
            rate, note = run(args.paths)
        except Exception as err:  # a peer that cannot run here is reported, not fatal
            rate, note = None, f"failed: {err}"
        rows.append((f"European, {name}", rate, note))
    for tier in ["gpu", "rayon"]:
        paths = args.paths if tier == "gpu" else min(args.paths, 10**9)
        try:
            r = best_of(args.binary, 2, "price", *market, "--paths", str(paths), "--backend", tier)
            rows.append((f"European, quantmc {tier}", paths / r["elapsed_s"],
                         f"{paths:.0e} paths, price {r['price']:.5f} +- {r['std_error']:.1e}"))
        except RuntimeError as err:
            rows.append((f"European, quantmc {tier}", None, f"failed: {err}"))
    if args.lab:
        # Warm, as the peers above are timed: the library called again in one
        # process (the pipeline compiled, the GPU's clocks up), and the
        # minimal WGSL kernel on the same adapter.
        out = subprocess.run([args.lab, str(min(args.paths, 8 * 10**9))], capture_output=True, text=True)
        for line in out.stdout.splitlines():
            cells = [c.strip() for c in line.strip("|").split("|")]
            if len(cells) == 5 and cells[0] in ("minimal (one word a uniform)", "quantmc gpu, warm"):
                label = "European, minimal WGSL kernel" if cells[0].startswith("minimal") \
                    else "European, quantmc gpu, warm (library, second call)"
                rows.append((label, float(cells[2]), f"{float(cells[1]):.0e} paths, price {cells[4]}"))
        if out.returncode != 0:
            rows.append(("European, lab", None, f"failed: {out.stderr.strip()[-200:]}"))
    asian = ["--style", "asian-arithmetic", "--steps", "64"]
    for tier in ["gpu", "rayon"]:
        paths = 10**9 if tier == "gpu" else 10**7
        try:
            r = best_of(args.binary, 2, "price", *market, *asian, "--paths", str(paths), "--backend", tier)
            rows.append((f"Asian 64 steps, quantmc {tier} (path-steps/s)", 64 * paths / r["elapsed_s"],
                         f"{paths:.0e} paths"))
        except RuntimeError as err:
            rows.append((f"Asian 64 steps, quantmc {tier}", None, f"failed: {err}"))
    portfolio = os.path.join(ROOT, "examples", "portfolio.json")
    for tier in ["gpu", "rayon"]:
        try:
            r = best_of(args.binary, 2, "var", "--portfolio", portfolio, "--scenarios", str(args.scenarios),
                        "--dist", "student-t", "--backend", tier)
            rows.append((f"VaR 10 assets t, quantmc {tier} (scenarios/s)", args.scenarios / r["elapsed_s"],
                         f"{r['elapsed_s']:.3f} s, VaR99 {r['var']['0.99']:.1f}"))
        except RuntimeError as err:
            rows.append((f"VaR 10 assets t, quantmc {tier}", None, f"failed: {err}"))

    reference = next((rate for name, rate, _ in rows if name == "European, cuda" and rate), None)
    print("| workload | per second | vs CUDA | notes |")
    print("|---|---:|---:|---|")
    for name, rate, note in rows:
        shown = f"{rate:.3e}" if rate else "-"
        ratio = f"{rate / reference:.2f}" if rate and reference and name.startswith("European") else "-"
        print(f"| {name} | {shown} | {ratio} | {note} |")


if __name__ == "__main__":
    main()
