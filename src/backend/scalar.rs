//! The scalar kernel: the plain f64 reference every other tier is checked
//! against. It runs the products' own definitions on `f64`, one path at a
//! time, with its normals from [`crate::rng`]'s scalar functions (libm's `ln`,
//! `sin_cos` and `exp`), so it shares no arithmetic with the SIMD kernels
//! beyond the products' formulas.
//!
//! Its chunks run in a function compiled for x86-64-v3 where the CPU has it
//! (and the run's instruction set, `RunOptions::simd`, is AVX2 or above), as
//! the SIMD kernel's do ([`crate::simd::Target`]): there `f64::mul_add` is
//! the FMA instruction, where a baseline build calls the C library's `fma`
//! (sixteen calls a European path with its Greeks). The bits are the same
//! either way: a fused multiply-add rounds once in hardware and software
//! alike, and no other arithmetic may change (Rust never fuses or reorders
//! floating-point operations on its own).

use std::marker::PhantomData;

use super::{ChunkKernel, CpuKernel, Draws};
use crate::basket::{BasketFigures, BasketPlan};
use crate::greeks::{GREEKS, GreekSetup, model_differences};
use crate::hardware::Isa;
use crate::models::{Dynamics, ModelStep, StepVisitor};
use crate::products::{AnyProduct, PathSetup, Product, model_path_value, path_value};
use crate::risk::RiskModel;
use crate::rng::qmc::qmc_normal;
use crate::rng::{SUBSTREAM_NORMALS, chi_square, fill_normals, path_normal};
use crate::simd::Task;
use crate::stats::{CoMoments, Figures, ShiftedSums};

/// One f64 path at a time: the oracle.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScalarKernel {
    /// The x86-64-v3 target, where the CPU and the run's set allow it. (The
    /// unit-test build carries the baseline kernel alone, as the SIMD tier's
    /// does.)
    #[cfg(all(target_arch = "x86_64", not(any(test, fuzzing))))]
    fused: Option<crate::simd::Avx2>,
}

impl ScalarKernel {
    /// The kernel for a run on instruction set `isa`: compiled for FMA where
    /// `isa` has it and the CPU runs it.
    #[cfg_attr(
        any(test, fuzzing, not(target_arch = "x86_64")),
        allow(unused_variables)
    )]
    pub fn new(isa: Isa) -> Self {
        Self {
            #[cfg(all(target_arch = "x86_64", not(any(test, fuzzing))))]
            fused: if matches!(isa, Isa::Avx2 | Isa::Avx512) {
                crate::simd::Avx2::detect()
            } else {
                None
            },
        }
    }

    /// Runs `task`, compiled for FMA where the kernel has the target.
    #[inline(always)]
    fn run<T: Task>(&self, task: T) -> T::Output {
        #[cfg(all(target_arch = "x86_64", not(any(test, fuzzing))))]
        if let Some(target) = self.fused {
            return crate::simd::Target::run(target, task);
        }
        task.run()
    }
}

/// Sample `sample`'s step normals (`factors` a step, step-major): its
/// Philox draws (draw `k` is block `k`), or its QMC point's normals turned
/// into Brownian increments by each factor's bridge. `w` and `scratch` are
/// scratch.
#[inline(always)]
fn sample_normals(
    draws: &Draws<'_>,
    sample: u64,
    z: &mut [f64],
    w: &mut [f64],
    scratch: &mut [f64],
) {
    match *draws {
        Draws::Mc { seed } => {
            for (block, z) in (0..).zip(z.iter_mut()) {
                *z = path_normal(seed, sample, block);
            }
        }
        Draws::Qmc {
            scrambles,
            bridge,
            factors,
        } => {
            for (d, (w, &scramble)) in (0..).zip(w.iter_mut().zip(scrambles)) {
                *w = qmc_normal(sample as u32, d, scramble);
            }
            bridge.factor_increments(factors, w, z, scratch, |x| x);
        }
    }
}

/// A path's draw buffers: its normals, the QMC point's and the bridges'
/// scratch.
fn draw_buffers(setup: &PathSetup) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let draws = setup.draws();
    (
        vec![0.0; draws],
        vec![0.0; draws],
        vec![0.0; 2 * setup.steps as usize],
    )
}

