//! What a class's Sierra program must pass before the compiler reads it. The compiler trusts
//! its input's proportions. It decompresses the program without a bound and walks type graphs
//! without marking what it has visited. It copies a function's signature into every
//! declaration that calls it, and rebuilds every live variable's cells at every statement. A
//! deploy pays by the byte of its JSON, so these checks keep the node's work (time and
//! memory) in proportion to those bytes, and refuse the rest before any of it is done.
//!
//! In order: every felt below the prime and the unpacked length ([`MAX_SIERRA_FELTS`]) before
//! decompressing; audited library functions, no circuits, no cycle among types but through a
//! pointer, and bounded declarations ([`MAX_GENERIC_ARGS`], [`MAX_SPECIALIZATION_WEIGHT`],
//! [`MAX_FUNCTIONS`], [`MAX_VARS_PER_STATEMENT`]) before specializing; then, with the types
//! specialized once, type sizes ([`MAX_TYPE_FELTS`]) and the cells live at each statement
//! ([`MAX_LIVE_CELLS`], [`MAX_TOTAL_LIVE_CELLS`]) before compiling. Every bound here is
//! consensus; the test classes sit well below each (docs/CAIRO_ABI.md).

use std::collections::HashMap;

use cairo_lang_sierra::{
    extensions::{
        core::{CoreLibfunc, CoreType},
        lib_func::ConcreteLibfunc,
    },
    ids::ConcreteTypeId,
    program::{GenBranchTarget, GenericArg, Program, Statement},
    program_registry::ProgramRegistry,
};
use cairo_lang_sierra_type_size::get_type_size_map;
use cairo_lang_starknet_classes::{
    allowed_libfuncs::{ListSelector, lookup_allowed_libfuncs_list},
    contract_class::ContractClass,
};
use cairo_lang_utils::bigint::BigUintAsHex;
use cairo_vm::Felt252;

use crate::{class::ClassRefusal, limits::MAX_SIERRA_FELTS};

/// Felts that spell the Sierra and compiler versions at the head of a program (three each).
const VERSION_FELTS: usize = 6;
/// Most generic arguments of one type or library function declaration.
pub const MAX_GENERIC_ARGS: usize = 256;
/// Most work specializing the declarations may take: each type argument counts one plus the
/// arguments of the type it names (the compiler copies them), each function a library
/// function names counts its parameters and results. Summed over types and over library
/// functions, each.
pub const MAX_SPECIALIZATION_WEIGHT: usize = 1_000_000;
/// Most functions of a program.
pub const MAX_FUNCTIONS: usize = 4_096;
/// Most parameters, or results, of one function.
pub const MAX_FUNCTION_PARAMS: usize = 256;
/// Most arguments, results of one branch, or branches of one statement.
pub const MAX_VARS_PER_STATEMENT: usize = 256;
/// Largest type, in felts (the compiler counts in `i16`).
pub const MAX_TYPE_FELTS: i64 = 1_024;
/// Most cells live at one statement: the compiler rebuilds each at every statement.
pub const MAX_LIVE_CELLS: i64 = 65_536;
/// Most cells live summed over all statements.
pub const MAX_TOTAL_LIVE_CELLS: i64 = 20_000_000;

/// Types whose size does not depend on what they point to: the only ones a type may name
/// before it is declared (so recursive types go through them), and the only way through a
/// cycle of types.
const POINTERS: [&str; 6] = [
    "Box",
    "Nullable",
    "Array",
    "Felt252Dict",
    "SquashedFelt252Dict",
    "Felt252DictEntry",
];

/// Circuits (the mod builtins): their type graphs are walked without a visited set and their
/// gates' cost is not what Sierra gas charges, so Babel does not run them.
const CIRCUIT_TYPES: [&str; 17] = [
    "AddMod",
    "MulMod",
    "AddModGate",
    "SubModGate",
    "MulModGate",
    "InverseGate",
    "Circuit",
    "CircuitData",
    "CircuitOutputs",
    "CircuitPartialOutputs",
    "CircuitDescriptor",
    "CircuitFailureGuarantee",
    "CircuitInput",
    "CircuitInputAccumulator",
    "CircuitModulus",
    "U96Guarantee",
    "U96LimbsLtGuarantee",
];

/// The library functions of circuits (see [`CIRCUIT_TYPES`]).
const CIRCUIT_LIBFUNCS: [&str; 11] = [
    "add_circuit_input",
    "eval_circuit",
    "get_circuit_descriptor",
    "init_circuit_data",
    "get_circuit_output",
    "try_into_circuit_modulus",
    "circuit_failure_guarantee_verify",
    "into_u96_guarantee",
    "u96_guarantee_verify",
    "u96_limbs_less_than_guarantee_verify",
    "u96_single_limb_less_than_guarantee_verify",
];

