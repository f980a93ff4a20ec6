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
//! specialized once, type sizes ([`MAX_TYPE_FELTS`]) and the references and cells live at each
//! statement ([`MAX_LIVE_UNITS`], [`MAX_TOTAL_LIVE_UNITS`], [`MAX_PENDING_UNITS`]) and the
//! constants' trees ([`MAX_CONST_NODES`]) before compiling. [`check`] returns the compile work
//! these measure, which a deploy pays for before the compiler runs. Every bound here is
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
/// Most units (a reference per live variable, and each of its cells) live at one statement:
/// the compiler rebuilds each at every statement. The test classes hold at most a few hundred.
pub const MAX_LIVE_UNITS: i64 = 16_384;
/// Most units live summed over all statements: the compile work a deploy pays for.
pub const MAX_TOTAL_LIVE_UNITS: i64 = 8_000_000;
/// Most units held at once for statements the compiler has not reached (a copy of the live
/// references per branch target ahead): its memory, about 200 bytes a unit.
pub const MAX_PENDING_UNITS: i64 = 1_000_000;
/// Most constant nodes the compiler walks laying out the program's constants.
pub const MAX_CONST_NODES: u64 = 1_000_000;

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

/// Check `class`'s program; its compile work once it passes: the units live summed over its
/// statements plus the nodes of the constants the compiler lays out (see [`live_units`] and
/// [`consts`]), which a deploy pays for before it compiles.
pub fn check(class: &ContractClass) -> Result<u64, ClassRefusal> {
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
    let expansion = types(&program)?;
    let const_nodes = consts(&program, &expansion)?;
    functions(&program, class)?;
    let registry = ProgramRegistry::<CoreType, CoreLibfunc>::new(&program)
        .map_err(|_| ClassRefusal::Compile)?;
    let live = live_units(&program, &registry)?;
    Ok(live.saturating_add(const_nodes))
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

/// No duplicate type ids, no circuits, bounded arguments, and no cycle but through a pointer;
/// then the nodes of each constant's tree of member constants, by type id.
fn types(program: &Program) -> Result<HashMap<u64, u64>, ClassRefusal> {
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
    let order = post_order(&edges).ok_or(ClassRefusal::Malformed)?;
    // The compiler lays a constant out by walking its members' constants as a tree: one that
    // names another many times, over a few levels, would be walked exponentially often.
    let mut nodes = vec![0u64; decls.len()];
    let mut expansion = HashMap::new();
    for i in order {
        let decl = &decls[i];
        if decl.long_id.generic_id.0 != "Const" {
            continue;
        }
        // The first argument is the constant's type; its members' constants follow.
        let members = decl.long_id.generic_args.iter().skip(1);
        nodes[i] = members.fold(1u64, |sum, arg| match arg {
            GenericArg::Type(ty) => {
                let j = index.get(&ty.id).copied().unwrap_or(i);
                sum.saturating_add(nodes[j].max(1))
            }
            _ => sum,
        });
        expansion.insert(decl.id.id, nodes[i]);
    }
    Ok(expansion)
}

/// Nodes the compiler walks laying out constants: once per `const_as_box` declaration, and at
/// every statement that invokes a `const_as_immediate`, the constant's expanded tree
/// (`expansion`, by type id) each time. Within [`MAX_CONST_NODES`].
fn consts(program: &Program, expansion: &HashMap<u64, u64>) -> Result<u64, ClassRefusal> {
    let mut immediate = HashMap::new();
    let mut nodes = 0u64;
    for decl in &program.libfunc_declarations {
        let name = decl.long_id.generic_id.0.as_str();
        let tree = match decl.long_id.generic_args.first() {
            Some(GenericArg::Type(ty)) => expansion.get(&ty.id).copied().unwrap_or(1),
            _ => 1,
        };
        match name {
            "const_as_box" => nodes = nodes.saturating_add(tree),
            "const_as_immediate" => {
                immediate.insert(decl.id.id, tree);
            }
            _ => {}
        }
    }
    for statement in &program.statements {
        if let Statement::Invocation(inv) = statement
            && let Some(tree) = immediate.get(&inv.libfunc_id.id)
        {
            nodes = nodes.saturating_add(*tree);
        }
    }
    if nodes > MAX_CONST_NODES {
        return Err(ClassRefusal::Shape);
    }
    Ok(nodes)
}

/// The graph's nodes, each after every node it reaches, or `None` if it has a cycle (an
/// iterative depth-first search: input decides the depth).
fn post_order(edges: &[Vec<usize>]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut mark = vec![Mark::New; edges.len()];
    let mut order = Vec::with_capacity(edges.len());
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
                        Mark::Open => return None,
                        Mark::New => {
                            mark[child] = Mark::Open;
                            stack.push((child, 0));
                        }
                        Mark::Done => {}
                    }
                }
                None => {
                    mark[*node] = Mark::Done;
                    order.push(*node);
                    stack.pop();
                }
            }
        }
    }
    Some(order)
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

