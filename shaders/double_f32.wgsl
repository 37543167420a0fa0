// Double-f32 sums: a value is hi + lo with |lo| <= ulp(hi) / 2, about 48 bits
// of precision. Additions use Knuth's two-sum, which is exact in IEEE f32
// arithmetic only if every intermediate is rounded to f32. Shader compilers
// need not do that (on lavapipe a plain two-sum returned an error term of 0,
// as if the sum were kept wider; tests/gpu.rs checks), and WGSL cannot mark an
// operation precise. So each intermediate goes through `rounded`: its f32
// bits xor a uniform that is 0 at run time (from `params.one`, which the host
// sets to 1.0), which no compiler can see through, so the value must exist as
// an f32.

fn rounded(x: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(x) ^ (bitcast<u32>(params.one) ^ 0x3f800000u));
}

fn two_sum(a: f32, b: f32) -> vec2<f32> {
    let s = rounded(a + b);
    let bb = rounded(s - a);
    let av = rounded(s - bb);
    let err = rounded(a - av) + rounded(b - bb);
    return vec2<f32>(s, err);
}

// (hi, lo) + x.
fn df_add(acc: vec2<f32>, x: f32) -> vec2<f32> {
    let s = two_sum(acc.x, x);
    return two_sum(s.x, s.y + acc.y);
}

// Two pairs of double-f32 values, (sum, squares) each, added.
fn df_add_pair(a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
    let s = two_sum(a.x, b.x);
    let q = two_sum(a.z, b.z);
    let sum = two_sum(s.x, s.y + a.y + b.y);
    let squares = two_sum(q.x, q.y + a.w + b.w);
    return vec4<f32>(sum, squares);
}

// A pricing workgroup's double-f32 sums: (payoff, payoff^2),
// (control, control^2), (payoff * control, unused), and each Greek's
// (estimator, estimator^2).
struct Partial {
    payoff: vec4<f32>,
    control: vec4<f32>,
    cross: vec4<f32>,
    greeks: array<vec4<f32>, 5>,
}

var<workgroup> scratch: array<vec4<f32>, WORKGROUP>;

// The workgroup's (sum, squares) pairs added in a fixed tree; invocation 0
// gets the total.
fn workgroup_total(lid: u32, value: vec4<f32>) -> vec4<f32> {
    // Every invocation has read the previous call's total before any
    // overwrites it.
    workgroupBarrier();
    scratch[lid] = value;
    workgroupBarrier();
    for (var stride = WORKGROUP / 2u; stride > 0u; stride = stride / 2u) {
        if (lid < stride) {
            scratch[lid] = df_add_pair(scratch[lid], scratch[lid + stride]);
        }
        workgroupBarrier();
    }
    return scratch[0];
}