/// The decompressed program of `class`, once it passes every check.
pub fn check(class: &ContractClass) -> Result<Program, ClassRefusal> {
    let felts = &class.sierra_program;
    // JSON spells a felt in hex of any length: a code word of a megabyte, repeated by the
    // compression, would decompress to gigabytes.
    let prime = Felt252::prime();
    if felts.iter().any(|f| f.value >= prime) {
        return Err(ClassRefusal::Malformed);
    }
    // After the versions: [code length, padding, code words.., unpacked length, packed..].
    let header = felts.get(VERSION_FELTS..).ok_or(ClassRefusal::Malformed)?;
    let code_len = as_usize(header.first())?;
    let unpacked = as_usize(code_len.checked_add(2).and_then(|i| header.get(i)))?;
    if unpacked > MAX_SIERRA_FELTS {
        return Err(ClassRefusal::ProgramTooLong);
    }
    let program = class
        .extract_sierra_program()
        .map_err(|_| ClassRefusal::Malformed)?;
    libfuncs(&program)?;
    types(&program)?;
    functions(&program, class)?;
    let registry = ProgramRegistry::<CoreType, CoreLibfunc>::new(&program)
        .map_err(|_| ClassRefusal::Compile)?;
    live_cells(&program, &registry)?;
    Ok(program)
}

fn as_usize(felt: Option<&BigUintAsHex>) -> Result<usize, ClassRefusal> {
    felt.and_then(|f| usize::try_from(&f.value).ok())
        .ok_or(ClassRefusal::Malformed)
}

/// Audited, no circuit's, and few arguments.
fn libfuncs(program: &Program) -> Result<(), ClassRefusal> {
    let allowed = lookup_allowed_libfuncs_list(ListSelector::ListName("audited".into()))
        .map_err(|_| ClassRefusal::Libfunc)?;
    for libfunc in &program.libfunc_declarations {
        let id = &libfunc.long_id.generic_id;
        if !allowed.allowed_libfuncs.contains(id) || CIRCUIT_LIBFUNCS.contains(&id.0.as_str()) {
            return Err(ClassRefusal::Libfunc);
        }
        if libfunc.long_id.generic_args.len() > MAX_GENERIC_ARGS {
            return Err(ClassRefusal::Shape);
        }
    }
    Ok(())
}

/// Type ids by declaration index; no duplicates, no circuits, bounded arguments, and no cycle
/// but through a pointer.
fn types(program: &Program) -> Result<(), ClassRefusal> {
    let decls = &program.type_declarations;
    let mut index = HashMap::with_capacity(decls.len());
    for (i, decl) in decls.iter().enumerate() {
        if index.insert(decl.id.id, i).is_some() {
            return Err(ClassRefusal::Malformed);
        }
        if CIRCUIT_TYPES.contains(&decl.long_id.generic_id.0.as_str()) {
            return Err(ClassRefusal::Libfunc);
        }
        if decl.long_id.generic_args.len() > MAX_GENERIC_ARGS {
            return Err(ClassRefusal::Shape);
        }
    }
    // Edges from each type to the types it names (none out of a pointer).
    let mut edges: Vec<Vec<usize>> = vec![Vec::new(); decls.len()];
    let mut weight = 0usize;
    for (i, decl) in decls.iter().enumerate() {
        let pointer = POINTERS.contains(&decl.long_id.generic_id.0.as_str());
        for arg in &decl.long_id.generic_args {
            if let GenericArg::Type(ty) = arg {
                let j = *index.get(&ty.id).ok_or(ClassRefusal::Malformed)?;
                weight = weight.saturating_add(1 + decls[j].long_id.generic_args.len());
                if !pointer {
                    edges[i].push(j);
                }
            }
        }
    }
    if weight > MAX_SPECIALIZATION_WEIGHT {
        return Err(ClassRefusal::Shape);
    }
    if has_cycle(&edges) {
        return Err(ClassRefusal::Malformed);
    }
    Ok(())
}

/// Whether the graph has a cycle (an iterative depth-first search: input decides the depth).
fn has_cycle(edges: &[Vec<usize>]) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut mark = vec![Mark::New; edges.len()];
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for root in 0..edges.len() {
        if mark[root] != Mark::New {
            continue;
        }
        mark[root] = Mark::Open;
        stack.push((root, 0));
        while let Some((node, next)) = stack.last_mut() {
            match edges[*node].get(*next) {
                Some(&child) => {
                    *next += 1;
                    match mark[child] {
                        Mark::Open => return true,
                        Mark::New => {
                            mark[child] = Mark::Open;
                            stack.push((child, 0));
                        }
                        Mark::Done => {}
                    }
                }
                None => {
                    mark[*node] = Mark::Done;
                    stack.pop();
                }
            }
        }
    }
    false
}

