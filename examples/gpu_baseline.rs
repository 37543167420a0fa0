//! The GPU tier's lab: a minimal grid-stride European-call kernel
//! (Philox4x32-10, Box-Muller, payoff, f32 sums in registers, one partial
//! per invocation, one dispatch, one read-back) timed beside
//! `quantmc::price` on the GPU tier, same paths, same adapter. First a fresh
//! process's phases (the first call, a second pipeline, the first large
//! job); then the minimal kernel with switches for each of the tier's extra
//! costs and for how Philox and its multiplies are written (DESIGN.md has a
//! card's results); then the tier warm. `--greeks` adds the Greeks' cost on
//! the tier: each product priced alone, with one-pass Greeks and with finite
//! differences; `--greeks-only` prints that table alone, without the finite
//! differences (an A/B of a Greek kernel change).
//!
//! `cargo run --release --example gpu_baseline -- [paths] [--greeks] [--greeks-only]` (set
//! `QUANTMC_ALLOW_SOFTWARE_GPU=1` to run on lavapipe).

use std::time::Instant;

use wgpu::util::DeviceExt;

const KERNEL: &str = r#"
struct Params { streams: u32, invocations: u32, key: vec2<u32>, log_spot: f32, drift: f32, diffusion: f32, strike: f32, keys: array<vec4<u32>, 5> }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> partials: array<vec4<f32>>;

// Lab switches, each one of the tier's extra costs: uniforms of 52 bits from
// two words, the quarter-turn sine and cosine, the control variate's sums.
override WIDE: bool = false;
override TURN: bool = false;
override CONTROL: bool = false;
// How the multiplies are written: 0 both halves from one 64-bit product (the
// tier's), 1 the high half from a 64-bit product and the low half from a
// 32-bit multiply (CUDA's __umulhi and a * b), 2 from 16-bit halves.
override MUL: u32 = 0u;
// Streams an invocation carries at once (1 or 2): two independent Philox
// chains interleaved.
override STREAMS: u32 = 1u;
// 1: sine and cosine of the quarter-turn-reduced angle by Cephes' minimax
// polynomials instead of the driver's sin and cos.
override POLY: bool = false;
// 1: Philox alone (its words summed as floats), 2: no Philox (the normals'
// functions on words from a multiply-add hash of the stream).
override PART: u32 = 0u;

fn mulhilo(a: u32, b: u32) -> vec2<u32> {
    if (MUL == 1u) {
        return vec2<u32>(u32((u64(a) * u64(b)) >> 32u), a * b);
    }
    if (MUL == 2u) {
        let a_lo = a & 0xffffu;
        let a_hi = a >> 16u;
        let b_lo = b & 0xffffu;
        let b_hi = b >> 16u;
        let lo_lo = a_lo * b_lo;
        let hi_lo = a_hi * b_lo;
        let lo_hi = a_lo * b_hi;
        let hi_hi = a_hi * b_hi;
        let cross = (lo_lo >> 16u) + (hi_lo & 0xffffu) + (lo_hi & 0xffffu);
        return vec2<u32>(hi_hi + (hi_lo >> 16u) + (lo_hi >> 16u) + (cross >> 16u), a * b);
    }
    let p = u64(a) * u64(b);
    return vec2<u32>(u32(p >> 32u), u32(p));
}

// How Philox is written: 0 a loop adding the Weyl constants to the key each
// round (the tier's), 1 the ten rounds written out with the key added to, 2
// the loop with the round keys read from the uniform buffer, 3 written out
// with the round keys from the uniform buffer.
override PHILOX: u32 = 0u;

fn philox_round(c: vec4<u32>, k: vec2<u32>) -> vec4<u32> {
    let p0 = mulhilo(0xD2511F53u, c.x);
    let p1 = mulhilo(0xCD9E8D57u, c.z);
    return vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
}

fn round_key(r: u32) -> vec2<u32> {
    let pair = params.keys[r / 2u];
    return select(pair.xy, pair.zw, (r & 1u) != 0u);
}

