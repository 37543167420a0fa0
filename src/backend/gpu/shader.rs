//! The WGSL side of the kernels, described from Rust: parameter structs whose
//! WGSL declarations are generated from the Rust definitions, the constants
//! the shaders share with the CPU, and each kernel's module source. A unit
//! test parses and validates every module with naga on any machine, and
//! checks each generated struct's layout against Rust's.

use bytemuck::{Pod, Zeroable};

use crate::rng::{
    CHI_SQUARE_MAX_ATTEMPTS, PHILOX_M0, PHILOX_M1, PHILOX_W0, PHILOX_W1, SUBSTREAM_CHI_SQUARE,
    SUBSTREAM_NORMALS,
};

/// Invocations per workgroup in every kernel.
pub(crate) const WORKGROUP: u32 = 256;
/// Most confidence levels the tail kernel handles in one pass.
pub(crate) const MAX_LEVELS: u32 = 8;
/// Bins of the tail kernel's histogram mode.
pub(crate) const BINS: u32 = 4096;

const MULHILO_INT64_WGSL: &str = include_str!("../../../shaders/mulhilo_int64.wgsl");
const MULHILO_16BIT_WGSL: &str = include_str!("../../../shaders/mulhilo_16bit.wgsl");
const PHILOX_WGSL: &str = include_str!("../../../shaders/philox.wgsl");
const NORMALS_WGSL: &str = include_str!("../../../shaders/normals.wgsl");
const DOUBLE_F32_WGSL: &str = include_str!("../../../shaders/double_f32.wgsl");
const PRICE_WGSL: &str = include_str!("../../../shaders/price.wgsl");
const GREEKS_WGSL: &str = include_str!("../../../shaders/greeks.wgsl");
const QMC_WGSL: &str = include_str!("../../../shaders/qmc.wgsl");
const BRIDGE_WGSL: &str = include_str!("../../../shaders/bridge.wgsl");
const BASKET_WGSL: &str = include_str!("../../../shaders/basket.wgsl");
const REDUCE_WGSL: &str = include_str!("../../../shaders/reduce.wgsl");
const VAR_WGSL: &str = include_str!("../../../shaders/var.wgsl");
const VAR_TAILS_WGSL: &str = include_str!("../../../shaders/var_tails.wgsl");
const REVALUATION_WGSL: &str = include_str!("../../../shaders/revaluation.wgsl");
const CHECK_WGSL: &str = include_str!("../../../shaders/philox_check.wgsl");
const MODELS_WGSL: &str = include_str!("../../../shaders/models/common.wgsl");

/// The WGSL name of a field type.
pub(crate) trait WgslType {
    const NAME: &'static str;
}
impl WgslType for u32 {
    const NAME: &'static str = "u32";
}
impl WgslType for f32 {
    const NAME: &'static str = "f32";
}
impl WgslType for [u32; 2] {
    const NAME: &'static str = "vec2<u32>";
}
impl WgslType for RoundKeys {
    const NAME: &'static str = "array<vec4<u32>, 5>";
}

/// Philox's ten round keys, two a vector: round r's is the key plus r Weyl
/// steps ([`round_keys`]).
pub(crate) type RoundKeys = [[u32; 4]; 5];

/// The round keys of `key`, for `shaders/philox_keyed.wgsl`.
pub(crate) fn round_keys(key: [u32; 2]) -> RoundKeys {
    let round = |r: u32| {
        [
            key[0].wrapping_add(r.wrapping_mul(PHILOX_W0)),
            key[1].wrapping_add(r.wrapping_mul(PHILOX_W1)),
        ]
    };
    std::array::from_fn(|pair| {
        let (even, odd) = (round(2 * pair as u32), round(2 * pair as u32 + 1));
        [even[0], even[1], odd[0], odd[1]]
    })
}

