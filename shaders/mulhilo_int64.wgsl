// (high, low) 32-bit halves of the 64-bit product a * b with one 64-bit
// multiply, where the adapter has 64-bit integers (wgpu's SHADER_INT64): on
// NVIDIA one IMAD.WIDE instead of four multiplies and the carry arithmetic.
fn mulhilo(a: u32, b: u32) -> vec2<u32> {
    let product = u64(a) * u64(b);
    return vec2<u32>(u32(product >> 32u), u32(product));
}
