// Adds a submission's per-workgroup partials (double-f32 sums of the payoff,
// the control and their product) into one, in a fixed order, so the host
// reads back 48 bytes per submission.
// `ReduceParams` is generated from src/backend/gpu/shader.rs.

@group(0) @binding(0) var<uniform> params: ReduceParams;
@group(0) @binding(1) var<storage, read_write> partials: array<Partial>;

@compute @workgroup_size(WORKGROUP)
fn reduce(@builtin(local_invocation_index) lid: u32) {
    var acc = Partial(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
    for (var i = lid; i < params.count; i += WORKGROUP) {
        let p = partials[i];
        acc.payoff = df_add_pair(acc.payoff, p.payoff);
        acc.control = df_add_pair(acc.control, p.control);
        acc.cross = df_add_pair(acc.cross, p.cross);
    }
    let payoff = workgroup_total(lid, acc.payoff);
    let control = workgroup_total(lid, acc.control);
    let cross = workgroup_total(lid, acc.cross);
    if (lid == 0u) {
        partials[params.count] = Partial(payoff, control, cross);
    }
}