fn philox(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    if (PHILOX == 1u) {
        var c = philox_round(counter, key);
        var k = key + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
        c = philox_round(c, k); k += vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
        c = philox_round(c, k); k += vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
        c = philox_round(c, k); k += vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
        c = philox_round(c, k); k += vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
        c = philox_round(c, k); k += vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
        c = philox_round(c, k); k += vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
        c = philox_round(c, k); k += vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
        c = philox_round(c, k); k += vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
        return philox_round(c, k);
    }
    if (PHILOX == 2u) {
        var c = counter;
        for (var r = 0u; r < 10u; r++) {
            c = philox_round(c, round_key(r));
        }
        return c;
    }
    if (PHILOX == 3u) {
        var c = philox_round(counter, params.keys[0].xy);
        c = philox_round(c, params.keys[0].zw);
        c = philox_round(c, params.keys[1].xy);
        c = philox_round(c, params.keys[1].zw);
        c = philox_round(c, params.keys[2].xy);
        c = philox_round(c, params.keys[2].zw);
        c = philox_round(c, params.keys[3].xy);
        c = philox_round(c, params.keys[3].zw);
        c = philox_round(c, params.keys[4].xy);
        return philox_round(c, params.keys[4].zw);
    }
    var c = counter;
    var k = key;
    for (var r = 0u; r < 10u; r++) {
        if (r > 0u) { k += vec2<u32>(0x9E3779B9u, 0xBB67AE85u); }
        let p0 = mulhilo(0xD2511F53u, c.x);
        let p1 = mulhilo(0xCD9E8D57u, c.z);
        c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    }
    return c;
}

fn wide_uniform(lo: u32, hi: u32) -> f32 {
    let whole = f32(hi >> 8u);
    let fraction = (f32(((hi & 0xffu) << 20u) | (lo >> 12u)) + 0.5) * 3.7252902984619140625e-9;
    return (whole + fraction) * 5.9604644775390625e-8;
}

fn turn(u: f32) -> vec2<f32> {
    let quarter = round(u * 4.0);
    let x = (u - quarter * 0.25) * 6.2831853;
    var s = sin(x);
    var c = cos(x);
    if (POLY) {
        let z = x * x;
        s = x + x * z * (-1.6666654611e-1 + z * (8.3321608736e-3 + z * -1.9515295891e-4));
        c = 1.0 - 0.5 * z + z * z * (4.166664568298827e-2 + z * (-1.388731625493765e-3 + z * 2.443315711809948e-5));
    }
    let q = u32(quarter) & 3u;
    let swap = (q & 1u) != 0u;
    let sine = select(s, c, swap);
    let cosine = select(c, s, swap);
    return vec2<f32>(select(cosine, -cosine, ((q + 1u) & 2u) != 0u), select(sine, -sine, (q & 2u) != 0u));
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    var sum = 0.0;
    var squares = 0.0;
    var controls = 0.0;
    var cross = 0.0;
    for (var s = id.x; s < params.streams; s += STREAMS * params.invocations) {
      for (var t = 0u; t < STREAMS; t++) {
        if (s + t * params.invocations >= params.streams) {
            break;
        }
        let stream = s + t * params.invocations;
        var w: vec4<u32>;
        if (PART == 2u) {
            w = vec4<u32>(stream * 747796405u + 2891336453u, stream * 2654435761u, stream * 1664525u + 1013904223u, (stream ^ 0x9E3779B9u) * 2246822519u);
        } else {
            w = philox(vec4<u32>(0u, 0u, stream, 0u), params.key);
        }
        if (PART == 1u) {
            sum += f32(w.x ^ w.y) + f32(w.z ^ w.w);
            continue;
        }
        var u1 = (f32(w.x >> 8u) + 0.5) * 5.9604644775390625e-8;
        var u2 = f32(w.z >> 8u) * 5.9604644775390625e-8;
        if (WIDE) {
            u1 = wide_uniform(w.x, w.y);
            u2 = wide_uniform(w.z, w.w);
        }
        let r = sqrt(-2.0 * log(u1));
        var z = r * vec2<f32>(cos(6.2831853 * u2), sin(6.2831853 * u2));
        if (TURN) {
            z = r * turn(u2);
        }
        let terminal = exp(params.log_spot + params.drift + params.diffusion * z);
        let payoff = max(terminal - params.strike, vec2<f32>(0.0));
        sum += payoff.x + payoff.y;
        squares += dot(payoff, payoff);
        if (CONTROL) {
            controls += terminal.x + terminal.y + dot(terminal, terminal);
            cross += dot(payoff, terminal);
        }
      }
    }
    partials[id.x] = vec4<f32>(sum, squares, controls, cross);
}
"#;

/// One lab variant: its name, its switches and its invocations per dispatch.
struct Variant {
    name: &'static str,
    constants: &'static [(&'static str, f64)],
    invocations: u64,
}