/// Few functions of few parameters, entry points that name one, statements of few variables,
/// and library functions that copy few signatures.
fn functions(program: &Program, class: &ContractClass) -> Result<(), ClassRefusal> {
    let funcs = &program.funcs;
    if funcs.len() > MAX_FUNCTIONS {
        return Err(ClassRefusal::Shape);
    }
    let mut arity = HashMap::with_capacity(funcs.len());
    for func in funcs {
        let sig = &func.signature;
        if func.params.len() > MAX_FUNCTION_PARAMS
            || sig.param_types.len() > MAX_FUNCTION_PARAMS
            || sig.ret_types.len() > MAX_FUNCTION_PARAMS
        {
            return Err(ClassRefusal::Shape);
        }
        arity.insert(func.id.id, sig.param_types.len() + sig.ret_types.len());
    }
    let entries = &class.entry_points_by_type;
    if [&entries.constructor, &entries.external, &entries.l1_handler]
        .into_iter()
        .flatten()
        .any(|e| e.function_idx >= funcs.len())
    {
        return Err(ClassRefusal::Malformed);
    }
    let mut weight = 0usize;
    for libfunc in &program.libfunc_declarations {
        for arg in &libfunc.long_id.generic_args {
            weight = weight.saturating_add(match arg {
                GenericArg::UserFunc(f) => 1 + arity.get(&f.id).copied().unwrap_or(0),
                _ => 1,
            });
        }
    }
    if weight > MAX_SPECIALIZATION_WEIGHT {
        return Err(ClassRefusal::Shape);
    }
    for statement in &program.statements {
        let too_many = match statement {
            Statement::Return(vars) => vars.len() > MAX_VARS_PER_STATEMENT,
            Statement::Invocation(inv) => {
                inv.args.len() > MAX_VARS_PER_STATEMENT
                    || inv.branches.len() > MAX_VARS_PER_STATEMENT
                    || inv
                        .branches
                        .iter()
                        .any(|b| b.results.len() > MAX_VARS_PER_STATEMENT)
            }
        };
        if too_many {
            return Err(ClassRefusal::Shape);
        }
    }
    Ok(())
}

