//! The floor for the GPU tier's pricing kernel on this adapter: a minimal
//! grid-stride European-call kernel (Philox4x32-10, Box-Muller, payoff, f32
//! sums in registers, one partial per invocation, one dispatch, one read-back)
//! timed beside `quantmc::price` on the GPU tier, same paths, same adapter.
//!
//! `cargo run --release --example gpu_baseline -- [paths]` (set
//! `QUANTMC_ALLOW_SOFTWARE_GPU=1` to run on lavapipe).

use std::time::Instant;

use wgpu::util::DeviceExt;

const KERNEL: &str = r#"
struct Params { streams: u32, invocations: u32, key: vec2<u32>, log_spot: f32, drift: f32, diffusion: f32, strike: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> partials: array<vec2<f32>>;

fn mulhilo(a: u32, b: u32) -> vec2<u32> {
    let p = u64(a) * u64(b);
    return vec2<u32>(u32(p >> 32u), u32(p));
}

fn philox(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
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

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    var sum = 0.0;
    var squares = 0.0;
    for (var s = id.x; s < params.streams; s += params.invocations) {
        let w = philox(vec4<u32>(0u, 0u, s, 0u), params.key);
        let u1 = (f32(w.x >> 8u) + 0.5) * 5.9604644775390625e-8;
        let u2 = f32(w.z >> 8u) * 5.9604644775390625e-8;
        let r = sqrt(-2.0 * log(u1));
        let z = r * vec2<f32>(cos(6.2831853 * u2), sin(6.2831853 * u2));
        let terminal = exp(params.log_spot + params.drift + params.diffusion * z);
        let payoff = max(terminal - params.strike, vec2<f32>(0.0));
        sum += payoff.x + payoff.y;
        squares += dot(payoff, payoff);
    }
    partials[id.x] = vec2<f32>(sum, squares);
}
"#;

fn main() {
    let paths: u64 = std::env::args().nth(1).map_or(100_000_000, |text| {
        text.parse::<f64>().expect("paths") as u64
    });
    let (spot, strike, maturity, rate, vol) = (150.0f64, 155.0f64, 0.25f64, 0.05f64, 0.3f64);
    let allow_software = std::env::var("QUANTMC_ALLOW_SOFTWARE_GPU").is_ok_and(|v| v == "1");
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
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: None,
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    let streams = paths.div_ceil(2);
    let invocations = streams.min(1 << 20).next_multiple_of(256);
    let dt_drift = (rate - 0.5 * vol * vol) * maturity;
    let params: [u32; 8] = [
        streams as u32,
        invocations as u32,
        42,
        0,
        (spot.ln() as f32).to_bits(),
        (dt_drift as f32).to_bits(),
        ((vol * maturity.sqrt()) as f32).to_bits(),
        (strike as f32).to_bits(),
    ];
    let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: None,
        contents: bytemuck::cast_slice(&params),
        usage: wgpu::BufferUsages::UNIFORM,
    });
    let size = 8 * invocations;
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
            let values: &[[f32; 2]] = bytemuck::cast_slice(&data);
            values.iter().map(|v| f64::from(v[0])).sum()
        };
        staging.unmap();
        best = best.min(start.elapsed().as_secs_f64());
        price = (-rate * maturity).exp() * sum / (2 * streams) as f64;
    }
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
    let mut tier = f64::INFINITY;
    for _ in 0..3 {
        tier = tier.min(quantmc::price(&job, options).expect("gpu tier").elapsed_s);
    }
    let info = adapter.get_info();
    println!("adapter: {} ({:?})", info.name, info.device_type);
    println!(
        "minimal kernel: {:.3e} paths/s (price {price:.4})",
        paths as f64 / best
    );
    println!("quantmc gpu:    {:.3e} paths/s", paths as f64 / tier);
    println!(
        "tier / minimal: {:.2}x the minimal kernel's time",
        tier / best
    );
}
