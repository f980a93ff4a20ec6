//! Running one entry point of a compiled class on cairo-vm: a runner per call (cairo-vm's
//! runner is not `Send`, the compiled class is shared), the arguments a Starknet entry point
//! takes, and a hint processor that hands system calls to [`crate::syscall`] and every other
//! hint to cairo-vm's own Cairo 1 hint processor.

use std::{any::Any, collections::HashMap, sync::Arc};

use babel_execution::ExecError;
use cairo_lang_casm::{
    hints::{CoreHint, CoreHintBase, Hint, StarknetHint},
    operand::{CellRef, DerefOrImmediate, Register, ResOperand},
};
use cairo_vm::{
    Felt252,
    hint_processor::{
        cairo_1_hint_processor::hint_processor::Cairo1HintProcessor,
        hint_processor_definition::{HintProcessorLogic, HintReference},
    },
    serde::deserialize_program::ApTracking,
    types::{
        exec_scope::ExecutionScopes, layout_name::LayoutName, relocatable::MaybeRelocatable,
        relocatable::Relocatable,
    },
    vm::{
        errors::{hint_errors::HintError, vm_errors::VirtualMachineError},
        runners::cairo_runner::{CairoArg, CairoRunner, ResourceTracker, RunResources},
        vm_core::VirtualMachine,
    },
};

use crate::{
    class::{Compiled, EntryPoint},
    felt::short_string_felt,
    limits::{ENTRY_POINT_SIERRA_GAS, FIELD_SQRT_STEPS, MAX_RETURN_FELTS, RANDOM_EC_POINT_STEPS},
    syscall::Syscalls,
};

/// The `ret` instruction placed after the bytecode: where the entry point returns to.
const RET: Felt252 = Felt252::from_hex_unchecked("0x208b7fff7fff7ffe");

/// Sierra gas costs of the builtins, in the order the compiled code reads them from the table
/// whose address follows the bytecode: Pedersen, bitwise, EC op, Poseidon, add-mod, mul-mod.
/// The compiled code charges them at run time from this table, so they are Babel's to set:
/// cairo-vm computes a Pedersen hash in about 16 µs, a Poseidon permutation in 4 and an EC
/// op in 73 (docs/BENCHMARKS.md), which at the 5 ns per gas that `MAX_BLOCK_GAS` assumes is
/// 3 300, 750 and 14 600 gas. The compiler's own schedule (4 050, 491 and 4 085 Sierra gas)
/// is 8 to 36 times less. Bitwise is a few word operations; the mod builtins serve circuits,
/// which no class may use ([`crate::sierra`]).
pub const BUILTIN_COSTS: [u64; 6] = [33_000, 583, 146_000, 7_500, 230, 604];

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ended {
    /// The entry point returned this data.
    Returned(Vec<Felt252>),
    /// It panicked with this data (a failed assert, `panic!`, running out of Sierra gas, or a
    /// failed call it did not catch).
    Panicked(Vec<Felt252>),
    /// It reached its step bound.
    OutOfSteps,
    /// The VM stopped it: a hint or instruction that cannot run, or a result that breaks the
    /// entry point convention. The reason is stable.
    Failed(&'static str),
}

/// One run: how it ended and what it used.
#[derive(Debug)]
pub struct Ran {
    /// The end.
    pub ended: Ended,
    /// Sierra gas used (nested calls included).
    pub sierra_used: u64,
    /// Steps this run took (nested calls' not included).
    pub steps: u64,
}

/// Run `entry` of `class` with `calldata`, `sierra_gas` (the entry cost included: the code gets
/// the rest) and at most `max_steps` steps; system calls go to `sys`. `Err` only for faults
/// that are not the contract's (they stop the block).
pub fn run(
    class: &Arc<Compiled>,
    entry: &EntryPoint,
    calldata: &[Felt252],
    sierra_gas: u64,
    max_steps: u64,
    sys: &mut Syscalls<'_>,
) -> Result<Ran, ExecError> {
    let failed = |why: &'static str| Ran {
        ended: Ended::Failed(why),
        sierra_used: sierra_gas,
        steps: 0,
    };
    let Some(vm_gas) = sierra_gas.checked_sub(ENTRY_POINT_SIERRA_GAS) else {
        return Ok(Ran {
            ended: Ended::Panicked(vec![short_string_felt(b"Out of gas")]),
            sierra_used: sierra_gas,
            steps: 0,
        });
    };
    let Ok(mut runner) = CairoRunner::new(
        &class.program,
        LayoutName::all_cairo,
        None,
        false,
        false,
        false,
    ) else {
        return Ok(failed("cairo: the VM could not start"));
    };
    let Ok(args) = prepare(&mut runner, class, entry, calldata, vm_gas) else {
        return Ok(failed(
            "cairo: the entry point's builtins are not available",
        ));
    };
    let arg_refs: Vec<&CairoArg> = args.iter().collect();
    let mut processor = Processor {
        core: Cairo1HintProcessor::new(
            &[],
            RunResources::new(usize::try_from(max_steps).unwrap_or(usize::MAX)),
            false,
        ),
        hints: &class.hints,
        sys,
        extra_steps: 0,
    };
    // cairo-vm asserts on states only a miscompiled program reaches; were one reached, the
    // run fails like any VM error instead of taking the node down (deterministically: the
    // same program fails the same way on every node).
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runner
            .run_from_entrypoint(
                entry.offset,
                &arg_refs,
                true,
                Some(class.bytecode_len + 2),
                &mut processor,
            )
            .map_err(|e| e.to_string())
    }));
    let steps = (runner.vm.get_current_step() as u64).saturating_add(processor.extra_steps);
    if let Some(fatal) = processor.sys.fatal.take() {
        return Err(fatal);
    }
    let result = match result {
        Ok(result) => result,
        Err(_) => {
            return Ok(Ran {
                steps,
                ..failed("cairo: execution failed")
            });
        }
    };
    if let Err(e) = result {
        if processor.core.consumed() {
            return Ok(Ran {
                ended: Ended::OutOfSteps,
                sierra_used: sierra_gas,
                steps,
            });
        }
        tracing::debug!("cairo run failed: {e}");
        return Ok(Ran {
            steps,
            ..failed("cairo: execution failed")
        });
    }
    Ok(match results(&runner.vm, sierra_gas) {
        Some((sierra_used, ended)) => Ran {
            ended,
            sierra_used,
            steps,
        },
        None => Ran {
            steps,
            ..failed("cairo: the entry point broke its return convention")
        },
    })
}

