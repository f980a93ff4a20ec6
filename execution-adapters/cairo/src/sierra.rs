//! What a class's Sierra program must pass before the compiler reads it. The compiler trusts
//! its input's proportions: it decompresses the program without a bound, sizes types without
//! one and spends time by what the program declares. A deploy pays by the byte of its JSON,
//! so these checks keep the node's work (time and memory) in proportion to those bytes, and
//! refuse the rest before any of it is done. Every bound here is consensus.

use cairo_lang_sierra::program::Program;
use cairo_lang_starknet_classes::{
    allowed_libfuncs::{ListSelector, lookup_allowed_libfuncs_list},
    contract_class::ContractClass,
};
use cairo_lang_utils::bigint::BigUintAsHex;
use cairo_vm::Felt252;

use crate::{class::ClassRefusal, limits::MAX_SIERRA_FELTS};

/// Felts that spell the Sierra and compiler versions at the head of a program (three each).
const VERSION_FELTS: usize = 6;

/// The decompressed program of `class`, once its felts, length and library functions pass.
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
    let allowed = lookup_allowed_libfuncs_list(ListSelector::ListName("audited".into()))
        .map_err(|_| ClassRefusal::Libfunc)?;
    if program
        .libfunc_declarations
        .iter()
        .any(|l| !allowed.allowed_libfuncs.contains(&l.long_id.generic_id))
    {
        return Err(ClassRefusal::Libfunc);
    }
    Ok(program)
}

fn as_usize(felt: Option<&BigUintAsHex>) -> Result<usize, ClassRefusal> {
    felt.and_then(|f| usize::try_from(&f.value).ok())
        .ok_or(ClassRefusal::Malformed)
}