const VARIANTS: &[Variant] = &[
    Variant {
        name: "minimal (one word a uniform)",
        constants: &[],
        invocations: 1 << 20,
    },
    Variant {
        name: "minimal, 2^18 invocations",
        constants: &[],
        invocations: 1 << 18,
    },
    Variant {
        name: "minimal, 2^22 invocations",
        constants: &[],
        invocations: 1 << 22,
    },
    Variant {
        name: "+ 52-bit uniforms",
        constants: &[("WIDE", 1.0)],
        invocations: 1 << 20,
    },
    Variant {
        name: "+ quarter turn",
        constants: &[("TURN", 1.0)],
        invocations: 1 << 20,
    },
    Variant {
        name: "+ control sums",
        constants: &[("CONTROL", 1.0)],
        invocations: 1 << 20,
    },
    Variant {
        name: "+ 52-bit uniforms + quarter turn",
        constants: &[("WIDE", 1.0), ("TURN", 1.0)],
        invocations: 1 << 20,
    },
    Variant {
        name: "+ 52-bit uniforms + quarter turn, polynomial sin/cos",
        constants: &[("WIDE", 1.0), ("TURN", 1.0), ("POLY", 1.0)],
        invocations: 1 << 20,
    },
    Variant {
        name: "Philox alone",
        constants: &[("PART", 1.0)],
        invocations: 1 << 20,
    },
    Variant {
        name: "without Philox",
        constants: &[("PART", 2.0)],
        invocations: 1 << 20,
    },
    Variant {
        name: "without Philox, 52-bit uniforms + quarter turn",
        constants: &[("PART", 2.0), ("WIDE", 1.0), ("TURN", 1.0)],
        invocations: 1 << 20,
    },
    Variant {
        name: "Philox alone, rounds written out",
        constants: &[("PART", 1.0), ("PHILOX", 1.0)],
        invocations: 1 << 20,
    },
    Variant {
        name: "Philox alone, round keys from the uniform",
        constants: &[("PART", 1.0), ("PHILOX", 2.0)],
        invocations: 1 << 20,
    },
    Variant {
        name: "Philox alone, written out, keys from the uniform",
        constants: &[("PART", 1.0), ("PHILOX", 3.0)],
        invocations: 1 << 20,
    },
    Variant {
        name: "minimal, rounds written out",
        constants: &[("PHILOX", 1.0)],
        invocations: 1 << 20,
    },
    Variant {
        name: "minimal, round keys from the uniform",
        constants: &[("PHILOX", 2.0)],
        invocations: 1 << 20,
    },
    Variant {
        name: "minimal, written out, keys from the uniform",
        constants: &[("PHILOX", 3.0)],
        invocations: 1 << 20,
    },
    Variant {
        name: "tier-like (52-bit, quarter turn), written out, keys from the uniform",
        constants: &[("PHILOX", 3.0), ("WIDE", 1.0), ("TURN", 1.0)],
        invocations: 1 << 20,
    },
    Variant {
        name: "tier-like, written out, uniform keys, two streams at once",
        constants: &[
            ("PHILOX", 3.0),
            ("WIDE", 1.0),
            ("TURN", 1.0),
            ("STREAMS", 2.0),
        ],
        invocations: 1 << 19,
    },
    Variant {
        name: "minimal, low half by a 32-bit multiply",
        constants: &[("MUL", 1.0)],
        invocations: 1 << 20,
    },
    Variant {
        name: "minimal, 16-bit halves",
        constants: &[("MUL", 2.0)],
        invocations: 1 << 20,
    },
    Variant {
        name: "minimal, two streams at once",
        constants: &[("STREAMS", 2.0)],
        invocations: 1 << 20,
    },
    Variant {
        name: "minimal, two streams at once, 2^19 invocations",
        constants: &[("STREAMS", 2.0)],
        invocations: 1 << 19,
    },
];