/// Lay out what the entry point reads: the `ret` and the builtin cost table after the
/// bytecode, then its arguments (builtin pointers, gas, the system call pointer, calldata).
fn prepare(
    runner: &mut CairoRunner,
    class: &Compiled,
    entry: &EntryPoint,
    calldata: &[Felt252],
    sierra_gas: u64,
) -> Result<Vec<CairoArg>, VirtualMachineError> {
    runner.initialize_function_runner_cairo_1(&entry.builtins)?;
    let base = runner.program_base.ok_or(VirtualMachineError::Unexpected)?;
    let costs = runner.vm.add_memory_segment();
    let cost_felts: Vec<MaybeRelocatable> = BUILTIN_COSTS
        .iter()
        .map(|c| MaybeRelocatable::from(Felt252::from(*c)))
        .collect();
    runner.vm.load_data(costs, &cost_felts)?;
    let end = (base + class.bytecode_len)?;
    runner.vm.insert_value(end, RET)?;
    runner.vm.insert_value((end + 1usize)?, costs)?;

    let mut args = Vec::with_capacity(entry.builtins.len() + 4);
    for name in &entry.builtins {
        let runner_of = runner
            .vm
            .builtin_runners
            .iter()
            .find(|b| b.name() == *name)
            .ok_or(VirtualMachineError::Unexpected)?;
        args.extend(runner_of.initial_stack().into_iter().map(CairoArg::Single));
    }
    args.push(CairoArg::Single(Felt252::from(sierra_gas).into()));
    let syscalls = runner.vm.add_memory_segment();
    args.push(CairoArg::Single(syscalls.into()));
    let data = runner.vm.add_memory_segment();
    let felts: Vec<MaybeRelocatable> = calldata.iter().map(MaybeRelocatable::from).collect();
    let data_end = runner.vm.load_data(data, &felts)?;
    args.push(CairoArg::Single(data.into()));
    args.push(CairoArg::Single(data_end.into()));
    Ok(args)
}

/// The Sierra gas used and how the run ended, from the entry point's return values: gas left,
/// the system call pointer, the panic flag and the span of return (or panic) data. `None` if
/// they are not what an entry point returns.
fn results(vm: &VirtualMachine, sierra_gas: u64) -> Option<(u64, Ended)> {
    let values = vm.get_return_values(5).ok()?;
    let [gas_left, _, flag, start, end] = values.as_slice() else {
        return None;
    };
    let gas_left = u64::try_from(*gas_left.get_int_ref()?).ok()?;
    // The code may hand back the entry cost it counted on (it was given `sierra_gas` less
    // that), never more.
    let used = sierra_gas.checked_sub(gas_left)?;
    let (start, end) = (start.get_relocatable()?, end.get_relocatable()?);
    let len = (end - start).ok().filter(|l| *l <= MAX_RETURN_FELTS)?;
    let data: Vec<Felt252> = vm
        .get_integer_range(start, len)
        .ok()?
        .into_iter()
        .map(|f| *f)
        .collect();
    let flag = flag.get_int_ref()?;
    let ended = if *flag == Felt252::ZERO {
        Ended::Returned(data)
    } else if *flag == Felt252::ONE {
        Ended::Panicked(data)
    } else {
        return None;
    };
    Some((used, ended))
}

