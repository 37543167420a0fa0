// Adds each segment's per-workgroup partials (double-f32 sums of the payoff,
// the control, their product and the Greeks' estimators) into one, in a
// fixed order: workgroup `s` adds partials `offsets[s] .. offsets[s + 1]`
// (segment s's dispatch) into entry `params.count + s`, so a segment's sum
// does not depend on the segments it was submitted with, and the host reads
// back 128 bytes a segment.
// `ReduceParams` is generated from src/backend/gpu/shader.rs.

@group(0) @binding(0) var<uniform> params: ReduceParams;
@group(0) @binding(1) var<storage, read_write> partials: array<Partial>;
@group(0) @binding(2) var<storage, read> offsets: array<u32>;

@compute @workgroup_size(WORKGROUP)
fn reduce(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    let segment = group.x;
    let end = offsets[segment + 1u];
    var acc: Partial;
    for (var i = offsets[segment] + lid; i < end; i += WORKGROUP) {
        let p = partials[i];
        acc.payoff = df_add_pair(acc.payoff, p.payoff);
        acc.control = df_add_pair(acc.control, p.control);
        acc.cross = df_add_pair(acc.cross, p.cross);
        for (var g = 0u; g < 5u; g++) {
            acc.greeks[g] = df_add_pair(acc.greeks[g], p.greeks[g]);
        }
    }
    var total: Partial;
    total.payoff = workgroup_total(lid, acc.payoff);
    total.control = workgroup_total(lid, acc.control);
    total.cross = workgroup_total(lid, acc.cross);
    for (var g = 0u; g < 5u; g++) {
        total.greeks[g] = workgroup_total(lid, acc.greeks[g]);
    }
    if (lid == 0u) {
        partials[params.count + segment] = total;
    }
}
