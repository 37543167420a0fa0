// Double-f32 sums: a value is hi + lo with |lo| <= ulp(hi) / 2, about 48 bits
// of precision. Additions use Knuth's two-sum, which is exact in IEEE f32
// arithmetic (no reassociation: WGSL and SPIR-V do not allow it).

fn two_sum(a: f32, b: f32) -> vec2<f32> {
    let s = a + b;
    let bb = s - a;
    let err = (a - (s - bb)) + (b - bb);
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

var<workgroup> scratch: array<vec4<f32>, WORKGROUP>;

// The workgroup's (sum, squares) pairs added in a fixed tree; invocation 0
// gets the total.
fn workgroup_total(lid: u32, value: vec4<f32>) -> vec4<f32> {
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