/// A `#[repr(C)]` plain-data struct and its WGSL declaration from one list of
/// fields. Fields must sit at offsets WGSL's layout rules agree with (pad to
/// them); the naga test checks every struct.
macro_rules! wgsl_struct {
    ($(#[doc = $doc:literal])* $name:ident { $($(#[doc = $fdoc:literal])* $field:ident: $ty:ty,)+ }) => {
        $(#[doc = $doc])*
        #[repr(C)]
        #[derive(Debug, Clone, Copy, Default, Pod, Zeroable)]
        pub(crate) struct $name {
            $($(#[doc = $fdoc])* pub $field: $ty,)+
        }

        impl $name {
            /// The WGSL declaration.
            pub(crate) fn wgsl() -> String {
                let mut text = format!("struct {} {{\n", stringify!($name));
                $(text += &format!("    {}: {},\n", stringify!($field), <$ty as WgslType>::NAME);)+
                text + "}\n"
            }

            /// Each field's byte offset in Rust, for the layout test.
            #[cfg(test)]
            pub(crate) fn offsets() -> Vec<(&'static str, usize)> {
                vec![$((stringify!($field), std::mem::offset_of!($name, $field)),)+]
            }
        }
    };
}

wgsl_struct! {
    /// One pricing dispatch: a range of streams and the job's constants.
    PriceParams {
        /// First stream of the dispatch (low, high word).
        base: [u32; 2],
        /// Streams in the dispatch.
        streams: u32,
        /// Streams below this carry a valid odd sample (the job's last
        /// stream may not).
        odd_limit: u32,
        /// The Philox key.
        key: [u32; 2],
        /// Time steps per path.
        steps: u32,
        /// Invocations in the dispatch: the grid stride.
        invocations: u32,
        /// Where this dispatch's workgroups write their partials.
        first_partial: u32,
        /// `ln S(0)`.
        log_spot: f32,
        /// Per-step drift.
        drift: f32,
        /// Per-step diffusion.
        diffusion: f32,
        /// The strike.
        strike: f32,
        /// Time steps, as the averaging products divide by them.
        fixings: f32,
        /// 1.0, opaque to the compiler (see `shaders/double_f32.wgsl`).
        one: f32,
        /// 1 when the range starts on an odd sample: the first stream's even
        /// sample is not in it.
        skip_even: u32,
        /// QMC: the word of `qmc` where this replicate's scrambles start.
        scrambles: u32,
        /// QMC: the word of `qmc` where the bridge starts (8 words a step).
        bridge: u32,
        /// A barrier's log level.
        log_barrier: f32,
        /// `-2 / (vol^2 dt)`, the barrier-crossing exponent's factor.
        crossing: f32,
        /// A barrier option's rebate.
        rebate: f32,
        /// Bit 0: up barrier; bit 1: knock-in; bit 2: continuous monitoring.
        barrier_flags: u32,
        /// Greeks: the word of `qmc` where the nine finite-difference
        /// scenarios start (five words each; the host scales the raw
        /// differences).
        scenarios: u32,
        /// The word of `qmc` where the model's constants start
        /// (`Dynamics::device_words`; none for Black-Scholes).
        model: u32,
        /// The Philox round keys of `key`.
        round_keys: RoundKeys,
    }
}

wgsl_struct! {
    /// The final reduction: how many partials there are.
    ReduceParams {
        /// Partials of the submission; segment `s`'s sum goes to entry
        /// `count + s`.
        count: u32,
        /// 1.0, opaque to the compiler (see `shaders/double_f32.wgsl`).
        one: f32,
        /// Padding.
        _pad1: u32,
        /// Padding.
        _pad2: u32,
    }
}

wgsl_struct! {
    /// One batch of VaR scenarios.
    VarParams {
        /// First scenario of the batch (low, high word).
        base: [u32; 2],
        /// Scenarios in the batch.
        count: u32,
        /// Assets.
        assets: u32,
        /// The Philox key.
        key: [u32; 2],
        /// 1 for Student-t scenarios.
        student_t: u32,
        /// Workgroups per row of the 2-D grid (`scenario`).
        grid_x: u32,
        /// Degrees of freedom.
        dof: f32,
        /// Marsaglia-Tsang `d = dof/2 - 1/3`.
        chi_d: f32,
        /// Marsaglia-Tsang `c = 1 / sqrt(9 d)`.
        chi_c: f32,
        /// Invocations in the dispatch: the grid stride (`tails`).
        invocations: u32,
        /// Confidence levels (`tails`), at most `MAX_LEVELS`.
        levels: u32,
        /// Values stored per level inside its bracket (`tails`).
        capacity: u32,
        /// Where this dispatch's workgroups write their partials (`tails`).
        first_partial: u32,
        /// 1.0, opaque to the compiler (see `shaders/double_f32.wgsl`).
        one: f32,
        /// Assets options are written on (`shaders/revaluation.wgsl`).
        underlyings: u32,
        /// Options in the book.
        options: u32,
        /// Padding to 16 bytes.
        _pad1: u32,
        /// Padding.
        _pad2: u32,
        /// The Philox round keys of `key`.
        round_keys: RoundKeys,
    }
}

wgsl_struct! {
    /// The Philox test hook.
    CheckParams {
        /// Counters to run.
        count: u32,
        /// 1.0, opaque to the compiler (see `shaders/double_f32.wgsl`).
        one: f32,
        /// Padding to 16 bytes.
        _pad: [u32; 2],
        /// The Philox round keys of the key under test.
        round_keys: RoundKeys,
    }
}

/// AS241's coefficients as WGSL f32 arrays, from the Rust ones.
fn as241_arrays() -> String {
    use crate::rng::qmc::{AS241_A, AS241_B, AS241_C, AS241_D, AS241_E, AS241_F};
    [
        ("AS241_A", AS241_A),
        ("AS241_B", AS241_B),
        ("AS241_C", AS241_C),
        ("AS241_D", AS241_D),
        ("AS241_E", AS241_E),
        ("AS241_F", AS241_F),
    ]
    .iter()
    .map(|(name, c)| {
        let values: Vec<String> = c.iter().map(|v| format!("{v:e}")).collect();
        format!("const {name} = array<f32, 8>({});\n", values.join(", "))
    })
    .collect()
}

/// Constants the shaders share with the CPU, generated from the Rust ones.
fn constants() -> String {
    [
        ("WORKGROUP", WORKGROUP),
        ("MAX_LEVELS", MAX_LEVELS),
        ("BINS", BINS),
        ("PHILOX_M0", PHILOX_M0),
        ("PHILOX_M1", PHILOX_M1),
        ("SUBSTREAM_NORMALS", SUBSTREAM_NORMALS),
        ("SUBSTREAM_CHI_SQUARE", SUBSTREAM_CHI_SQUARE),
        ("CHI_SQUARE_MAX_ATTEMPTS", CHI_SQUARE_MAX_ATTEMPTS),
    ]
    .iter()
    .chain(&crate::greeks::DEVICE_ESTIMATORS)
    .map(|(name, value)| format!("const {name}: u32 = {value}u;\n"))
    .collect()
}

/// Which 32x32 -> 64-bit multiply the generator uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Multiply {
    /// One 64-bit multiply (SHADER_INT64).
    Int64,
    /// Four 16-bit multiplies and the carries.
    SixteenBit,
}

/// A kernel's WGSL module: the generated prelude, the generator, then the
/// kernel's own files.
fn module(multiply: Multiply, structs: &[String], parts: &[&str]) -> String {
    let mulhilo = match multiply {
        Multiply::Int64 => MULHILO_INT64_WGSL,
        Multiply::SixteenBit => MULHILO_16BIT_WGSL,
    };
    let mut source = constants();
    for declaration in structs {
        source += declaration;
    }
    for part in [mulhilo, PHILOX_WGSL, NORMALS_WGSL].iter().chain(parts) {
        source += "\n";
        source += part;
    }
    source
}

/// Hart's normal distribution function's coefficients and bounds.
fn hart_constants() -> String {
    use crate::revaluation::{HART_CUTOFF, HART_P, HART_Q, HART_SPLIT};
    let array = |name: &str, c: &[f64]| {
        let values: Vec<String> = c.iter().map(|v| format!("{v:e}")).collect();
        format!(
            "const {name} = array<f32, {}>({});\n",
            c.len(),
            values.join(", ")
        )
    };
    array("HART_P", &HART_P)
        + &array("HART_Q", &HART_Q)
        + &format!(
            "const HART_SPLIT: f32 = {HART_SPLIT:e};\nconst HART_CUTOFF: f32 = {HART_CUTOFF:e};\n"
        )
}

/// The models' shared constants (`shaders/models/common.wgsl`).
fn model_constants() -> String {
    use crate::models::{HESTON_WORDS, PSI_SWITCH};
    format!("const PSI_SWITCH: f32 = {PSI_SWITCH:e};\nconst HESTON_WORDS: u32 = {HESTON_WORDS}u;\n")
}

/// The pricing module of the product whose WGSL twin is `product` under
/// the model whose twin is `model`, with room for `bridge_capacity` Brownian
/// values in a QMC path's bridges (every factor's; at least 1).
pub(crate) fn price_module(
    multiply: Multiply,
    product: &str,
    model: &str,
    bridge_capacity: u32,
) -> String {
    let generated = format!(
        "const BRIDGE_CAPACITY: u32 = {}u;\n{}{}{}",
        bridge_capacity.max(1),
        as241_arrays(),
        hart_constants(),
        model_constants()
    );
    module(
        multiply,
        &[PriceParams::wgsl(), generated],
        &[
            DOUBLE_F32_WGSL,
            product,
            MODELS_WGSL,
            model,
            QMC_WGSL,
            BRIDGE_WGSL,
            PRICE_WGSL,
            GREEKS_WGSL,
        ],
    )
}

/// The basket kernel's module for `assets` assets, with room for
/// `bridge_capacity` Brownian values in a QMC point's bridges (every
/// asset's; at least 1).
pub(crate) fn basket_module(multiply: Multiply, assets: u32, bridge_capacity: u32) -> String {
    let generated = format!(
        "const ASSETS: u32 = {assets}u;\nconst MODEL_FACTORS: u32 = ASSETS;\n\
         const BRIDGE_CAPACITY: u32 = {}u;\n{}",
        bridge_capacity.max(1),
        as241_arrays(),
    );
    module(
        multiply,
        &[PriceParams::wgsl(), generated],
        &[DOUBLE_F32_WGSL, QMC_WGSL, BRIDGE_WGSL, BASKET_WGSL],
    )
}

/// The final reduction's module.
pub(crate) fn reduce_module() -> String {
    let mut source = constants() + &ReduceParams::wgsl();
    source += DOUBLE_F32_WGSL;
    source += REDUCE_WGSL;
    source
}

/// Values per underlying in the book after its factor loadings: drift, price.
pub(crate) const UNDERLYING_FIELDS: u32 = 2;
/// Values per option in the book (`Revalued`'s fields, in order).
pub(crate) const OPTION_FIELDS: u32 = 10;

/// The revaluation's constants: Hart's coefficients and bounds, and the
/// book's layout.
fn revaluation_constants() -> String {
    hart_constants()
        + &format!(
            "const MAX_UNDERLYINGS: u32 = {}u;\nconst UNDERLYING_FIELDS: u32 = {UNDERLYING_FIELDS}u;\n\
             const OPTION_FIELDS: u32 = {OPTION_FIELDS}u;\n",
            crate::backend::GPU_MAX_UNDERLYINGS
        )
}

/// The VaR scenario module.
pub(crate) fn var_module(multiply: Multiply) -> String {
    module(
        multiply,
        &[VarParams::wgsl(), revaluation_constants()],
        &[DOUBLE_F32_WGSL, REVALUATION_WGSL, VAR_WGSL, VAR_TAILS_WGSL],
    )
}

/// The Philox test hook's module.
pub(crate) fn check_module(multiply: Multiply) -> String {
    module(
        multiply,
        &[CheckParams::wgsl()],
        &[DOUBLE_F32_WGSL, CHECK_WGSL],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::ModelKind;
    use crate::products::Style;

    /// Parses and validates `source` with naga, as wgpu would on a device.
    fn validate(label: &str, source: &str) -> naga::Module {
        let module = naga::front::wgsl::parse_str(source)
            .unwrap_or_else(|err| panic!("{label}: {}", err.emit_to_string(source)));
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::all(),
        )
        .validate(&module)
        .unwrap_or_else(|err| panic!("{label}: {}", err.emit_to_string(source)));
        module
    }

    /// The struct `name` in `module` has Rust's field offsets and size.
    fn assert_layout(module: &naga::Module, name: &str, offsets: &[(&str, usize)], size: usize) {
        let mut layouter = naga::proc::Layouter::default();
        layouter.update(module.to_ctx()).unwrap();
        let (handle, ty) = module
            .types
            .iter()
            .find(|(_, ty)| ty.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no struct {name}"));
        let naga::TypeInner::Struct { members, span } = &ty.inner else {
            panic!("{name} is not a struct");
        };
        let wgsl: Vec<(&str, usize)> = members
            .iter()
            .map(|m| (m.name.as_deref().unwrap_or(""), m.offset as usize))
            .collect();
        assert_eq!(wgsl, offsets, "{name}: WGSL offsets differ from Rust's");
        assert_eq!(
            *span as usize, size,
            "{name}: WGSL size differs from Rust's"
        );
        assert_eq!(layouter[handle].size as usize, size);
    }

    #[test]
    fn every_module_parses_and_validates_with_both_multiplies() {
        for multiply in [Multiply::Int64, Multiply::SixteenBit] {
            for (&style, capacity) in Style::ALL.iter().zip([1, 64, 1024, 2, 16]) {
                for &model in ModelKind::ALL {
                    validate(
                        &format!("price {style} {model}"),
                        &price_module(multiply, style.wgsl(), model.wgsl(), capacity),
                    );
                }
                let module = validate(
                    &format!("price {style}"),
                    &price_module(
                        multiply,
                        style.wgsl(),
                        ModelKind::BlackScholes.wgsl(),
                        capacity,
                    ),
                );
                assert_layout(
                    &module,
                    "PriceParams",
                    &PriceParams::offsets(),
                    size_of::<PriceParams>(),
                );
            }
            for (assets, capacity) in [(1, 1), (2, 8), (7, 64), (100, 128)] {
                let module = validate(
                    &format!("basket of {assets}"),
                    &basket_module(multiply, assets, capacity),
                );
                assert_layout(
                    &module,
                    "PriceParams",
                    &PriceParams::offsets(),
                    size_of::<PriceParams>(),
                );
            }
            let module = validate("var", &var_module(multiply));
            assert_layout(
                &module,
                "VarParams",
                &VarParams::offsets(),
                size_of::<VarParams>(),
            );
            let module = validate("check", &check_module(multiply));
            assert_layout(
                &module,
                "CheckParams",
                &CheckParams::offsets(),
                size_of::<CheckParams>(),
            );
        }
        let module = validate("reduce", &reduce_module());
        assert_layout(
            &module,
            "ReduceParams",
            &ReduceParams::offsets(),
            size_of::<ReduceParams>(),
        );
    }

    #[test]
    fn a_broken_shader_fails_validation() {
        let broken = price_module(
            Multiply::Int64,
            "fn product_step() {}",
            ModelKind::BlackScholes.wgsl(),
            1,
        );
        assert!(
            naga::front::wgsl::parse_str(&broken)
                .ok()
                .and_then(|m| naga::valid::Validator::new(
                    naga::valid::ValidationFlags::all(),
                    naga::valid::Capabilities::all()
                )
                .validate(&m)
                .ok())
                .is_none()
        );
    }
}

#[cfg(test)]
mod spirv {
    use super::*;

    /// Every pricing module also translates to SPIR-V (what wgpu does on
    /// Vulkan): naga's validator accepts some modules its SPIR-V writer
    /// cannot emit, and that shows only when a pipeline is created.
    #[test]
    fn round_keys_follow_the_key_schedule() {
        // The CPU's Philox adds the Weyl constants to the key before each
        // round after the first.
        let key = [0xffff_fff0, 7];
        let keys = round_keys(key);
        let mut k = key;
        for r in 0..10 {
            let pair = keys[r / 2];
            assert_eq!([pair[2 * (r % 2)], pair[2 * (r % 2) + 1]], k, "round {r}");
            k = [k[0].wrapping_add(PHILOX_W0), k[1].wrapping_add(PHILOX_W1)];
        }
    }

    /// `source` parsed and validated, then written as SPIR-V once for each
    /// set of `overrides` of its entry point `entry`; a failure names `label`
    /// and the overrides.
    fn writes_spirv(label: &str, source: &str, entry: &str, overrides: &[Vec<(&str, f64)>]) {
        let module = naga::front::wgsl::parse_str(source).unwrap();
        let info = naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::all(),
        )
        .validate(&module)
        .unwrap();
        for values in overrides {
            let constants: naga::back::PipelineConstants = values
                .iter()
                .map(|&(name, value)| (name.to_string(), value))
                .collect();
            let (module, info) = naga::back::pipeline_constants::process_overrides(
                &module,
                &info,
                Some((naga::ShaderStage::Compute, entry)),
                &constants,
            )
            .unwrap();
            naga::back::spv::write_vec(&module, &info, &Default::default(), None)
                .unwrap_or_else(|err| panic!("{label} {values:?}: {err}"));
        }
    }

    #[test]
    fn every_basket_module_writes_spirv() {
        for assets in [1, 3, 100] {
            let overrides: Vec<Vec<(&str, f64)>> = [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 2.0)]
                .iter()
                .map(|&(qmc, combine)| {
                    vec![("QMC", qmc), ("COMBINE", combine), ("ANTITHETIC", 1.0)]
                })
                .collect();
            let source = basket_module(Multiply::Int64, assets, 64);
            writes_spirv(
                &format!("basket of {assets}"),
                &source,
                "basket",
                &overrides,
            );
        }
    }

    #[test]
    fn every_pricing_module_writes_spirv() {
        for &style in crate::products::Style::ALL {
            // Every model's Philox and QMC walks (the GPU estimates Greeks
            // under Black-Scholes alone).
            for &model in crate::models::ModelKind::ALL {
                let source = price_module(Multiply::Int64, style.wgsl(), model.wgsl(), 64);
                let overrides: Vec<Vec<(&str, f64)>> = [0.0, 1.0]
                    .iter()
                    .map(|&qmc| vec![("QMC", qmc), ("ANTITHETIC", 1.0)])
                    .collect();
                writes_spirv(&format!("{style} {model}"), &source, "price", &overrides);
            }
            let source = price_module(
                Multiply::Int64,
                style.wgsl(),
                crate::models::ModelKind::BlackScholes.wgsl(),
                64,
            );
            // Without the control's sums on the Philox walks, with them on
            // the QMC ones.
            let estimators = crate::greeks::DEVICE_ESTIMATORS.iter().map(|&(_, e)| e);
            let overrides: Vec<Vec<(&str, f64)>> = std::iter::once(0)
                .chain(estimators)
                .flat_map(|greeks| [(0.0, greeks), (1.0, greeks)])
                .map(|(qmc, greeks)| {
                    vec![
                        ("QMC", qmc),
                        ("CONTROL", qmc),
                        ("GREEKS", f64::from(greeks)),
                    ]
                })
                .collect();
            writes_spirv(&format!("{style} greeks"), &source, "price", &overrides);
        }
    }
}
