#!/bin/bash
# The GPU checks a lent machine is for, as one prepared script (one device
# call; about 5 minutes on an H100): the Greeks' cost on the GPU tier (the
# lab's `--greeks` table, warm), the tier's throughput table, and the
# scaling over the machine's GPUs (a table of one row on a one-GPU machine).
#
# Prepare here, then carry `devbin` and `devdebs` (both ignored by git):
#   RUSTFLAGS="-C target-cpu=x86-64-v3" cargo build --release --example gpu_baseline
#   mkdir -p devbin && cp target/release/quantmc target/release/examples/gpu_baseline devbin/
#   mkdir -p devdebs && (cd devdebs && apt-get download libvulkan1 libglvnd0 \
#       libegl1 libgl1 libglx0 libgles2 libopengl0)
# and run `bash benches/peers/device_check.sh` there. Every table lands in
# $OUT (or ./device-out) as it is made, so a run cut short keeps what it did.
set -u
cd "$(dirname "$0")/../.."
out=${OUT:-device-out}
mkdir -p "$out"
vk=/tmp/quantmc-vk
mkdir -p "$vk" && for deb in devdebs/*.deb; do dpkg -x "$deb" "$vk"; done
export LD_LIBRARY_PATH=$vk/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES=$icd
nvidia-smi --query-gpu=index,name,driver_version,clocks.sm,clocks.max.sm --format=csv | tee "$out/smi.txt"
./devbin/quantmc info 2>&1 | tee "$out/info.txt"
timeout 200 ./devbin/gpu_baseline 8e9 --greeks 2>&1 | tee "$out/lab.txt"
timeout 120 python3 benches/peers/gpu_throughput.py --binary devbin/quantmc --max-paths 1e10 2>&1 |
    tee "$out/throughput.txt"
timeout 200 python3 benches/peers/gpu_scaling.py --binary devbin/quantmc --paths 1e11 --scenarios 2e8 2>&1 |
    tee "$out/scaling.txt"
# The model axis on the device (issue 30's >= 1e11 path-steps/s target): a
# Heston European of 64 QE steps and the four-asset example basket of 64
# steps, warm (each run twice, the second timed); path-steps/s is paths x
# steps (x assets) over the `elapsed` the JSON reports.
for run in 1 2; do
    timeout 100 ./devbin/quantmc price --model heston --v0 0.04 --kappa 1.5 --theta 0.04 \
        --xi 0.5 --rho -0.7 --steps 64 --paths 1e9 --backend gpu --json 2>&1 |
        tee "$out/heston_$run.json"
    timeout 100 ./devbin/quantmc price --assets examples/basket.json --style basket \
        --strike 220 --steps 64 --paths 2e8 --backend gpu --json 2>&1 |
        tee "$out/basket_$run.json"
done