impl ChunkKernel for ScalarKernel {
    fn moments<P: Product, const PUT: bool, const ANTITHETIC: bool>(
        &self,
        setup: &PathSetup,
        draws: &Draws<'_>,
        _control: bool,
        start: u64,
        end: u64,
    ) -> CoMoments {
        if !matches!(setup.dynamics, Dynamics::BlackScholes(_)) {
            return setup
                .dynamics
                .visit(ModelRun {
                    kernel: self,
                    chunk: ModelChunk {
                        setup,
                        draws,
                        greeks: None,
                        put: PUT,
                        antithetic: ANTITHETIC,
                        start,
                        end,
                    },
                })
                .moments;
        }
        self.run(Chunk::<P, PUT, ANTITHETIC, ()> {
            setup,
            draws,
            greeks: (),
            start,
            end,
            product: PhantomData,
        })
    }

    fn greeks<P: Product, const PUT: bool, const ANTITHETIC: bool>(
        &self,
        setup: &PathSetup,
        draws: &Draws<'_>,
        greeks: &GreekSetup,
        _control: bool,
        start: u64,
        end: u64,
    ) -> Figures {
        if !matches!(setup.dynamics, Dynamics::BlackScholes(_)) {
            return setup.dynamics.visit(ModelRun {
                kernel: self,
                chunk: ModelChunk {
                    setup,
                    draws,
                    greeks: Some(greeks),
                    put: PUT,
                    antithetic: ANTITHETIC,
                    start,
                    end,
                },
            });
        }
        self.run(Chunk::<P, PUT, ANTITHETIC, &GreekSetup> {
            setup,
            draws,
            greeks,
            start,
            end,
            product: PhantomData,
        })
    }
}

/// One chunk of samples, a task for the kernel's target: the price alone
/// (`G = ()`) or with the Greeks (`G = &GreekSetup`).
struct Chunk<'a, P, const PUT: bool, const ANTITHETIC: bool, G> {
    setup: &'a PathSetup,
    draws: &'a Draws<'a>,
    greeks: G,
    start: u64,
    end: u64,
    product: PhantomData<P>,
}

impl<P: Product, const PUT: bool, const ANTITHETIC: bool> Task
    for Chunk<'_, P, PUT, ANTITHETIC, ()>
{
    type Output = CoMoments;

    #[inline(always)]
    fn run(self) -> CoMoments {
        let Self {
            setup,
            draws,
            start,
            end,
            ..
        } = self;
        // The oracle always sums the control: one code path to trust.
        let (mut z, mut w, mut scratch) = draw_buffers(setup);
        let samples: Vec<(f64, f64)> = (start..end)
            .map(|index| {
                sample_normals(draws, index, &mut z, &mut w, &mut scratch);
                let up = path_value::<P, PUT, f64>(setup, &z, 1.0);
                if ANTITHETIC {
                    let down = path_value::<P, PUT, f64>(setup, &z, -1.0);
                    (0.5 * (up.0 + down.0), 0.5 * (up.1 + down.1))
                } else {
                    up
                }
            })
            .collect();
        CoMoments::of(&samples)
    }
}

impl<P: Product, const PUT: bool, const ANTITHETIC: bool> Task
    for Chunk<'_, P, PUT, ANTITHETIC, &GreekSetup>
{
    type Output = Figures;

    #[inline(always)]
    fn run(self) -> Figures {
        let Self {
            setup,
            draws,
            greeks,
            start,
            end,
            ..
        } = self;
        let (mut z, mut w, mut scratch) = draw_buffers(setup);
        // The prices stored as the price alone stores them (sized up front,
        // as its `collect` is); the Greeks' estimates summed as they come:
        // five more stored samples a path cost the oracle its cache.
        let mut prices = Vec::with_capacity((end - start) as usize);
        let mut estimates = [ShiftedSums::default(); GREEKS];
        for index in start..end {
            sample_normals(draws, index, &mut z, &mut w, &mut scratch);
            let (mut sample, mut payoff, mut control) = greeks.estimators::<P, PUT, f64>(&z, 1.0);
            if ANTITHETIC {
                let (down, payoff_down, control_down) = greeks.estimators::<P, PUT, f64>(&z, -1.0);
                for (up, down) in sample.iter_mut().zip(down) {
                    *up = 0.5 * (*up + down);
                }
                payoff = 0.5 * (payoff + payoff_down);
                control = 0.5 * (control + control_down);
            }
            prices.push((payoff, control));
            for (sums, value) in estimates.iter_mut().zip(sample) {
                sums.add(value);
            }
        }
        Figures {
            moments: CoMoments::of(&prices),
            greeks: Some(estimates.map(|sums| sums.moments())),
        }
    }
}