fn main() {
    let mut args = std::env::args().skip(1);
    let mut paths: u64 = 100_000_000;
    let mut greeks = false;
    let mut greeks_only = false;
    for arg in args.by_ref() {
        if arg == "--greeks" {
            greeks = true;
        } else if arg == "--greeks-only" {
            greeks_only = true;
        } else {
            paths = arg.parse::<f64>().expect("paths") as u64;
        }
    }
    let (spot, strike, maturity, rate, vol) = (150.0f64, 155.0f64, 0.25f64, 0.05f64, 0.3f64);
    let allow_software = std::env::var("QUANTMC_ALLOW_SOFTWARE_GPU").is_ok_and(|v| v == "1");
    let job = quantmc::PricingJob {
        market: quantmc::Market {
            spot,
            rate,
            dividend: 0.0,
            vol,
        },
        option: quantmc::OptionSpec {
            kind: quantmc::OptionKind::Call,
            style: quantmc::Style::European,
            strike,
            maturity,
            steps: 1,
            barrier: None,
        },
        paths,
        seed: 42,
        antithetic: false,
        ..Default::default()
    };
    let options = quantmc::RunOptions {
        backend: quantmc::Backend::Gpu,
        allow_software_gpu: allow_software,
        ..Default::default()
    };
    if greeks_only {
        greeks_cost(&job, options, paths, false);
        return;
    }
    // Where a fresh process's time goes: the first call opens the device
    // and compiles the pipeline; a second pipeline (a put) compiles alone;
    // the first large job meets its buffers for the first time.
    let wall = Instant::now();
    let tiny = quantmc::PricingJob { paths: 1000, ..job };
    let first = quantmc::price(&tiny, options).expect("gpu tier");
    println!(
        "fresh process: first call {:.4} s wall ({}; elapsed {:.4} s: compile + run)",
        wall.elapsed().as_secs_f64(),
        first.backend,
        first.elapsed_s
    );
    let mut put = tiny;
    put.option.kind = quantmc::OptionKind::Put;
    let second = quantmc::price(&put, options).expect("gpu tier");
    println!(
        "second pipeline (a put), 1000 paths: elapsed {:.4} s",
        second.elapsed_s
    );
    let big = quantmc::price(&job, options).expect("gpu tier");
    let again = quantmc::price(&job, options).expect("gpu tier");
    println!(
        "{paths:.1e} paths, pipeline compiled: first {:.4} s, again {:.4} s",
        big.elapsed_s, again.elapsed_s
    );
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
    let adapter = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
        .into_iter()
        .filter(|a| allow_software || a.get_info().device_type != wgpu::DeviceType::Cpu)
        .min_by_key(|a| match a.get_info().device_type {
            wgpu::DeviceType::DiscreteGpu => 0,
            wgpu::DeviceType::IntegratedGpu => 1,
            wgpu::DeviceType::Cpu => 3,
            _ => 2,
        })
        .expect("no adapter (set QUANTMC_ALLOW_SOFTWARE_GPU=1 for lavapipe)");
    assert!(
        adapter.features().contains(wgpu::Features::SHADER_INT64),
        "the baseline needs SHADER_INT64"
    );
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        required_features: wgpu::Features::SHADER_INT64,
        required_limits: adapter.limits(),
        ..Default::default()
    }))
    .expect("device");
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: None,
        source: wgpu::ShaderSource::Wgsl(KERNEL.into()),
    });
    // The minimal kernel counts streams in 32 bits.
    let streams = paths.div_ceil(2).min(u64::from(u32::MAX) - (1 << 22));
    let lab_paths = 2 * streams;
    let dt_drift = (rate - 0.5 * vol * vol) * maturity;
    let info = adapter.get_info();
    println!("adapter: {} ({:?})", info.name, info.device_type);
    println!("| kernel | paths | paths/s | time / minimal | price |");
    println!("|---|---:|---:|---:|---:|");
    let mut minimal = None;
    for variant in VARIANTS {
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: None,
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: variant.constants,
                ..Default::default()
            },
            cache: None,
        });
        let invocations = streams.min(variant.invocations).next_multiple_of(256);
        let mut params: [u32; 28] = [
            streams as u32,
            invocations as u32,
            42,
            0,
            (spot.ln() as f32).to_bits(),
            (dt_drift as f32).to_bits(),
            ((vol * maturity.sqrt()) as f32).to_bits(),
            (strike as f32).to_bits(),
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
        ];
        // Round r's key: the seed's key plus r Weyl steps.
        for r in 0..10u32 {
            params[8 + 2 * r as usize] = 42u32.wrapping_add(r.wrapping_mul(0x9E37_79B9));
            params[9 + 2 * r as usize] = r.wrapping_mul(0xBB67_AE85);
        }
        let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: None,
            contents: bytemuck::cast_slice(&params),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let size = 16 * invocations;
        let partials = device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let staging = device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: uniform.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: partials.as_entire_binding(),
                },
            ],
        });
        let mut best = f64::INFINITY;
        let mut price = 0.0;
        for _ in 0..3 {
            let start = Instant::now();
            let mut encoder = device.create_command_encoder(&Default::default());
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                pass.set_pipeline(&pipeline);
                pass.set_bind_group(0, &bind_group, &[]);
                pass.dispatch_workgroups((invocations / 256) as u32, 1, 1);
            }
            encoder.copy_buffer_to_buffer(&partials, 0, &staging, 0, size);
            queue.submit([encoder.finish()]);
            staging.map_async(wgpu::MapMode::Read, .., |_| {});
            device
                .poll(wgpu::PollType::wait_indefinitely())
                .expect("poll");
            let sum: f64 = {
                let data = staging.get_mapped_range(..).expect("map");
                let values: &[[f32; 4]] = bytemuck::cast_slice(&data);
                values.iter().map(|v| f64::from(v[0])).sum()
            };
            staging.unmap();
            best = best.min(start.elapsed().as_secs_f64());
            price = (-rate * maturity).exp() * sum / lab_paths as f64;
        }
        let minimal = *minimal.get_or_insert(best);
        println!(
            "| {} | {lab_paths:.1e} | {:.3e} | {:.2} | {price:.5} |",
            variant.name,
            lab_paths as f64 / best,
            best / minimal,
        );
    }
    let minimal = minimal.expect("a variant ran");
    // Warm: the best of three.
    let tier = |job: &quantmc::PricingJob, runs: usize| {
        (0..runs)
            .map(|_| quantmc::price(job, options).expect("gpu tier"))
            .min_by(|a, b| a.elapsed_s.total_cmp(&b.elapsed_s))
            .expect("one run")
    };
    let warm = tier(&job, 3);
    let minimal_time = minimal * paths as f64 / lab_paths as f64;
    println!(
        "| quantmc gpu, warm | {paths:.1e} | {:.3e} | {:.2} | {:.5} |",
        paths as f64 / warm.elapsed_s,
        warm.elapsed_s / minimal_time,
        warm.price
    );
    if greeks {
        greeks_cost(&job, options, paths, true);
    }
}