/// Sizes of types within [`MAX_TYPE_FELTS`], and what the compiler holds at each statement:
/// a reference per live variable and its cells (a *unit* each), those a function enters with,
/// less what each statement consumes, plus what each branch makes. Within [`MAX_LIVE_UNITS`]
/// at one statement, [`MAX_TOTAL_LIVE_UNITS`] summed over statements (the compiler rebuilds
/// them at each: the class's compile work, which its deploy pays for), and
/// [`MAX_PENDING_UNITS`] held at once for statements not reached yet (each branch target
/// ahead keeps its own copy until the compiler gets there). Returns the sum.
fn live_units(
    program: &Program,
    registry: &ProgramRegistry<CoreType, CoreLibfunc>,
) -> Result<u64, ClassRefusal> {
    let sizes = get_type_size_map(program, registry).ok_or(ClassRefusal::Compile)?;
    for decl in &program.type_declarations {
        if sizes
            .get(&decl.id)
            .is_some_and(|s| i64::from(*s) > MAX_TYPE_FELTS)
        {
            return Err(ClassRefusal::Shape);
        }
    }
    // A variable of a zero-sized type still costs the compiler a reference.
    let units = |tys: &mut dyn Iterator<Item = &ConcreteTypeId>| -> Result<i64, ClassRefusal> {
        tys.map(|ty| sizes.get(ty).map(|s| 1 + i64::from(*s)))
            .sum::<Option<i64>>()
            .ok_or(ClassRefusal::Compile)
    };
    let mut live: Vec<Option<i64>> = vec![None; program.statements.len()];
    let mut pending = 0i64;
    for func in &program.funcs {
        let here = units(&mut func.signature.param_types.iter())?;
        let entry = live
            .get_mut(func.entry_point.0)
            .ok_or(ClassRefusal::Malformed)?;
        if entry.is_none() {
            *entry = Some(here);
            pending += here;
        }
    }
    let mut total = 0i64;
    for (at, statement) in program.statements.iter().enumerate() {
        let here = live[at].unwrap_or(0);
        pending -= here;
        total += here;
        if here > MAX_LIVE_UNITS || total > MAX_TOTAL_LIVE_UNITS {
            return Err(ClassRefusal::Shape);
        }
        let Statement::Invocation(inv) = statement else {
            continue;
        };
        let libfunc = registry
            .get_libfunc(&inv.libfunc_id)
            .map_err(|_| ClassRefusal::Compile)?;
        let consumed = units(&mut libfunc.param_signatures().iter().map(|p| &p.ty))?;
        for (branch, sig) in inv.branches.iter().zip(libfunc.branch_signatures()) {
            let made = units(&mut sig.vars.iter().map(|v| &v.ty))?;
            let target = match branch.target {
                GenBranchTarget::Fallthrough => at + 1,
                GenBranchTarget::Statement(idx) => idx.0,
            };
            // A statement already passed is checked against, not held.
            if target > at
                && let Some(slot @ None) = live.get_mut(target)
            {
                let there = (here - consumed).max(0) + made;
                *slot = Some(there);
                pending += there;
                if pending > MAX_PENDING_UNITS {
                    return Err(ClassRefusal::Shape);
                }
            }
        }
    }
    u64::try_from(total).map_err(|_| ClassRefusal::Compile)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_utils::{INFO, class_of, held};

    /// `check` of the program `text` (Sierra's text form), as a class with no entry points.
    fn verdict(text: &str) -> Result<u64, ClassRefusal> {
        check(&class_of(text))
    }

    #[test]
    fn a_program_within_the_bounds_passes() {
        verdict(&held(10, 0)).unwrap();
    }

    #[test]
    fn too_many_units_live_at_once_are_refused() {
        // 129 units more with each copy (a reference and 128 cells), though the program
        // compiles to no instruction at all.
        let per_copy = 129;
        let dups = usize::try_from(MAX_LIVE_UNITS).unwrap() / per_copy;
        assert_eq!(
            verdict(&held(dups + 1, 0)).unwrap_err(),
            ClassRefusal::Shape
        );
        let work = verdict(&held(dups - 1, 0)).unwrap();
        assert!(work > 1_000_000, "the work of {} copies: {work}", dups - 1);
    }

    #[test]
    fn too_many_units_summed_over_statements_are_refused() {
        // 100 copies held (12 900 units, within the bound at once) over 3 200 statements.
        assert_eq!(verdict(&held(100, 1_600)).unwrap_err(), ClassRefusal::Shape);
        verdict(&held(100, 100)).unwrap();
    }

    #[test]
    fn variables_of_no_size_count() {
        // A struct of no members takes no cell, but each copy is a reference the compiler
        // carries to every later statement.
        let unit = "[storable: true, drop: true, dup: true, zero_sized: true]";
        let copies = usize::try_from(MAX_LIVE_UNITS).unwrap();
        let mut text = format!(
            "type [0] = Struct<ut@U> {unit};\nlibfunc [0] = dup<[0]>;\nlibfunc [1] = drop<[0]>;\n"
        );
        for i in 0..copies {
            text += &format!("[0]([{i}]) -> ([{i}], [{}]);\n", i + 1);
        }
        text += "return();\n[0]@0([0]: [0]) -> ();\n";
        assert_eq!(verdict(&text).unwrap_err(), ClassRefusal::Shape);
    }

    /// `copies` copies of a struct of 128 felts, then a match on an enum of 255 variants
    /// whose every branch goes to a statement of its own ahead.
    fn fan_out(copies: usize) -> String {
        let felts = vec!["[0]"; 128].join(", ");
        let unit = "[storable: true, drop: true, dup: true, zero_sized: true]";
        let variants = vec!["[2]"; 255].join(", ");
        let mut text = format!(
            "type [0] = felt252 {INFO};\ntype [1] = Struct<ut@S, {felts}> {INFO};\n\
             type [2] = Struct<ut@U> {unit};\ntype [3] = Enum<ut@E, {variants}>;\n\
             libfunc [0] = dup<[1]>;\nlibfunc [1] = enum_match<[3]>;\n"
        );
        for i in 0..copies {
            text += &format!("[0]([{}]) -> ([{}], [{}]);\n", 100 + i, 100 + i, 101 + i);
        }
        let at = copies;
        let branches = (1..255)
            .map(|k| format!(" {}([1])", at + 1 + k))
            .collect::<String>();
        text += &format!("[1]([0]) {{ fallthrough([1]){branches} }};\n");
        text += &"return();\n".repeat(255);
        text + "[0]@0([0]: [3], [100]: [1]) -> ();\n"
    }

    #[test]
    fn too_many_units_held_for_branches_ahead_are_refused() {
        // 33 structs are 4 257 units, held for each of 255 branch targets: past a million.
        assert_eq!(verdict(&fan_out(32)).unwrap_err(), ClassRefusal::Shape);
        verdict(&fan_out(16)).unwrap();
    }

    /// Constants `depth` levels deep, each naming 255 of the level below: a tree of 255^depth
    /// nodes in a class of a few kilobytes (every struct is of no size).
    fn nested_consts(depth: usize) -> String {
        let unit = "[storable: true, drop: true, dup: true, zero_sized: true]";
        let mut text = format!("type [0] = Struct<ut@S0> {unit};\ntype [1] = Const<[0]>;\n");
        for level in 1..=depth {
            let (s, c) = (2 * level, 2 * level + 1);
            let members = vec![format!("[{}]", s - 2); 255].join(", ");
            let consts = vec![format!("[{}]", c - 2); 255].join(", ");
            text += &format!("type [{s}] = Struct<ut@S{level}, {members}>;\n");
            text += &format!("type [{c}] = Const<[{s}], {consts}>;\n");
        }
        let (s, c) = (2 * depth, 2 * depth + 1);
        text += &format!(
            "type [{}] = Box<[{s}]>;\nlibfunc [0] = const_as_box<[{c}], 0>;\nreturn();\n\
             [0]@0() -> ();\n",
            c + 1
        );
        text
    }

    #[test]
    fn constants_that_expand_past_the_bound_are_refused() {
        assert_eq!(verdict(&nested_consts(4)).unwrap_err(), ClassRefusal::Shape);
        let work = verdict(&nested_consts(2)).unwrap();
        assert!(
            work > 255 * 255,
            "the constant's tree is compile work: {work}"
        );
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
        let order = post_order(&edges).unwrap();
        assert_eq!(
            order.first(),
            Some(&(n - 1)),
            "the end of the chain comes first"
        );
        edges[n - 1] = vec![0];
        assert_eq!(post_order(&edges), None);
    }
}