/// One chunk of samples under a model other than Black-Scholes
/// ([`crate::models`]): the product, call or put and antithetic chosen at
/// run time ([`AnyProduct`]), so the walk is compiled once a model.
#[derive(Clone, Copy)]
struct ModelChunk<'a> {
    setup: &'a PathSetup,
    draws: &'a Draws<'a>,
    greeks: Option<&'a GreekSetup>,
    put: bool,
    antithetic: bool,
    start: u64,
    end: u64,
}

/// Runs a [`ModelChunk`] on the kernel's target, one target function per
/// model ([`Dynamics::visit`] picks the step type outside it).
struct ModelRun<'a> {
    kernel: &'a ScalarKernel,
    chunk: ModelChunk<'a>,
}

impl StepVisitor for ModelRun<'_> {
    type Output = Figures;

    fn visit<S: ModelStep>(self, _: &S) -> Figures {
        self.kernel.run(ModelTask::<S> {
            chunk: self.chunk,
            step: PhantomData,
        })
    }
}

/// A [`ModelChunk`] under the model whose step type is `S`, a task for the
/// kernel's target.
struct ModelTask<'a, S> {
    chunk: ModelChunk<'a>,
    step: PhantomData<S>,
}

impl<S: ModelStep> Task for ModelTask<'_, S> {
    type Output = Figures;

    #[inline(always)]
    fn run(self) -> Figures {
        model_chunk::<S>(self.chunk)
    }
}

/// The chunk's figures under the model whose step type is `S`: each
/// sample's path (and with finite-difference Greeks its eight bumped
/// scenarios, on the same draws), and its mirror when antithetic.
#[inline(always)]
fn model_chunk<S: ModelStep>(chunk: ModelChunk<'_>) -> Figures {
    let ModelChunk {
        setup,
        draws,
        greeks,
        put,
        antithetic,
        start,
        end,
    } = chunk;
    let differences = greeks.and_then(GreekSetup::scenarios);
    let base = [(setup, 1.0)];
    let scenarios: &[(&PathSetup, f64)] = match &differences {
        Some(scenarios) => scenarios,
        None => &base,
    };
    let (mut z, mut w, mut scratch) = draw_buffers(setup);
    let mut prices = Vec::with_capacity((end - start) as usize);
    let mut estimates = [ShiftedSums::default(); GREEKS];
    let signs: &[f64] = if antithetic { &[1.0, -1.0] } else { &[1.0] };
    for index in start..end {
        sample_normals(draws, index, &mut z, &mut w, &mut scratch);
        let mut value = [0.0; 9];
        let (mut payoff, mut control) = (0.0, 0.0);
        for &sign in signs {
            for (k, &(setup, discount)) in scenarios.iter().enumerate() {
                let (f, c) = model_path_value::<AnyProduct, S, f64>(setup, &z, sign, put);
                if k == 0 {
                    payoff += f;
                    control += c;
                }
                value[k] += f * discount;
            }
        }
        let mut sample = model_differences(&value);
        if antithetic {
            for value in &mut sample {
                *value *= 0.5;
            }
            payoff *= 0.5;
            control *= 0.5;
        }
        prices.push((payoff, control));
        if greeks.is_some() {
            for (sums, value) in estimates.iter_mut().zip(sample) {
                sums.add(value);
            }
        }
    }
    Figures {
        moments: CoMoments::of(&prices),
        greeks: greeks.map(|_| estimates.map(|sums| sums.moments())),
    }
}

/// Scenario `index`'s standard normals, written to `normals`, and the scale
/// of its shocks: 1 for normal scenarios, `sqrt((dof - 2) / W)` for
/// Student-t ones.
pub(crate) fn scenario_draws(dof: Option<f64>, seed: u64, index: u64, normals: &mut [f64]) -> f64 {
    fill_normals(seed, SUBSTREAM_NORMALS, index, normals);
    dof.map_or(1.0, |dof| {
        ((dof - 2.0) / chi_square(seed, index, dof)).sqrt()
    })
}

