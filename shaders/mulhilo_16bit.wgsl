// (high, low) 32-bit halves of the 64-bit product a * b, for adapters without
// 64-bit integers: WGSL has no 32x32 -> 64-bit multiply, so the high half is
// built from 16-bit halves (four multiplies and the carries).
fn mulhilo(a: u32, b: u32) -> vec2<u32> {
    let a_lo = a & 0xffffu;
    let a_hi = a >> 16u;
    let b_lo = b & 0xffffu;
    let b_hi = b >> 16u;
    let ll = a_lo * b_lo;
    let lh = a_lo * b_hi;
    let hl = a_hi * b_lo;
    let hh = a_hi * b_hi;
    let middle = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
    let high = hh + (lh >> 16u) + (hl >> 16u) + (middle >> 16u);
    return vec2<u32>(high, a * b);
}