/// Sizes of types within [`MAX_TYPE_FELTS`], and the cells live at each statement (those a
/// function enters with, less what each statement consumes, plus what each branch makes)
/// within [`MAX_LIVE_CELLS`] and, summed, [`MAX_TOTAL_LIVE_CELLS`].
fn live_cells(
    program: &Program,
    registry: &ProgramRegistry<CoreType, CoreLibfunc>,
) -> Result<(), ClassRefusal> {
    let sizes = get_type_size_map(program, registry).ok_or(ClassRefusal::Compile)?;
    for decl in &program.type_declarations {
        if sizes
            .get(&decl.id)
            .is_some_and(|s| i64::from(*s) > MAX_TYPE_FELTS)
        {
            return Err(ClassRefusal::Shape);
        }
    }
    let size = |ty: &ConcreteTypeId| -> Result<i64, ClassRefusal> {
        sizes
            .get(ty)
            .map(|s| i64::from(*s))
            .ok_or(ClassRefusal::Compile)
    };
    let mut live: Vec<Option<i64>> = vec![None; program.statements.len()];
    for func in &program.funcs {
        let cells = func
            .signature
            .param_types
            .iter()
            .map(size)
            .sum::<Result<i64, _>>()?;
        if cells > MAX_LIVE_CELLS {
            return Err(ClassRefusal::Shape);
        }
        let entry = live
            .get_mut(func.entry_point.0)
            .ok_or(ClassRefusal::Malformed)?;
        entry.get_or_insert(cells);
    }
    let mut total = 0i64;
    for (at, statement) in program.statements.iter().enumerate() {
        let here = live[at].unwrap_or(0);
        if here > MAX_LIVE_CELLS {
            return Err(ClassRefusal::Shape);
        }
        total += here;
        if total > MAX_TOTAL_LIVE_CELLS {
            return Err(ClassRefusal::Shape);
        }
        let Statement::Invocation(inv) = statement else {
            continue;
        };
        let libfunc = registry
            .get_libfunc(&inv.libfunc_id)
            .map_err(|_| ClassRefusal::Compile)?;
        let consumed = libfunc
            .param_signatures()
            .iter()
            .map(|p| size(&p.ty))
            .sum::<Result<i64, _>>()?;
        for (branch, sig) in inv.branches.iter().zip(libfunc.branch_signatures()) {
            let made = sig
                .vars
                .iter()
                .map(|v| size(&v.ty))
                .sum::<Result<i64, _>>()?;
            let target = match branch.target {
                GenBranchTarget::Fallthrough => at + 1,
                GenBranchTarget::Statement(idx) => idx.0,
            };
            if let Some(slot) = live.get_mut(target) {
                slot.get_or_insert((here - consumed).max(0) + made);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use cairo_lang_sierra::ProgramParser;
    use cairo_lang_starknet_classes::contract_class::ContractEntryPoints;

    use super::*;

    const INFO: &str = "[storable: true, drop: true, dup: true, zero_sized: false]";

    /// `check` of the program `text` (Sierra's text form), as a class with no entry points.
    fn verdict(text: &str) -> Result<Program, ClassRefusal> {
        let program = ProgramParser::new().parse(text).unwrap();
        let class = ContractClass::new(
            &program,
            ContractEntryPoints::default(),
            None,
            Default::default(),
        )
        .unwrap();
        check(&class)
    }

    /// A program that duplicates a struct of 128 felts `dups` times, then drops every copy.
    /// (Types, library functions and functions are named by their index, as a class has them.)
    fn duplicates(dups: usize) -> String {
        let felts = vec!["[0]"; 128].join(", ");
        let mut text = format!(
            "type [0] = felt252 {INFO};\ntype [1] = Struct<ut@S, {felts}> {INFO};\n\
             libfunc [0] = dup<[1]>;\nlibfunc [1] = drop<[1]>;\n"
        );
        for i in 0..dups {
            text += &format!("[0]([{i}]) -> ([{i}], [{}]);\n", i + 1);
        }
        for i in 0..=dups {
            text += &format!("[1]([{i}]) -> ();\n");
        }
        text += "return();\n[0]@0([0]: [1]) -> ();\n";
        text
    }

    #[test]
    fn a_program_within_the_bounds_passes() {
        verdict(&duplicates(10)).unwrap();
    }

    #[test]
    fn too_many_cells_live_at_once_are_refused() {
        // 128 cells more with each copy, though the program compiles to no instruction at
        // all: past 65 536 at once after 512 copies (and 16.8 million summed by then).
        let dups = usize::try_from(MAX_LIVE_CELLS).unwrap() / 128;
        assert_eq!(verdict(&duplicates(dups)).unwrap_err(), ClassRefusal::Shape);
        // 510 copies stay below 65 536 at once, but sum past 20 million.
        assert_eq!(
            verdict(&duplicates(dups - 2)).unwrap_err(),
            ClassRefusal::Shape
        );
        verdict(&duplicates(dups / 2)).unwrap();
    }

    #[test]
    fn types_that_contain_each_other_are_refused() {
        let text = "type [0] = Struct<ut@A, [1]>;\ntype [1] = Struct<ut@B, [0]>;\n";
        assert_eq!(verdict(text).unwrap_err(), ClassRefusal::Malformed);
        let forward = format!(
            "type [0] = felt252 {INFO};\ntype [1] = Box<[2]> {INFO};\n\
             type [2] = Enum<ut@L, [0], [1]> {INFO};\n"
        );
        assert!(
            verdict(&forward).is_ok(),
            "a recursive type through a pointer"
        );
    }

    #[test]
    fn circuits_are_refused() {
        let text = format!("type [0] = CircuitModulus {INFO};\n");
        assert_eq!(verdict(&text).unwrap_err(), ClassRefusal::Libfunc);
    }

    #[test]
    fn functions_of_too_many_parameters_are_refused() {
        let params = (0..=MAX_FUNCTION_PARAMS)
            .map(|i| format!("[{i}]: [0]"))
            .collect::<Vec<_>>()
            .join(", ");
        let text = format!("type [0] = felt252 {INFO};\nreturn();\n[0]@0({params}) -> ();\n");
        assert_eq!(verdict(&text).unwrap_err(), ClassRefusal::Shape);
    }

    #[test]
    fn a_cycle_is_found_however_deep() {
        // A chain of 100 000 nodes closed into a loop: the search keeps its own stack.
        let n = 100_000;
        let mut edges: Vec<Vec<usize>> = (0..n).map(|i| vec![i + 1]).collect();
        edges[n - 1] = vec![];
        assert!(!has_cycle(&edges));
        edges[n - 1] = vec![0];
        assert!(has_cycle(&edges));
    }
}