/// The hint processor of one run.
struct Processor<'r, 's> {
    core: Cairo1HintProcessor,
    hints: &'r HashMap<usize, Vec<Hint>>,
    sys: &'r mut Syscalls<'s>,
    /// Steps the run's hints counted for beyond the VM's own.
    extra_steps: u64,
}

impl Processor<'_, '_> {
    /// Count `steps` more steps, against the run's bound and its gas: a hint whose work is
    /// many steps' worth.
    fn extra(&mut self, steps: u64) {
        for _ in 0..steps {
            self.core.consume_step();
        }
        self.extra_steps = self.extra_steps.saturating_add(steps);
    }
}

impl HintProcessorLogic for Processor<'_, '_> {
    // The program names each hint by its pc; the hints themselves stay in the shared class
    // (runs compile every hint of the program, so this must be cheap).
    fn compile_hint(
        &self,
        hint_code: &str,
        _: &ApTracking,
        _: &HashMap<String, usize>,
        _: &[HintReference],
        _: &[String],
        _: Arc<HashMap<String, Felt252>>,
    ) -> Result<Box<dyn Any>, VirtualMachineError> {
        let pc: usize = hint_code
            .parse()
            .map_err(|_| VirtualMachineError::CompileHintFail(hint_code.into()))?;
        Ok(Box::new(pc))
    }

    fn execute_hint(
        &mut self,
        vm: &mut VirtualMachine,
        exec_scopes: &mut ExecutionScopes,
        hint_data: &Box<dyn Any>,
    ) -> Result<(), HintError> {
        let pc = hint_data
            .downcast_ref::<usize>()
            .ok_or(HintError::WrongHintData)?;
        let hints = self.hints.get(pc).ok_or(HintError::WrongHintData)?;
        for hint in hints {
            match hint {
                Hint::Starknet(StarknetHint::SystemCall { system }) => {
                    let ptr = pointer(vm, system)?;
                    self.sys.call(vm, ptr)?;
                }
                Hint::Starknet(StarknetHint::Cheatcode { .. }) => {
                    return Err(HintError::CustomHint("cheatcodes are not available".into()));
                }
                Hint::Core(CoreHintBase::Core(CoreHint::FieldSqrt { .. })) => {
                    self.extra(FIELD_SQRT_STEPS);
                    self.core.execute(vm, exec_scopes, hint)?;
                }
                Hint::Core(CoreHintBase::Core(CoreHint::RandomEcPoint { .. })) => {
                    self.extra(RANDOM_EC_POINT_STEPS);
                    self.core.execute(vm, exec_scopes, hint)?;
                }
                other => self.core.execute(vm, exec_scopes, other)?,
            }
        }
        Ok(())
    }
}

impl ResourceTracker for Processor<'_, '_> {
    fn consumed(&self) -> bool {
        self.core.consumed()
    }

    fn consume_step(&mut self) {
        self.core.consume_step();
    }

    fn get_n_steps(&self) -> Option<usize> {
        self.core.get_n_steps()
    }

    fn run_resources(&self) -> &RunResources {
        self.core.run_resources()
    }
}

/// The address a system call hint's operand points at (`[cell] + offset`).
fn pointer(vm: &VirtualMachine, operand: &ResOperand) -> Result<Relocatable, HintError> {
    let (cell, offset) = match operand {
        ResOperand::Deref(cell) => (cell, 0),
        ResOperand::BinOp(op) => match &op.b {
            DerefOrImmediate::Immediate(value) => (
                &op.a,
                usize::try_from(&value.value)
                    .map_err(|_| HintError::CustomHint("bad system call operand".into()))?,
            ),
            DerefOrImmediate::Deref(_) => {
                return Err(HintError::CustomHint("bad system call operand".into()));
            }
        },
        _ => return Err(HintError::CustomHint("bad system call operand".into())),
    };
    let base = cell_address(vm, cell)?;
    Ok((vm.get_relocatable(base)? + offset)?)
}

fn cell_address(vm: &VirtualMachine, cell: &CellRef) -> Result<Relocatable, HintError> {
    let register = match cell.register {
        Register::AP => vm.get_ap(),
        Register::FP => vm.get_fp(),
    };
    Ok((register + i32::from(cell.offset))?)
}