/// P&L of scenario `index`; `scratch` is [`RiskModel::scratch`]'s.
#[inline(always)]
pub(crate) fn scenario_pnl(model: &RiskModel, seed: u64, index: u64, scratch: &mut [f64]) -> f64 {
    let (normals, returns) = scratch.split_at_mut(model.loadings.len());
    let scale = scenario_draws(model.dof, seed, index, normals);
    let shock: f64 = model
        .loadings
        .iter()
        .zip(normals.iter())
        .map(|(b, z)| b * z)
        .sum();
    let linear = model.mean + scale * shock;
    match &model.book {
        None => linear,
        Some(book) => {
            book.returns(normals, scale, returns);
            linear + book.horizon_value(returns)
        }
    }
}

impl CpuKernel for ScalarKernel {
    fn describe(&self) -> String {
        #[cfg(all(target_arch = "x86_64", not(any(test, fuzzing))))]
        if self.fused.is_some() {
            return "f64, FMA".to_string();
        }
        "f64".to_string()
    }

    fn fill_pnl(&self, model: &RiskModel, seed: u64, first: u64, out: &mut [f64]) {
        self.run(FillPnl {
            model,
            seed,
            first,
            out,
        })
    }
}

/// [`CpuKernel::fill_pnl`] as a task for the kernel's target.
struct FillPnl<'a> {
    model: &'a RiskModel,
    seed: u64,
    first: u64,
    out: &'a mut [f64],
}

impl Task for FillPnl<'_> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let mut scratch = self.model.scratch();
        for (index, value) in (self.first..).zip(self.out.iter_mut()) {
            *value = scenario_pnl(self.model, self.seed, index, &mut scratch);
        }
    }
}

/// The oracle's basket walk: samples `start .. end` of one group, one path
/// (or mirrored pair) at a time, each asset's normals from its draws
/// ([`crate::basket`]'s layout), the plan's step, payoff and Greeks'
/// estimators on `f64`.
pub(crate) fn basket_moments(
    plan: &BasketPlan,
    draws: &Draws<'_>,
    start: u64,
    end: u64,
) -> BasketFigures {
    let d = plan.assets;
    let draws_per_path = d * plan.steps as usize;
    let qmc = matches!(draws, Draws::Qmc { .. });
    // A QMC point is bridged whole; Philox draws are taken step by step, so
    // a path's memory does not grow with its steps.
    let (mut z, mut w, mut scratch) = if qmc {
        (
            vec![0.0; draws_per_path],
            vec![0.0; draws_per_path],
            vec![0.0; 2 * plan.steps as usize],
        )
    } else {
        (vec![0.0; d], Vec::new(), Vec::new())
    };
    let (mut up, mut down) = (vec![0.0; d], vec![0.0; d]);
    let mut samples = Vec::with_capacity((end - start) as usize);
    let mut estimators = vec![0.0; if plan.greeks { 2 * d } else { 0 }];
    let mut greek_sums = vec![ShiftedSums::default(); estimators.len()];
    for sample in start..end {
        up.fill(0.0);
        down.fill(0.0);
        if qmc {
            sample_normals(draws, sample, &mut z, &mut w, &mut scratch);
        }
        for step in 0..plan.steps {
            let shocks = match *draws {
                Draws::Mc { seed } => {
                    let first = step * d as u32;
                    for (f, z) in (0..).zip(z.iter_mut()) {
                        *z = path_normal(seed, sample, first + f);
                    }
                    &z[..]
                }
                Draws::Qmc { .. } => &z[step as usize * d..(step as usize + 1) * d],
            };
            plan.advance(shocks, &mut up, false);
            if plan.antithetic {
                plan.advance(shocks, &mut down, true);
            }
        }
        samples.push(plan.sample_value(&up, &down));
        if plan.greeks {
            plan.sample_sensitivities(&up, &down, &mut estimators);
            for (sums, &value) in greek_sums.iter_mut().zip(&estimators) {
                sums.add(value);
            }
        }
    }
    BasketFigures {
        moments: CoMoments::of(&samples),
        greeks: greek_sums.iter().map(ShiftedSums::moments).collect(),
    }
}
