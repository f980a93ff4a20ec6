//! Contract classes: the Sierra a rollup deploys, compiled by the node to CASM and kept ready
//! to run. Compiling is checked and bounded (size, program length and shape, allowed library
//! functions: [`crate::sierra`]; bytecode length) and never panics through: the compiler's
//! own panics are caught and refuse the class.

use std::{collections::HashMap, panic::AssertUnwindSafe, sync::Arc};

use cairo_lang_casm::hints::Hint;
use cairo_lang_starknet_classes::{
    casm_contract_class::{CasmContractClass, CasmContractEntryPoint},
    contract_class::{ContractClass, version_id_from_serialized_sierra_program},
};
use cairo_vm::{Felt252, types::builtin_name::BuiltinName, types::program::Program};

use crate::limits::{MAX_BYTECODE_FELTS, MAX_CLASS_BYTES, MAX_SIERRA_FELTS, load_gas};

/// The oldest Sierra minor version accepted (of major version 1): older ones make the compiler
/// solve their gas and stack layout as linear programs, at a cost the deploy does not pay for.
pub const MIN_SIERRA_MINOR: usize = 4;

/// Why a class is refused. Every node gives the same verdict for the same bytes: the
/// compiler is pinned.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClassRefusal {
    /// Larger than [`MAX_CLASS_BYTES`].
    #[error("cairo: class larger than {MAX_CLASS_BYTES} bytes")]
    TooLarge,
    /// Not a contract class's JSON.
    #[error("cairo: not a contract class")]
    Malformed,
    /// Its Sierra program is longer than [`MAX_SIERRA_FELTS`] once decompressed.
    #[error("cairo: Sierra program longer than {MAX_SIERRA_FELTS} felts")]
    ProgramTooLong,
    /// Its Sierra program declares more than the node compiles ([`crate::sierra`]).
    #[error("cairo: Sierra program beyond the compiler's bounds")]
    Shape,
    /// Uses a library function outside the audited list, or a circuit's.
    #[error("cairo: class uses a library function or type that is not allowed")]
    Libfunc,
    /// Its Sierra version is older than 1.[`MIN_SIERRA_MINOR`] or newer than the compiler's.
    #[error("cairo: class of an unsupported Sierra version")]
    Version,
    /// Does not compile to CASM (or compiles to more than [`MAX_BYTECODE_FELTS`]).
    #[error("cairo: class does not compile")]
    Compile,
    /// Its entry points need a builtin the VM does not run.
    #[error("cairo: class needs an unknown builtin")]
    Builtin,
}

/// An entry point of a compiled class.
#[derive(Clone, Debug)]
pub struct EntryPoint {
    /// Offset of its code in the bytecode.
    pub offset: usize,
    /// The builtins it takes, in order.
    pub builtins: Vec<BuiltinName>,
}

/// A class compiled and ready to run: what every call of its contracts shares.
#[derive(Debug)]
pub struct Compiled {
    /// The CASM as a cairo-vm program.
    pub program: Program,
    /// Length of the bytecode, in felts.
    pub bytecode_len: usize,
    /// The hints, by the pc they run at.
    pub hints: HashMap<usize, Vec<Hint>>,
    /// External entry points, by selector.
    pub external: HashMap<Felt252, EntryPoint>,
    /// The constructor, if the class has one.
    pub constructor: Option<EntryPoint>,
    /// What every call of it pays to load it ([`load_gas`]).
    pub load_gas: u64,
    /// Its compile work ([`Checked::work`]).
    pub work: u64,
}

/// A class that passed every check before compiling, and what compiling it takes.
#[derive(Debug)]
pub struct Checked {
    class: ContractClass,
    /// Units of compile work (`sierra::check`), which a deploy pays for before compiling.
    pub work: u64,
}

impl Compiled {
    /// Compile a class from its JSON (what `starknet-compile` writes).
    pub fn compile(json: &[u8]) -> Result<Arc<Self>, ClassRefusal> {
        Self::build(Self::check(json)?)
    }

    /// Parse and check a class from its JSON, short of compiling it.
    pub fn check(json: &[u8]) -> Result<Checked, ClassRefusal> {
        if json.len() > MAX_CLASS_BYTES {
            return Err(ClassRefusal::TooLarge);
        }
        let mut class: ContractClass =
            serde_json::from_slice(json).map_err(|_| ClassRefusal::Malformed)?;
        // Names for debugging and the ABI change nothing compiled.
        class.sierra_program_debug_info = None;
        class.abi = None;
        let (sierra, _) = version_id_from_serialized_sierra_program(&class.sierra_program)
            .map_err(|_| ClassRefusal::Malformed)?;
        if sierra.major != 1 || sierra.minor < MIN_SIERRA_MINOR {
            return Err(ClassRefusal::Version);
        }
        let work = guarded(|| crate::sierra::check(&class))?;
        Ok(Checked { class, work })
    }

    /// Compile a checked class.
    pub fn build(checked: Checked) -> Result<Arc<Self>, ClassRefusal> {
        let Checked { class, work } = checked;
        let casm = guarded(|| {
            CasmContractClass::from_contract_class(class, false, MAX_BYTECODE_FELTS).map_err(
                |e| match e {
                    cairo_lang_starknet_classes::casm_contract_class::StarknetSierraCompilationError::UnsupportedSierraVersion { .. } => {
                        ClassRefusal::Version
                    }
                    _ => ClassRefusal::Compile,
                },
            )
        })?;
        let mut compiled = Self::from_casm(casm)?;
        compiled.work = work;
        Ok(Arc::new(compiled))
    }

    fn from_casm(casm: CasmContractClass) -> Result<Self, ClassRefusal> {
        let entry = |ep: &CasmContractEntryPoint| -> Result<(Felt252, EntryPoint), ClassRefusal> {
            let builtins = ep
                .builtins
                .iter()
                .map(|name| BuiltinName::from_str(name).ok_or(ClassRefusal::Builtin))
                .collect::<Result<_, _>>()?;
            Ok((
                Felt252::from(&ep.selector),
                EntryPoint {
                    offset: ep.offset,
                    builtins,
                },
            ))
        };
        let external = casm
            .entry_points_by_type
            .external
            .iter()
            .map(entry)
            .collect::<Result<_, _>>()?;
        let constructor = match casm.entry_points_by_type.constructor.as_slice() {
            [] => None,
            [one] => Some(entry(one)?.1),
            _ => return Err(ClassRefusal::Malformed),
        };
        let bytecode_len = casm.bytecode.len();
        let hints: HashMap<usize, Vec<Hint>> = casm.hints.iter().cloned().collect();
        let load_gas = load_gas(bytecode_len, hints.len());
        let program = Program::try_from(casm).map_err(|_| ClassRefusal::Compile)?;
        Ok(Self {
            program,
            bytecode_len,
            hints,
            external,
            constructor,
            load_gas,
            work: 0,
        })
    }
}

/// `f`, with a panic of the compiler's (it asserts on some malformed programs instead of
/// returning an error) as this class's refusal, not the node's failure.
fn guarded<T>(f: impl FnOnce() -> Result<T, ClassRefusal>) -> Result<T, ClassRefusal> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).map_err(|_| ClassRefusal::Compile)?
}
