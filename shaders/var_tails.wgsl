// VaR and ES without reading the sample back. Grid-stride over a range of
// scenarios; each invocation computes its scenarios' shocks and, per level,
// adds those below the level's bracket to a count and a double-f32 sum, and
// either stores those inside the bracket (collect mode: a few, selected
// exactly on the host) or counts them into BINS equal bins of the bracket
// (HISTOGRAM mode: to narrow a bracket that holds too many). Per workgroup it
// writes 1 + MAX_LEVELS entries: the shocks' (sum, squares) as double-f32,
// then per level (below sum hi, below sum lo, below count as bits, 0). Counts
// are integers and sums are reduced in a fixed order, so the host's figures
// repeat bit for bit; stored values arrive in any order, and the host sorts.

override HISTOGRAM: bool = false;
const SEGMENT: u32 = 32u;

@group(0) @binding(3) var<storage, read> brackets: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read_write> tail_partials: array<vec4<f32>>;
// Per level: values found inside its bracket; then, in HISTOGRAM mode,
// MAX_LEVELS x BINS bin counts.
@group(0) @binding(5) var<storage, read_write> found: array<atomic<u32>>;
@group(0) @binding(6) var<storage, read_write> inside: array<f32>;

var<workgroup> below_counts: array<atomic<u32>, MAX_LEVELS>;

@compute @workgroup_size(WORKGROUP)
fn tails(
    @builtin(workgroup_id) workgroup: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    if (lid < MAX_LEVELS) {
        atomicStore(&below_counts[lid], 0u);
    }
    workgroupBarrier();
    let invocation = workgroup.x * WORKGROUP + lid;
    var sum = vec2<f32>(0.0);
    var squares = vec2<f32>(0.0);
    var below_sum: array<vec2<f32>, MAX_LEVELS>;
    var below_count: array<u32, MAX_LEVELS>;
    var j = invocation;
    // Plain f32 sums over segments of at most SEGMENT scenarios, folded into
    // the double-f32 totals once per segment (as the pricing kernel does).
    while (j < params.count) {
        var segment = vec2<f32>(0.0);
        var segment_below: array<f32, MAX_LEVELS>;
        for (var k = 0u; k < SEGMENT && j < params.count; k++) {
            let x = scenario_shock(stream_index(params.base, j));
            segment += vec2<f32>(x, x * x);
            for (var level = 0u; level < params.levels; level++) {
                let bracket = brackets[level];
                if (x < bracket.x) {
                    segment_below[level] += x;
                    below_count[level] += 1u;
                } else if (x <= bracket.y) {
                    if (HISTOGRAM) {
                        let width = bracket.y - bracket.x;
                        var bin = BINS - 1u;
                        if (width > 0.0) {
                            bin = min(u32((x - bracket.x) / width * f32(BINS)), BINS - 1u);
                        }
                        atomicAdd(&found[MAX_LEVELS + level * BINS + bin], 1u);
                    } else {
                        let slot = atomicAdd(&found[level], 1u);
                        if (slot < params.capacity) {
                            inside[level * params.capacity + slot] = x;
                        }
                    }
                }
            }
            j += params.invocations;
        }
        sum = df_add(sum, segment.x);
        squares = df_add(squares, segment.y);
        for (var level = 0u; level < params.levels; level++) {
            below_sum[level] = df_add(below_sum[level], segment_below[level]);
        }
    }
    let entry = (params.first_partial + workgroup.x) * (1u + MAX_LEVELS);
    let moments = workgroup_total(lid, vec4<f32>(sum, squares));
    if (lid == 0u) {
        tail_partials[entry] = moments;
    }
    for (var level = 0u; level < params.levels; level++) {
        atomicAdd(&below_counts[level], below_count[level]);
        let total = workgroup_total(lid, vec4<f32>(below_sum[level], 0.0, 0.0));
        if (lid == 0u) {
            let count = atomicLoad(&below_counts[level]);
            tail_partials[entry + 1u + level] = vec4<f32>(total.xy, bitcast<f32>(count), 0.0);
        }
    }
}