/// The cost of the Greeks on the tier: each product priced alone, with
/// pathwise (or likelihood-ratio) Greeks and (with `fd`) with finite
/// differences, warm, best of three, as a ratio to the price alone.
fn greeks_cost(european: &quantmc::PricingJob, options: quantmc::RunOptions, paths: u64, fd: bool) {
    let with = |style, steps, paths, barrier| {
        let mut job = *european;
        job.option.style = style;
        job.option.steps = steps;
        job.option.barrier = barrier;
        job.paths = paths;
        job
    };
    let path_steps = paths / 2;
    let barrier = quantmc::market::Barrier {
        level: 180.0,
        kind: quantmc::market::BarrierKind::UpAndOut,
        rebate: 0.0,
        monitoring: quantmc::market::Monitoring::Continuous,
    };
    let products = [
        (
            "European",
            with(quantmc::Style::European, 1, paths / 4, None),
        ),
        ("digital", with(quantmc::Style::Digital, 1, paths / 4, None)),
        (
            "arithmetic Asian, 64 fixings",
            with(quantmc::Style::AsianArithmetic, 64, path_steps / 64, None),
        ),
        (
            "up-and-out call, continuous, 64 fixings",
            with(quantmc::Style::Barrier, 64, path_steps / 64, Some(barrier)),
        ),
    ];
    println!();
    println!("| product | paths | price (s) | pathwise / price | fd / price |");
    println!("|---|---:|---:|---:|---:|");
    for (name, job) in products {
        let best = |greeks| {
            let job = quantmc::PricingJob { greeks, ..job };
            quantmc::price(&job, options).expect("gpu tier");
            (0..3)
                .map(|_| quantmc::price(&job, options).expect("gpu tier").elapsed_s)
                .fold(f64::INFINITY, f64::min)
        };
        let alone = best(None);
        let pathwise = best(Some(quantmc::pricing::GreeksMethod::Pathwise));
        let fd = if fd {
            format!(
                "{:.2}",
                best(Some(quantmc::pricing::GreeksMethod::Fd)) / alone
            )
        } else {
            "-".to_string()
        };
        println!(
            "| {name} | {:.1e} | {alone:.4} | {:.2} | {fd} |",
            job.paths as f64,
            pathwise / alone,
        );
    }
}
